"""The words of an e-mail notification, in Vietnamese (the wards' language) or English.

Only the facts a notification carries (ids, names, counts, times) fill the templates, so an
e-mail can say no more than the webhook's JSON body does.
"""

from __future__ import annotations

from typing import Any

from app.notifications.models import NotificationKind

K = NotificationKind

SUBJECTS: dict[str, dict[NotificationKind, str]] = {
    "vi": {
        K.camera_offline: "[wardcam] Camera “{camera_name}” mất tín hiệu hơn {minutes} phút",
        K.camera_online: "[wardcam] Camera “{camera_name}” đã hoạt động trở lại",
        K.extraction_awaiting: "[wardcam] Yêu cầu trích xuất #{extraction_id} chờ phường duyệt",
        K.extraction_decided: "[wardcam] Yêu cầu trích xuất #{extraction_id}: {decision_vi}",
        K.package_ready: "[wardcam] Gói chứng cứ của yêu cầu #{extraction_id} đã sẵn sàng",
        K.evidence_failed: "[wardcam] Lập gói chứng cứ cho yêu cầu #{extraction_id} thất bại",
        K.retention_summary: "[wardcam] Tổng kết xoá dữ liệu hết hạn lưu trữ",
        K.test: "[wardcam] Thông báo thử",
    },
    "en": {
        K.camera_offline: "[wardcam] Camera “{camera_name}” offline for over {minutes} minutes",
        K.camera_online: "[wardcam] Camera “{camera_name}” is back",
        K.extraction_awaiting: "[wardcam] Extraction request #{extraction_id} awaits your decision",
        K.extraction_decided: "[wardcam] Extraction request #{extraction_id}: {decision}",
        K.package_ready: "[wardcam] Evidence package of request #{extraction_id} is ready",
        K.evidence_failed: "[wardcam] Evidence package of request #{extraction_id} failed",
        K.retention_summary: "[wardcam] Retention run summary",
        K.test: "[wardcam] Test notification",
    },
}

INTRO = {
    "vi": "Thông báo từ wardcam ({kind}). Chi tiết:",
    "en": "A notification from wardcam ({kind}). Details:",
}
OUTRO = {
    "vi": "Xem chi tiết trong wardcam. Thư này được gửi tự động; không trả lời thư này.",
    "en": "See wardcam for the details. This message is automatic; do not reply.",
}
LABELS: dict[str, dict[str, str]] = {
    "vi": {
        "camera_id": "Mã camera",
        "camera_name": "Tên camera",
        "offline_since": "Mất tín hiệu từ",
        "back_at": "Hoạt động lại lúc",
        "minutes": "Ngưỡng (phút)",
        "offline_minutes": "Thời gian mất tín hiệu (phút)",
        "extraction_id": "Mã yêu cầu",
        "case_id": "Mã vụ việc",
        "case_number": "Số hồ sơ",
        "requester_org": "Đơn vị yêu cầu",
        "camera_ids": "Các camera",
        "camera_names": "Tên các camera",
        "from": "Từ",
        "to": "Đến",
        "decision": "Quyết định",
        "by_org": "Đơn vị quyết định",
        "state": "Trạng thái yêu cầu",
        "package_sha256": "SHA-256 của gói",
        "package_size": "Dung lượng (byte)",
        "cameras": "Số camera",
        "reason": "Lý do",
        "deleted_segments": "Đoạn phim đã xoá",
        "deleted_events": "Sự kiện đã xoá",
        "held_segments": "Đoạn phim đang bị phong toả (giữ lại)",
        "locked_segments": "Đoạn phim bị khoá trong kho lưu trữ",
        "ran_at": "Thời điểm chạy",
        "channel_id": "Mã kênh",
        "message": "Nội dung",
    },
}
DECISION_VI = {"approve": "đã chấp thuận", "deny": "đã từ chối"}


def render(kind: NotificationKind, facts: dict[str, Any], language: str) -> tuple[str, str]:
    """(subject, plain-text body) of the e-mail for this notification."""
    lang = language if language in SUBJECTS else "vi"
    fill = {k: _text(v) for k, v in facts.items()}
    fill["decision_vi"] = DECISION_VI.get(str(facts.get("decision")), str(facts.get("decision")))
    subject = SUBJECTS[lang][kind].format_map(_Default(fill))
    labels = LABELS.get(lang, {})
    lines = [INTRO[lang].format(kind=kind.value), ""]
    lines += [f"{labels.get(k, k)}: {fill[k]}" for k in facts]
    lines += ["", OUTRO[lang]]
    return subject, "\n".join(lines) + "\n"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


class _Default(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"
