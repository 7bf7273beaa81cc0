"""Which cameras a refused request concerns, so that the refusal reaches their access logs.

A ward must see every attempt on its cameras that was refused, not only those a service
thought to audit: a 403, 404 or 409 on a camera's footage, segments, events, thumbnails,
extraction requests and decisions. `app.deps.get_session` asks `refusal_entry` for the audit
entry of a refused request; the cameras come from the error's own audit entry when it names
them, else from the path (`camera_id`, `segment_id`, `event_id`, `extraction_id`), looked
up after the request's transaction was rolled back. A path naming nothing that exists
concerns no camera (and leaves no entry unless the service asked for one).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from sqlmodel import Session

from app.audit.service import DENIED, record
from app.cameras import repository as cameras
from app.errors import ApiError
from app.events import repository as events
from app.extractions import repository as extractions
from app.footage import repository as footage

log = logging.getLogger(__name__)

REFUSALS = frozenset({403, 404, 409})
"""Statuses that are refusals of something that may exist. (401s are audited by
authentication itself, with the cameras of the path added here; a missing key is not, or
anyone could fill the log.)"""
MAX_ID = 2**63 - 1


def _id(raw: object) -> int | None:
    try:
        value = int(str(raw))
    except ValueError:
        return None
    return value if 1 <= value <= MAX_ID else None


def cameras_of_path(
    session: Session, params: Mapping[str, Any]
) -> tuple[str | None, int | None, list[int]]:
    """(target type, target id, camera ids) of the object a path names, if it exists."""
    if (cid := _id(params.get("camera_id"))) is not None:
        return "camera", cid, [cid] if cid < 2**31 and cameras.get(session, cid) else []
    if (sid := _id(params.get("segment_id"))) is not None:
        seg = footage.get(session, sid) if sid < 2**31 else None
        return "segment", sid, [seg.camera_id] if seg else []
    if (eid := _id(params.get("event_id"))) is not None:
        event = events.get_event(session, eid)
        return "event", eid, [event.camera_id] if event else []
    if (xid := _id(params.get("extraction_id"))) is not None:
        rows = extractions.cameras_of(session, xid) if xid < 2**31 else []
        return "extraction", xid, [r.camera_id for r in rows]
    return None, None, []


def refusal_entry(
    session: Session,
    exc: ApiError,
    *,
    path_params: Mapping[str, Any],
    method: str,
    path: str,
    action: str | None,
    actor: object | None,
) -> dict[str, Any] | None:
    """Keyword arguments for `audit.service.record` (with `action` and `actor`), or None
    when the refusal is neither audited by its service nor concerns a camera."""
    args = dict(exc.audit) if exc.audit is not None else None
    if args is not None and args.get("camera_ids"):
        return args
    if args is None and exc.status_code not in REFUSALS:
        return None
    try:
        target_type, target_id, cams = cameras_of_path(session, path_params)
    except Exception:  # the refusal itself must still be answered
        log.exception("could not tell which cameras a refusal of %s %s concerns", method, path)
        return args
    if not cams:
        return args
    if args is None:
        args = {
            "action": action or f"{method} {path}",
            "actor": actor,
            "target_type": target_type,
            "target_id": target_id,
            "details": {
                "code": exc.code,
                "status": exc.status_code,
                "method": method,
                "path": path,
            },
        }
    args["camera_ids"] = cams
    return args


def record_refusal(request: Request, session: Session, exc: ApiError) -> bool:
    """Audit a refused request (after its transaction was rolled back), as the API and the
    console both do: the service's own entry, or the cameras its path names. Whether an entry
    was written (the caller commits it)."""
    route = request.scope.get("route")
    args = refusal_entry(
        session,
        exc,
        path_params=request.path_params,
        method=request.method,
        path=getattr(route, "path", request.url.path),
        action=getattr(request.state, "action", None),
        actor=getattr(request.state, "principal", None),
    )
    if args is None:
        return False
    record(session, args.pop("actor", None), args.pop("action"), outcome=DENIED, **args)
    return True
