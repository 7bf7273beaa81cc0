"""The fulfilment job: from an approved request to a signed package in the object store.

Every original is re-hashed against its acquisition hash while it is packaged; a mismatch
fails the job (no retry), marks the request failed and writes a `evidence.tamper_suspected`
audit entry that the camera's owner sees in its access log.
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app.audit.chain import format_ts
from app.audit.models import AuditEntry
from app.audit.service import FAILED, record
from app.cameras.models import Camera
from app.cases.models import Case
from app.db import session_scope, utcnow
from app.events.models import Event
from app.extractions.models import Decision, Extraction, ExtractionState
from app.extractions.service import FULFIL_JOB, cameras_of
from app.footage import repository as footage
from app.identity.models import User
from app.jobs.handlers import download, preload_detector
from app.jobs.runner import JobContext, PermanentJobError, handler
from app.signing import signing_key
from evidence.cut import SourceSegment
from evidence.errors import EvidenceError, TamperError
from evidence.export import CameraWindow, export_package

log = logging.getLogger(__name__)
MAX_EVENT = timedelta(hours=24)


def package_key(ex: Extraction) -> str:
    return f"evidence/case{ex.case_id}/extraction{ex.id}/package.zip"


def _custody(session: Session, ex: Extraction) -> list[dict[str, Any]]:
    rows = session.exec(
        select(AuditEntry)
        .where(AuditEntry.target_type == "extraction", AuditEntry.target_id == str(ex.id))
        .order_by(col(AuditEntry.seq))
    ).all()
    return [
        {
            "seq": e.seq,
            "ts": format_ts(e.ts),
            "actor_user_id": e.actor_user_id,
            "actor_role": e.actor_role,
            "action": e.action,
            "outcome": e.outcome,
            "case_id": e.case_id,
            "purpose": e.purpose,
            "details": json.loads(e.details),
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }
        for e in rows
    ]


def _events(session: Session, ex: Extraction, camera_ids: list[int]) -> list[Event]:
    return list(
        session.exec(
            select(Event)
            .where(
                col(Event.camera_id).in_(camera_ids),
                col(Event.start) >= ex.start - MAX_EVENT,
                col(Event.start) < ex.end,
                col(Event.end) > ex.start,
            )
            .order_by(col(Event.start), col(Event.id))
        ).all()
    )


def _camera_meta(cam: Camera) -> dict[str, Any]:
    return {
        "id": cam.id,
        "name": cam.name,
        "org_id": cam.org_id,
        "latitude": cam.latitude,
        "longitude": cam.longitude,
        "address": cam.address,
        "timezone": cam.timezone,
        "clock_offset_s": cam.clock_offset_s,
        "sharing_policy": str(cam.sharing_policy),
    }


def _set_state(jc: JobContext, state: ExtractionState, **fields: Any) -> None:
    with session_scope(jc.app.engine) as session:
        ex = session.get(Extraction, jc.target_id)
        assert ex is not None
        ex.state, ex.updated_at = state, utcnow()
        for k, v in fields.items():
            setattr(ex, k, v)
        session.add(ex)


@handler(FULFIL_JOB)
def fulfil(jc: JobContext) -> None:
    app = jc.app
    with session_scope(app.engine) as session:
        ex = session.get(Extraction, jc.target_id)
        if ex is None:
            raise PermanentJobError(f"extraction {jc.target_id} does not exist")
        if ex.state == ExtractionState.ready:
            return  # already fulfilled by an earlier attempt
        ex.state, ex.updated_at = ExtractionState.processing, utcnow()
        session.add(ex)
        case = session.get(Case, ex.case_id)
        requester = session.get(User, ex.requested_by)
        assert case is not None and requester is not None and ex.id is not None
        decisions = list(cameras_of(session, ex.id))
        approved = [d.camera_id for d in decisions if d.decision == Decision.approved]
        cameras = {
            (c.id or 0): c
            for c in session.exec(
                select(Camera).where(col(Camera.id).in_([d.camera_id for d in decisions]))
            ).all()
        }
        segs = {cid: list(footage.overlapping(session, cid, ex.start, ex.end)) for cid in approved}
        events = _events(session, ex, [c for c in approved if segs[c]])
        custody = _custody(session, ex)
        snapshot = ex.model_copy()
    with_footage = [c for c in approved if segs[c]]
    if not with_footage:
        with session_scope(app.engine) as session:
            for d in cameras_of(session, snapshot.id or 0):
                if d.decision == Decision.approved:
                    d.outcome = "no_footage"
                    session.add(d)
            ex = session.get(Extraction, snapshot.id)
            assert ex is not None
            ex.state, ex.updated_at = ExtractionState.no_footage, utcnow()
            session.add(ex)
            record(
                session,
                None,
                "extraction.no_footage",
                target_type="extraction",
                target_id=ex.id,
                case_id=ex.case_id,
                camera_ids=approved,
            )
        return

    meta: dict[str, Any] = {
        "case": {"id": case.id, "number": case.number, "title": case.title, "unit": case.unit},
        "request": {
            "id": snapshot.id,
            "reason": snapshot.reason,
            "requested_by": {"id": requester.id, "username": requester.username},
            "requested_at": format_ts(snapshot.created_at),
            "from": format_ts(snapshot.start),
            "to": format_ts(snapshot.end),
            "redact": snapshot.redact,
        },
        "approvals": [
            {
                "camera_id": d.camera_id,
                "decision": str(d.decision),
                "by_policy": d.by_policy,
                "decided_by": d.decided_by,
                "decided_at": format_ts(d.decided_at) if d.decided_at else None,
                "note": d.note,
            }
            for d in decisions
        ],
        "cameras": [_camera_meta(cameras[c]) for c in sorted(cameras)],
        "no_footage": [c for c in approved if not segs[c]],
        "denied": [d.camera_id for d in decisions if d.decision == Decision.denied],
        "times": "UTC, corrected by each camera's clock offset (start_raw - clock_offset_s)",
    }
    thumbs: dict[str, bytes] = {}
    event_rows = []
    for e in events:
        arc = f"thumbnails/{e.id}.jpg"
        if e.thumbnail_key:
            thumbs[arc] = b"".join(app.store.iter_chunks(e.thumbnail_key))
        event_rows.append(
            {
                "id": e.id,
                "camera_id": e.camera_id,
                "segment_id": e.segment_id,
                "label": e.label,
                "color": e.color,
                "start": format_ts(e.start),
                "end": format_ts(e.end),
                "confidence": e.confidence,
                "box": [e.box_x1, e.box_y1, e.box_x2, e.box_y2],
                "thumbnail": arc if e.thumbnail_key else None,
            }
        )
    with tempfile.TemporaryDirectory(prefix="wardcam-fulfil-") as tmp:
        work = Path(tmp)
        windows = []
        for cid in with_footage:
            sources = []
            for seg in segs[cid]:
                path = download(
                    app.store,
                    seg.object_key,
                    work / "src" / f"cam{cid}" / Path(seg.object_key).name,
                )
                sources.append(SourceSegment(path, seg.start, seg.sha256, seg.id))
            windows.append(CameraWindow(f"cam{cid}", sources, {"camera_id": cid}))
        out_zip = work / "package.zip"
        try:
            result = export_package(
                out_zip,
                windows,
                snapshot.start,
                snapshot.end,
                signing_key=signing_key(app.settings),
                manifest_meta=meta,
                events=event_rows,
                thumbnails=thumbs,
                custody=custody,
                redact=snapshot.redact,
                detector=preload_detector(app) if snapshot.redact else None,
                workdir=work / "clips",
            )
        except TamperError as exc:
            _tamper(jc, snapshot, with_footage, str(exc))
            raise PermanentJobError(f"possible tampering: {exc}") from None
        except EvidenceError as exc:
            _set_state(jc, ExtractionState.failed, error=str(exc))
            raise PermanentJobError(str(exc)) from None
        key = package_key(snapshot)
        with out_zip.open("rb") as fh:
            app.store.put(
                key,
                fh,
                length=out_zip.stat().st_size,
                content_type="application/zip",
                legal_hold=app.store.supports_object_lock,
            )
    with session_scope(app.engine) as session:
        ex = session.get(Extraction, snapshot.id)
        assert ex is not None
        for d in cameras_of(session, snapshot.id or 0):
            if d.decision == Decision.approved:
                d.outcome = "packaged" if d.camera_id in with_footage else "no_footage"
                d.segments = len(segs[d.camera_id])
                session.add(d)
        ex.state, ex.updated_at = ExtractionState.ready, utcnow()
        ex.package_key, ex.package_sha256 = key, result.package.sha256
        ex.package_size, ex.manifest_sha256 = result.package.size, result.package.manifest_sha256
        ex.error = None
        session.add(ex)
        record(
            session,
            None,
            "extraction.package_built",
            target_type="extraction",
            target_id=ex.id,
            case_id=ex.case_id,
            camera_ids=with_footage,
            details={
                "sha256": result.package.sha256,
                "size": result.package.size,
                "manifest_sha256": result.package.manifest_sha256,
                "segments": sum(len(segs[c]) for c in with_footage),
            },
        )


def _tamper(jc: JobContext, ex: Extraction, camera_ids: list[int], detail: str) -> None:
    log.error("extraction %s: %s", ex.id, detail)
    with session_scope(jc.app.engine) as session:
        row = session.get(Extraction, ex.id)
        assert row is not None
        row.state, row.updated_at = ExtractionState.failed, utcnow()
        row.error = f"possible tampering: {detail}"
        session.add(row)
        record(
            session,
            None,
            "evidence.tamper_suspected",
            outcome=FAILED,
            target_type="extraction",
            target_id=ex.id,
            case_id=ex.case_id,
            camera_ids=camera_ids,
            details={"detail": detail},
        )
