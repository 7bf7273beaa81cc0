"""Event search: checking what was asked, stating why, reading the index, and the audit entry.

Every search names a case the caller is on or a purpose of at least ten characters; the audit
entry stores the normalised query, the purpose or case, the number of results and the cameras
whose events were returned (each of those cameras' owners sees the entry in its access log).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session

from app.audit.service import record
from app.auth.principal import Principal
from app.cameras import repository as cameras
from app.cameras.repository import CameraInfo
from app.cases import repository as cases
from app.cases.models import CaseStatus
from app.errors import Forbidden, NotFound, Unprocessable
from app.events import repository
from app.events.cursor import CursorCodec, CursorError, Position, query_fingerprint
from app.events.models import Event
from app.events.schemas import CameraCounts, EventPublic, Histogram
from app.events.serialise import event_json
from app.geo import BBox, GeoError, Polygon, check_radius, parse_bbox, parse_near, parse_polygon
from app.timewindow import check_window, utc_z
from detectors import LABELS, PALETTE

MAX_LIMIT = 500
MIN_PURPOSE = 10
MAX_BUCKETS = 10_000
MIN_BUCKET = timedelta(minutes=1)
_BUCKET = re.compile(r"^(\d{1,6})(m|h|d)$")
_UNITS = {"m": 60, "h": 3600, "d": 86400}


@dataclass
class RawFilters:
    """Query parameters as received (strings), shared by search and histogram."""

    from_: datetime | None
    to: datetime | None
    near: str | None = None
    radius_m: float | None = None
    bbox: str | None = None
    polygon: str | None = None
    labels: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    camera_ids: list[int] = field(default_factory=list)
    min_confidence: float | None = None
    case_id: int | None = None
    purpose: str | None = None


@dataclass(frozen=True)
class Filters:
    start: datetime
    end: datetime
    camera_ids: list[int]
    labels: list[str]
    colors: list[str]
    min_confidence: float | None
    query: dict[str, Any]
    """The normalised query, as audited and as bound into cursors."""


def _bad(detail: str, code: str) -> Unprocessable:
    return Unprocessable(detail, code=code)


def _place(raw: RawFilters) -> tuple[tuple[float, float] | None, BBox | None, Polygon | None]:
    given = [raw.near is not None, raw.bbox is not None, raw.polygon is not None]
    if sum(given) > 1:
        raise _bad("give one place: near+radius_m, bbox or polygon", "invalid_place")
    try:
        point = parse_near(raw.near) if raw.near is not None else None
        if point is not None:
            if raw.radius_m is None:
                raise GeoError("invalid_radius", "near needs radius_m (metres)")
            check_radius(raw.radius_m)
        elif raw.radius_m is not None:
            raise GeoError("invalid_near", "radius_m needs near=lat,lon")
        box = parse_bbox(raw.bbox) if raw.bbox is not None else None
        poly = parse_polygon(raw.polygon) if raw.polygon is not None else None
    except GeoError as exc:
        raise _bad(exc.detail, exc.code) from None
    return point, box, poly


def _enum(values: Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    out = sorted({v.strip().lower() for v in values})
    bad = [v for v in out if v not in allowed]
    if bad:
        raise _bad(
            f"unknown {what} {', '.join(map(repr, bad))}; use one of {', '.join(allowed)}",
            f"invalid_{what}",
        )
    return out


def parse_filters(
    session: Session, principal: Principal, raw: RawFilters, *, max_days: int
) -> Filters:
    start, end = check_window(
        raw.from_,
        raw.to,
        longest=timedelta(days=max_days),
        too_long=f"the window is longer than {max_days} days",
    )
    point, box, poly = _place(raw)
    labels = _enum(raw.labels, LABELS, "label")
    colors = _enum(raw.colors, PALETTE, "color")
    if raw.min_confidence is not None and not 0.0 <= raw.min_confidence <= 1.0:
        raise _bad("min_confidence must be between 0 and 1", "invalid_confidence")
    cams, unknown = cameras.resolve_place(
        session,
        principal,
        near=point,
        radius_m=raw.radius_m,
        bbox=box,
        polygon=poly,
        camera_ids=raw.camera_ids,
    )
    if unknown:
        raise _bad(f"unknown camera id(s): {', '.join(map(str, unknown))}", "unknown_camera")
    query: dict[str, Any] = {
        "from": utc_z(start),
        "to": utc_z(end),
        "near": f"{point[0]},{point[1]}" if point else None,
        "radius_m": raw.radius_m if point else None,
        "bbox": raw.bbox,
        "polygon": [list(map(list, ring)) for ring in poly.rings] if poly else None,
        "label": labels,
        "color": colors,
        "camera_id": sorted(set(raw.camera_ids)),
        "min_confidence": raw.min_confidence,
    }
    return Filters(start, end, cams, labels, colors, raw.min_confidence, query)


def check_purpose(
    session: Session, principal: Principal, case_id: int | None, purpose: str | None, action: str
) -> tuple[int | None, str | None]:
    """A case the caller is on, or a stated purpose: one of them is required."""
    text_purpose = purpose.strip() if purpose else None
    if case_id is not None:
        case = cases.get(session, case_id)
        if case is None or not cases.is_member(session, case_id, principal.user_id):
            raise Forbidden(
                f"you are not on case {case_id}",
                code="not_on_case",
                audit={
                    "action": action,
                    "actor": principal,
                    "target_type": "case",
                    "target_id": case_id,
                    "purpose": text_purpose,
                },
            )
        if case.status != CaseStatus.open:
            raise Forbidden(f"case {case_id} is closed", code="case_closed")
        return case_id, text_purpose
    if not text_purpose:
        raise _bad(
            "every search needs case_id (a case you are on) or purpose (why you search)",
            "purpose_required",
        )
    if len(text_purpose) < MIN_PURPOSE:
        raise _bad(
            f"purpose must say why, in at least {MIN_PURPOSE} characters", "purpose_too_short"
        )
    return None, text_purpose


def _link_with_purpose(item: dict[str, Any], case_id: int | None, purpose: str | None) -> None:
    """Thumbnails are read under the case or purpose their event was found with (see
    get_event), so the link carries it."""
    if item["thumbnail_url"]:
        why = {"case_id": case_id} if case_id is not None else {"purpose": purpose}
        item["thumbnail_url"] += f"?{urlencode(why)}"


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad(f"limit must be between 1 and {MAX_LIMIT}", "invalid_limit")
    return limit


def search(
    session: Session,
    principal: Principal,
    raw: RawFilters,
    *,
    codec: CursorCodec,
    max_days: int,
    order: str = "asc",
    limit: int = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """One page, as the JSON body of `EventPage`."""
    if order not in ("asc", "desc"):
        raise _bad("order must be asc or desc", "invalid_order")
    _check_limit(limit)
    f = parse_filters(session, principal, raw, max_days=max_days)
    case_id, purpose = check_purpose(session, principal, raw.case_id, raw.purpose, "event.search")
    fingerprint = query_fingerprint({**f.query, "order": order})
    after: Position | None = None
    if cursor is not None:
        try:
            after = codec.decode(cursor, fingerprint=fingerprint, user_id=principal.user_id)
        except CursorError as exc:
            raise _bad(exc.detail, "invalid_cursor") from None
    rows = repository.search_events(
        session,
        repository.EventQuery(
            camera_ids=f.camera_ids,
            start=f.start,
            end=f.end,
            labels=f.labels,
            colors=f.colors,
            min_confidence=f.min_confidence,
            descending=order == "desc",
            limit=limit,
            after=after,
        ),
    )
    cams = cameras.cameras(session)
    items = [event_json(r, cams[r.camera_id]) for r in rows]
    for item in items:
        _link_with_purpose(item, case_id, purpose)
    next_cursor = None
    if len(rows) == limit:
        last = rows[-1]
        next_cursor = codec.encode(
            Position(last.start, last.id), fingerprint=fingerprint, user_id=principal.user_id
        )
    record(
        session,
        principal,
        "event.search",
        target_type="event",
        purpose=purpose,
        case_id=case_id,
        details={
            "query": {**f.query, "order": order, "limit": limit, "page": cursor is not None},
            "results": len(rows),
            "cameras_searched": len(f.camera_ids),
        },
        camera_ids={r.camera_id for r in rows},
    )
    return {"items": items, "next_cursor": next_cursor, "cameras_searched": len(f.camera_ids)}


def parse_bucket(text: str) -> timedelta:
    m = _BUCKET.match(text.strip())
    if not m:
        raise _bad("bucket must be like 15m, 1h or 1d", "invalid_bucket")
    bucket = timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    if bucket < MIN_BUCKET:
        raise _bad("bucket must be at least 1m", "invalid_bucket")
    return bucket


def histogram(
    session: Session, principal: Principal, raw: RawFilters, *, max_days: int, bucket: str
) -> Histogram:
    size = parse_bucket(bucket)
    f = parse_filters(session, principal, raw, max_days=max_days)
    q = repository.HistogramQuery(
        f.camera_ids, f.start, f.end, size, f.labels, f.colors, f.min_confidence
    )
    if q.buckets > MAX_BUCKETS:
        raise _bad(
            f"{q.buckets} buckets per camera; at most {MAX_BUCKETS}: use a larger bucket",
            "too_many_buckets",
        )
    case_id, purpose = check_purpose(
        session, principal, raw.case_id, raw.purpose, "event.histogram"
    )
    counts = repository.histogram(session, q)
    cams = cameras.cameras(session)
    out = [
        CameraCounts(camera_id=c, name=cams[c].name, total=sum(v), counts=v)
        for c, v in sorted(counts.items())
    ]
    total = sum(c.total for c in out)
    record(
        session,
        principal,
        "event.histogram",
        target_type="event",
        purpose=purpose,
        case_id=case_id,
        details={
            "query": {**f.query, "bucket": bucket},
            "results": total,
            "cameras_searched": len(f.camera_ids),
        },
        camera_ids=counts.keys(),
    )
    return Histogram(
        start=f.start,
        end=f.end,
        bucket_seconds=int(size.total_seconds()),
        buckets=q.buckets,
        cameras=out,
        cameras_searched=len(f.camera_ids),
        total=total,
    )


def get_event(
    session: Session,
    principal: Principal,
    event_id: int,
    *,
    action: str,
    case_id: int | None = None,
    purpose: str | None = None,
) -> tuple[Event, CameraInfo]:
    """One event the caller may see. Like a search it needs a case the caller is on or a
    purpose (ids are sequential: reading them one by one must not be a search without a
    reason), checked before the event is looked up; the access is audited with it."""
    case_id, purpose = check_purpose(session, principal, case_id, purpose, action)
    event = repository.get_event(session, event_id)
    cams = cameras.visible_cameras(session, principal)
    if event is None or event.camera_id not in cams:
        raise NotFound(f"event {event_id} does not exist", code="event_not_found")
    record(
        session,
        principal,
        action,
        target_type="event",
        target_id=event_id,
        case_id=case_id,
        purpose=purpose,
        camera_ids=[event.camera_id],
    )
    return event, cams[event.camera_id]


def read_event(
    session: Session,
    principal: Principal,
    event_id: int,
    *,
    case_id: int | None = None,
    purpose: str | None = None,
) -> EventPublic:
    """`get_event` as the API shows it, its thumbnail link under the same case or purpose."""
    event, cam = get_event(
        session, principal, event_id, action="event.read", case_id=case_id, purpose=purpose
    )
    item = event_json(event, cam)
    _link_with_purpose(item, case_id, purpose.strip() if purpose else None)
    return EventPublic.model_validate(item)
