"""Notifications with real receivers: a webhook server on loopback checking the signature,
one answering 500 (retries with growing waits in the delivery log), and an aiosmtpd server
receiving Vietnamese e-mail; the events announced from the extraction workflow, the offline
watch and retention; and what may never appear in a notification."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FOOTAGE, World
from tests.evidence.footage import BuiltSegment, build_segments
from tests.servers.smtp import SmtpServer
from tests.servers.webhook import WebhookReceiver

STREAM_PASSWORD = "Kh0ng-Ai-Biet-42"
STREAM_URL = f"rtsp://admin:{STREAM_PASSWORD}@10.20.30.40:554/Streaming/Channels/101"
REASON = "nghi phạm Nguyễn Văn A bỏ chạy bằng xe máy, biển số 29-X1 234.56"
CAMERA_NAME = "Ngã tư Hàng Bài, cổng chợ"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """Fast retries (0.2 s doubling, at most 0.8 s, for 5 s) so a test sees the whole
    schedule; the production defaults are 30 s doubling, at most 1 h, for 24 h."""
    settings.notify_retry_base_s = 0.2
    settings.notify_retry_max_s = 0.8
    settings.notify_retry_for_s = 5.0
    settings.notify_allow_private_targets = True  # the receivers listen on loopback
    return settings


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> BuiltSegment:
    t0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    return build_segments(
        FOOTAGE / "intersection_cctv_day.mp4", tmp_path_factory.mktemp("clip"), 1, 4.0, t0
    )[0]


def _ctx(world: World) -> Any:
    return world.client.app.state.ctx  # type: ignore[attr-defined]


def _run_jobs(world: World) -> int:
    from app.jobs.pool import InProcessPool

    return InProcessPool(_ctx(world), 0).run_until_idle()


def _channel(world: World, who: str, org: str, **body: Any) -> dict[str, Any]:
    r = world.client.post(
        f"/orgs/{world.orgs[org]}/notifications/channels", json=body, headers=world.h(who)
    )
    assert r.status_code == 201, r.text
    return r.json()


def _deliveries(world: World, who: str, org: str, channel: int) -> list[dict[str, Any]]:
    r = world.client.get(
        f"/orgs/{world.orgs[org]}/notifications/channels/{channel}/deliveries",
        headers=world.h(who),
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_webhook_test_send_is_signed_and_logged(world: World) -> None:
    from app.notifications.senders import verify

    with WebhookReceiver() as hook:
        ch = _channel(world, "ward_a", "ward_a", kind="webhook", name="Trực ban", url=hook.url)
        secret = ch["secret"]
        assert secret and len(secret) >= 32
        assert ch["target"].startswith("http://127.0.0.1:") and "/hooks" not in ch["target"]
        # The secret is shown once: never again in a read.
        listed = world.client.get(
            f"/orgs/{world.orgs['ward_a']}/notifications/channels", headers=world.h("ward_a")
        )
        assert listed.status_code == 200 and secret not in listed.text
        assert "secret" not in listed.json()[0]

        r = world.client.post(
            f"/orgs/{world.orgs['ward_a']}/notifications/channels/{ch['id']}/test",
            headers=world.h("ward_a"),
        )
        assert r.status_code == 202, r.text
        assert hook.received == []  # never inside the request
        before = time.time()
        assert _run_jobs(world) == 1
        [got] = hook.received
    ts = got.headers["X-Wardcam-Timestamp"]
    assert verify(secret, ts, got.body, got.headers["X-Wardcam-Signature"])
    assert not verify(
        "another secret of enough length", ts, got.body, got.headers["X-Wardcam-Signature"]
    )
    assert abs(int(ts) - before) < 60
    body = json.loads(got.body)
    assert body["kind"] == "test" and body["org_id"] == world.orgs["ward_a"]
    assert body["facts"]["channel_id"] == ch["id"]
    assert got.headers["X-Wardcam-Event"] == "test"
    assert got.headers["X-Wardcam-Delivery"] == str(r.json()["delivery_id"])
    [d] = _deliveries(world, "ward_a", "ward_a", ch["id"])
    assert d["state"] == "delivered" and d["attempts"] == 1 and d["last_status"] == 200
    assert d["log"][0]["ok"] and d["log"][0]["status"] == 200 and d["log"][0]["latency_ms"] > 0


def test_failing_receiver_is_retried_with_backoff_then_given_up(world: World) -> None:
    from app.notifications.jobs import backoff_s

    with WebhookReceiver(statuses=[500] * 100) as hook:
        ch = _channel(world, "ward_a", "ward_a", kind="webhook", name="down", url=hook.url)
        base = f"/orgs/{world.orgs['ward_a']}/notifications/channels/{ch['id']}"
        assert world.client.post(f"{base}/test", headers=world.h("ward_a")).status_code == 202
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _run_jobs(world)
            [d] = _deliveries(world, "ward_a", "ward_a", ch["id"])
            if d["state"] != "pending":
                break
            time.sleep(0.05)
    assert d["state"] == "failed", d
    log = d["log"]
    # 0.2, 0.4, 0.8, 0.8 ... s apart until the next wait would pass 5 s after the first try
    # (8 attempts on an idle machine; fewer when each attempt itself is slow)
    assert len(log) >= 3 and len(hook.received) == len(log) == d["attempts"]
    assert all(a["status"] == 500 and not a["ok"] and a["error"] == "HTTP 500" for a in log)
    starts = [_ts(a["started_at"]) for a in log]
    for i in range(1, len(starts)):
        gap = (starts[i] - starts[i - 1]).total_seconds()
        assert gap >= backoff_s(i, 0.2, 0.8) - 0.01, (i, gap)
    # The last attempt was *due* within 5 s of the first (it was due at least a backoff after
    # the one before began; it may start a little later, when the job runner gets to it: CI
    # once saw it begin 5.018 s after the first) ...
    n = len(starts)
    due_last = (starts[-2] - starts[0]).total_seconds() + backoff_s(n - 1, 0.2, 0.8)
    assert due_last <= 5.0, (due_last, starts)
    # ... and it was given up only once the next wait would pass those 5 s.
    since_first = (starts[-1] - starts[0]).total_seconds()
    assert since_first + backoff_s(n, 0.2, 0.8) + log[-1]["latency_ms"] / 1000 + 1.0 > 5.0, starts
    assert d["next_attempt_at"] is None

    # A receiver down twice, then up: delivered on the third attempt, the log says so.
    with WebhookReceiver(statuses=[503, 500]) as hook:
        r = world.client.patch(base, json={"url": hook.url}, headers=world.h("ward_a"))
        assert r.status_code == 200, r.text
        assert world.client.post(f"{base}/test", headers=world.h("ward_a")).status_code == 202
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _run_jobs(world)
            d = _deliveries(world, "ward_a", "ward_a", ch["id"])[0]
            if d["state"] != "pending":
                break
            time.sleep(0.05)
    assert d["state"] == "delivered" and [a["status"] for a in d["log"]] == [503, 500, 200]

    # Deactivating a channel stops the retries of what it still owed.
    with WebhookReceiver(statuses=[500] * 10) as hook:
        world.client.patch(base, json={"url": hook.url}, headers=world.h("ward_a"))
        from app.notifications.models import NotificationKind
        from app.notifications.service import announce

        with _ctx(world).transaction() as session:
            announce(session, world.orgs["ward_a"], NotificationKind.camera_offline, camera_id=1)
        _run_jobs(world)
        r = world.client.patch(base, json={"active": False}, headers=world.h("ward_a"))
        assert r.status_code == 200 and r.json()["active"] is False
        time.sleep(0.3)
        _run_jobs(world)
        assert len(hook.received) == 1
    d = _deliveries(world, "ward_a", "ward_a", ch["id"])[0]
    assert d["state"] == "failed" and d["last_error"] == "the channel was deactivated"
    assert d["attempts"] == 1


def _smtp_settings(world: World, smtp: SmtpServer, **extra: Any) -> None:
    s = _ctx(world).settings
    s.smtp_host, s.smtp_port, s.smtp_from = "127.0.0.1", smtp.port, "wardcam@phuong.example.vn"
    s.smtp_starttls = False
    for k, v in extra.items():
        setattr(s, k, v)


def test_extraction_awaiting_reaches_the_ward_by_email_in_vietnamese(
    world: World, clip: BuiltSegment
) -> None:
    with SmtpServer() as smtp:
        _smtp_settings(world, smtp)
        ch = _channel(
            world,
            "ward_a",
            "ward_a",
            kind="email",
            name="Công an phường",
            emails=["truc.ban@phuong.example.vn", "chu.tich@phuong.example.vn"],
            events=["extraction_awaiting"],
        )
        assert ch["target"] == "2 recipients" and ch.get("secret") is None
        cam = world.camera(name=CAMERA_NAME)
        case = world.client.post(
            "/cases",
            json={"number": "HS-2024-07", "title": "Cướp giật"},
            headers=world.h("investigator"),
        ).json()
        r = world.client.post(
            f"/cases/{case['id']}/extractions",
            json={
                "camera_ids": [cam["id"]],
                "from": clip.start.isoformat(),
                "to": (clip.start + timedelta(seconds=3)).isoformat(),
                "reason": REASON,
            },
            headers=world.h("investigator"),
        )
        assert r.status_code == 201, r.text
        _run_jobs(world)
        [mail] = smtp.mails
    msg = mail.message
    assert sorted(mail.recipients) == ["chu.tich@phuong.example.vn", "truc.ban@phuong.example.vn"]
    assert msg["Subject"] == f"[wardcam] Yêu cầu trích xuất #{r.json()['id']} chờ phường duyệt"
    text = msg.get_content()
    assert msg.get_content_charset() == "utf-8"
    assert f"Tên các camera: {CAMERA_NAME}" in text
    assert "Số hồ sơ: HS-2024-07" in text and "Đơn vị yêu cầu: police" in text
    assert REASON not in text and "Nguyễn Văn A" not in text and "investigator" not in text
    [d] = _deliveries(world, "ward_a", "ward_a", ch["id"])
    assert d["state"] == "delivered" and d["kind"] == "extraction_awaiting"
    assert d["log"][0]["status"] == 250


def test_email_over_starttls_with_login(world: World, tmp_path: Path) -> None:
    from pydantic import SecretStr

    with SmtpServer(tls_dir=tmp_path) as smtp:
        _smtp_settings(
            world,
            smtp,
            smtp_starttls=True,
            smtp_ca_file=smtp.ca_file,
            smtp_username=smtp.user,
            smtp_password=SecretStr(smtp.password),
        )
        ch = _channel(
            world, "ward_a", "ward_a", kind="email", name="e", emails=["a@b.vn"], language="en"
        )
        base = f"/orgs/{world.orgs['ward_a']}/notifications/channels/{ch['id']}"
        world.client.post(f"{base}/test", headers=world.h("ward_a"))
        _run_jobs(world)
        assert [m.message["Subject"] for m in smtp.mails] == ["[wardcam] Test notification"]
        # Without the server's CA the certificate is refused: logged, to be retried.
        _ctx(world).settings.smtp_ca_file = None
        world.client.post(f"{base}/test", headers=world.h("ward_a"))
        _run_jobs(world)
        assert len(smtp.mails) == 1
    d = _deliveries(world, "ward_a", "ward_a", ch["id"])[0]
    assert d["state"] == "pending" and "CERTIFICATE_VERIFY_FAILED" in (d["last_error"] or "")


def test_events_reach_the_right_organisation_and_carry_no_secret(
    world: World, clip: BuiltSegment, settings
) -> None:  # type: ignore[no-untyped-def]
    from app.notifications.jobs import watch
    from app.retention.service import sweep

    ctx = _ctx(world)
    r = world.client.put(
        f"/orgs/{world.orgs['ward_a']}/notifications/settings",
        json={"offline_after_minutes": 5},
        headers=world.h("ward_a"),
    )
    assert r.json() == {"org_id": world.orgs["ward_a"], "offline_after_minutes": 5}
    with (
        WebhookReceiver() as ward_hook,
        WebhookReceiver() as police_hook,
        WebhookReceiver() as b_hook,
    ):
        ward = _channel(world, "ward_a", "ward_a", kind="webhook", name="w", url=ward_hook.url)
        police = _channel(
            world,
            "supervisor",
            "police",
            kind="webhook",
            name="p",
            url=police_hook.url,
            events=["extraction_decided", "package_ready", "evidence_failed"],
        )
        _channel(world, "ward_b", "ward_b", kind="webhook", name="b", url=b_hook.url)
        cam = world.camera(name=CAMERA_NAME, stream_url=STREAM_URL, clock_offset_s=0)
        plain = world.camera(name="no stream")  # not watched: it never records

        # Offline: watched from the first run, announced once past 5 minutes, once.
        t0 = datetime.now(UTC)
        assert watch(ctx, now=t0).offline == []
        assert watch(ctx, now=t0 + timedelta(minutes=4)).offline == []
        assert watch(ctx, now=t0 + timedelta(minutes=6)).offline == [cam["id"]]
        assert watch(ctx, now=t0 + timedelta(minutes=9)).offline == []
        # Back: footage arrives (as the recorder stores it: now).
        start = datetime.now(UTC) - timedelta(seconds=1)
        seg = world.client.post(
            f"/cameras/{cam['id']}/footage",
            content=clip.path.read_bytes(),
            params={"start": start.isoformat()},
            headers=world.h("ward_a"),
        )
        assert seg.status_code == 201, seg.text
        t1 = datetime.now(UTC)
        assert watch(ctx, now=t1 + timedelta(minutes=1)).back == [cam["id"]]
        again = watch(ctx, now=t1 + timedelta(minutes=2))
        assert again.back == [] and again.offline == []

        # The workflow: awaiting (ward), decided and package ready (police).
        case = world.client.post(
            "/cases", json={"number": "HS-2024-08", "title": "t"}, headers=world.h("investigator")
        ).json()
        ex = world.client.post(
            f"/cases/{case['id']}/extractions",
            json={
                "camera_ids": [cam["id"]],
                "from": start.isoformat(),
                "to": (start + timedelta(seconds=3)).isoformat(),
                "reason": REASON,
            },
            headers=world.h("investigator"),
        ).json()
        r = world.client.post(
            f"/extractions/{ex['id']}/decision",
            json={"decision": "approve", "note": "đồng ý, liên hệ ông Trần Văn B"},
            headers=world.h("ward_a"),
        )
        assert r.status_code == 200, r.text
        # Retention: the other camera's old footage goes.
        old = world.client.post(
            f"/cameras/{plain['id']}/footage",
            content=clip.path.read_bytes(),
            params={"start": clip.start.isoformat()},
            headers=world.h("ward_a"),
        )
        assert old.status_code == 201
        _run_jobs(world)  # index + fulfil, and the deliveries they announce
        assert sweep(ctx).total_deleted == 1
        _run_jobs(world)

        ward_kinds = [json.loads(x.body)["kind"] for x in ward_hook.received]
        police_kinds = [json.loads(x.body)["kind"] for x in police_hook.received]
    assert ward_kinds == [
        "camera_offline",
        "camera_online",
        "extraction_awaiting",
        "retention_summary",
    ]
    assert police_kinds == ["extraction_decided", "package_ready"]
    assert b_hook.received == []  # ward B hears nothing of ward A
    facts = {json.loads(x.body)["kind"]: json.loads(x.body)["facts"] for x in ward_hook.received}
    assert facts["camera_offline"] == {
        "camera_id": cam["id"],
        "camera_name": CAMERA_NAME,
        "minutes": 5,
        "offline_since": facts["camera_offline"]["offline_since"],
    }
    assert facts["camera_online"]["back_at"].endswith("Z")
    assert facts["retention_summary"]["deleted_segments"] == 1
    pol = {json.loads(x.body)["kind"]: json.loads(x.body)["facts"] for x in police_hook.received}
    assert pol["extraction_decided"]["decision"] == "approve"
    assert pol["extraction_decided"]["by_org"] == "ward_a"
    assert pol["extraction_decided"]["state"] == "approved"
    assert pol["package_ready"]["package_sha256"] and pol["package_ready"]["cameras"] == 1

    # Nothing secret or personal in any body or header that left.
    everything = b"".join(
        x.body + json.dumps(x.headers).encode() for x in ward_hook.received + police_hook.received
    ).decode()
    for never in (
        STREAM_PASSWORD,
        "rtsp://",
        "10.20.30.40",
        REASON,
        "Nguyễn",
        "Trần Văn B",
        "investigator",
        ward["secret"],
        police["secret"],
        *world.keys.values(),
    ):
        assert never not in everything, never
    assert "Ngã tư Hàng Bài" in everything  # names are what the ward needs to act


def test_evidence_failure_is_announced_to_the_requester(
    world: World, clip: BuiltSegment, settings
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with WebhookReceiver() as hook:
        _channel(
            world,
            "supervisor",
            "police",
            kind="webhook",
            name="p",
            url=hook.url,
            events=["evidence_failed"],
        )
        cam = world.camera(sharing_policy="auto")
        seg = world.client.post(
            f"/cameras/{cam['id']}/footage",
            content=clip.path.read_bytes(),
            params={"start": clip.start.isoformat()},
            headers=world.h("ward_a"),
        ).json()
        with _ctx(world).engine.connect() as conn:
            key = conn.execute(
                text("SELECT object_key FROM segment WHERE id = :i"), {"i": seg["id"]}
            ).scalar_one()
        path = Path(settings.storage_url.removeprefix("file://")) / key
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        case = world.client.post(
            "/cases", json={"number": "HS-9", "title": "t"}, headers=world.h("investigator")
        ).json()
        ex = world.client.post(
            f"/cases/{case['id']}/extractions",
            json={
                "camera_ids": [cam["id"]],
                "from": clip.start.isoformat(),
                "to": (clip.start + timedelta(seconds=3)).isoformat(),
                "reason": REASON,
            },
            headers=world.h("investigator"),
        ).json()
        _run_jobs(world)
        [got] = hook.received
    body = json.loads(got.body)
    assert body["kind"] == "evidence_failed"
    assert body["facts"] == {
        "extraction_id": ex["id"],
        "case_id": case["id"],
        "case_number": "HS-9",
        "reason": "tamper_suspected",
    }


def test_webhooks_to_private_addresses_are_refused_by_default(world: World) -> None:
    """Without WARDCAM_NOTIFY_ALLOW_PRIVATE_TARGETS a ward cannot aim wardcam at the inside
    (loopback here; private and link-local ranges the same): nothing is sent, the log says
    why."""
    _ctx(world).settings.notify_allow_private_targets = False
    with WebhookReceiver() as hook:
        ch = _channel(world, "ward_a", "ward_a", kind="webhook", name="inside", url=hook.url)
        base = f"/orgs/{world.orgs['ward_a']}/notifications/channels/{ch['id']}"
        assert world.client.post(f"{base}/test", headers=world.h("ward_a")).status_code == 202
        _run_jobs(world)
        assert hook.received == []
    [d] = _deliveries(world, "ward_a", "ward_a", ch["id"])
    assert d["state"] == "pending" and d["last_status"] is None
    assert d["last_error"].startswith("refused: 127.0.0.1 is not a public address")


def test_facts_are_listed_per_kind() -> None:
    from app.notifications.models import NotificationKind
    from app.notifications.service import FACTS, clean_facts

    with pytest.raises(ValueError, match="stream_url"):
        clean_facts(NotificationKind.camera_offline, {"camera_id": 1, "stream_url": STREAM_URL})
    with pytest.raises(ValueError, match="reason"):
        clean_facts(NotificationKind.extraction_awaiting, {"extraction_id": 1, "reason": REASON})
    with pytest.raises(ValueError, match="plain value"):
        clean_facts(NotificationKind.camera_offline, {"camera_name": object()})
    listed = set().union(*FACTS.values())
    for word in ("url", "secret", "password", "note", "username", "address", "token", "error"):
        assert not any(word in k for k in listed), word
    assert set(FACTS) == set(NotificationKind)


def test_who_manages_which_channels(world: World) -> None:
    a = world.orgs["ward_a"]
    ch = _channel(
        world, "ward_a", "ward_a", kind="webhook", name="x", url="https://hooks.example.vn/t0k3n"
    )
    assert ch["target"] == "https://hooks.example.vn"
    base = f"/orgs/{a}/notifications/channels"
    # Another ward: refused (and audited); a role without the right: refused.
    r = world.client.get(base, headers=world.h("ward_b"))
    assert r.status_code == 403 and r.json()["code"] == "not_your_org"
    r = world.client.get(base, headers=world.h("officer"))
    assert r.status_code == 403 and r.json()["code"] == "role_not_allowed"
    # An admin manages any organisation's.
    r = world.client.patch(
        f"{base}/{ch['id']}", json={"events": ["camera_offline"]}, headers=world.h("admin")
    )
    assert r.status_code == 200 and r.json()["events"] == ["camera_offline"]
    # A channel id of another organisation is not found under this one.
    b = _channel(world, "ward_b", "ward_b", kind="webhook", name="y", url="https://b.example.vn/")
    r = world.client.get(f"{base}/{b['id']}", headers=world.h("ward_a"))
    assert r.status_code == 404 and r.json()["code"] == "channel_not_found"
    # Bad channels are refused with a code, nothing stored.
    n = world.count("notification_channel")
    for body, code in (
        ({"kind": "webhook", "name": "n"}, "invalid_channel"),
        ({"kind": "email", "name": "n", "url": "https://x.vn"}, "invalid_channel"),
        (
            {"kind": "email", "name": "n", "emails": ["a@b.vn"], "secret": "s" * 20},
            "invalid_channel",
        ),
        ({"kind": "webhook", "name": "n", "url": "ftp://x.vn"}, "invalid_input"),
        ({"kind": "email", "name": "n", "emails": ["not an address"]}, "invalid_input"),
        (
            {"kind": "webhook", "name": "n", "url": "https://x.vn", "events": ["test"]},
            "invalid_input",
        ),
    ):
        r = world.client.post(base, json=body, headers=world.h("ward_a"))
        assert r.status_code == 422 and r.json()["code"] == code, (body, r.text)
    assert world.count("notification_channel") == n
    r = world.client.patch(f"{base}/{ch['id']}", json={}, headers=world.h("ward_a"))
    assert r.status_code == 400 and r.json()["code"] == "empty_update"
    r = world.client.patch(
        f"{base}/{ch['id']}", json={"emails": ["a@b.vn"]}, headers=world.h("ward_a")
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_channel"
    # The audit log records changes by name, never the URL or a secret.
    r = world.client.patch(
        f"{base}/{ch['id']}", json={"secret": "n3w-secret-0123456789"}, headers=world.h("ward_a")
    )
    assert r.status_code == 200
    audit = world.client.get("/audit", params={"limit": 500}, headers=world.h("admin")).text
    assert (
        "notification.channel_update" in audit
        and "n3w-secret" not in audit
        and "t0k3n" not in audit
    )
    # Deleted: gone with its delivery log.
    world.client.post(f"{base}/{ch['id']}/test", headers=world.h("ward_a"))
    assert world.client.delete(f"{base}/{ch['id']}", headers=world.h("ward_a")).status_code == 204
    assert world.client.get(f"{base}/{ch['id']}", headers=world.h("ward_a")).status_code == 404
    assert world.count("notification_delivery", f"channel_id = {ch['id']}") == 0
    assert _run_jobs(world) == 1  # the queued delivery finds its channel gone and stops


@pytest.mark.slow
def test_delivery_through_a_celery_worker(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """At scale the same jobs run on `wardcam worker` (Celery on a real Redis): the message
    names the delivery job, the retry after a 500 is re-sent by the worker's sweeper."""
    import random
    import signal
    import subprocess
    import sys

    import redis
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_world
    from tests.helpers import process_env, wait_for

    db = f"redis://127.0.0.1:6379/{random.randint(1, 15)}"
    redis.Redis.from_url(db).flushdb()
    settings.broker_url = db
    env = process_env(
        settings,
        WARDCAM_DATA_DIR=str(tmp_path / "worker"),
        WARDCAM_BROKER_URL=db,
        WARDCAM_NOTIFY_ALLOW_PRIVATE_TARGETS="1",
        WARDCAM_NOTIFY_RETRY_BASE_S="0.5",
    )
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "app", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        with TestClient(create_app(settings)) as client, WebhookReceiver(statuses=[500]) as hook:
            world = make_world(client, settings)
            ch = _channel(world, "ward_a", "ward_a", kind="webhook", name="c", url=hook.url)
            base = f"/orgs/{world.orgs['ward_a']}/notifications/channels/{ch['id']}"
            assert client.post(f"{base}/test", headers=world.h("ward_a")).status_code == 202

            def delivered() -> bool:
                d = _deliveries(world, "ward_a", "ward_a", ch["id"])[0]
                return bool(d["state"] == "delivered")

            wait_for(
                delivered,
                120,
                "the worker to deliver: " + (tmp_path / "worker.log").read_text()[-2000:],
            )
            d = _deliveries(world, "ward_a", "ward_a", ch["id"])[0]
            assert [a["status"] for a in d["log"]] == [500, 200]
            assert [x.status for x in hook.received] == [500, 200]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
        redis.Redis.from_url(db).flushdb()
