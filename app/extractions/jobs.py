"""The fulfilment job: from an approved request to a signed package in the object store.

Every original is re-hashed against its acquisition hash while it is packaged; a mismatch
fails the job (no retry), marks the request failed and writes a `evidence.tamper_suspected`
audit entry that the camera's owner sees in its access log.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from sqlmodel import Session

from app.audit import repository as audit
from app.audit.chain import format_ts
from app.audit.service import FAILED, record
from app.cameras import repository as cameras
from app.cameras.models import Camera
from app.cases import repository as cases
from app.db import utcnow
from app.events import repository as events
from app.events.serialise import package_event
from app.extractions import repository
from app.extractions.models import Decision, Extraction, ExtractionState
from app.extractions.service import FULFIL_JOB, announce_to_requester, notify_failure, package_key
from app.footage import repository as footage
from app.identity import repository as identity
from app.jobs.registry import JobContext, PermanentJobError, handler
from app.notifications.models import NotificationKind
from app.signing import signing_key
from app.storage.download import download
from evidence.cut import SourceSegment
from evidence.errors import EvidenceError, TamperError
from evidence.export import CameraWindow, export_package

log = logging.getLogger(__name__)


def _custody(session: Session, ex: Extraction) -> list[dict[str, Any]]:
    rows = audit.for_target(session, "extraction", ex.id)
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


def _set_state(
    jc: JobContext, state: ExtractionState, *, failure: str | None = None, **fields: Any
) -> None:
    """Set the request's state; a failure (its reason code) is announced to the requester's
    organisation in the same transaction."""
    with jc.app.transaction() as session:
        ex = repository.get(session, jc.target_id or 0)
        assert ex is not None
        ex.state, ex.updated_at = state, utcnow()
        for k, v in fields.items():
            setattr(ex, k, v)
        session.add(ex)
        if failure is not None:
            notify_failure(session, ex, failure)


@handler(FULFIL_JOB)
def fulfil(jc: JobContext) -> None:
    app = jc.app
    with app.transaction() as session:
        ex = None if jc.target_id is None else repository.get(session, jc.target_id)
        if ex is None:
            raise PermanentJobError(f"extraction {jc.target_id} does not exist")
        if ex.state == ExtractionState.ready:
            return  # already fulfilled by an earlier attempt
        ex.state, ex.updated_at = ExtractionState.processing, utcnow()
        session.add(ex)
        case = cases.get(session, ex.case_id)
        requester = identity.get_user(session, ex.requested_by)
        assert case is not None and requester is not None and ex.id is not None
        unit = cases.unit_name(session, case.unit_id)
        decisions = list(repository.cameras_of(session, ex.id))
        approved = [d.camera_id for d in decisions if d.decision == Decision.approved]
        named: dict[int, Camera] = {
            (c.id or 0): c for c in cameras.get_many(session, [d.camera_id for d in decisions])
        }
        segs = {cid: list(footage.overlapping(session, cid, ex.start, ex.end)) for cid in approved}
        found = events.in_window(session, [c for c in approved if segs[c]], ex.start, ex.end)
        custody = _custody(session, ex)
        snapshot = ex.model_copy()
    with_footage = [c for c in approved if segs[c]]
    if not with_footage:
        with app.transaction() as session:
            for d in repository.cameras_of(session, snapshot.id or 0):
                if d.decision == Decision.approved:
                    d.outcome = "no_footage"
                    session.add(d)
            ex = repository.get(session, snapshot.id or 0)
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
        "case": {"id": case.id, "number": case.number, "title": case.title, "unit": unit},
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
        "cameras": [_camera_meta(named[c]) for c in sorted(named)],
        "no_footage": [c for c in approved if not segs[c]],
        "denied": [d.camera_id for d in decisions if d.decision == Decision.denied],
        "times": "UTC, corrected by each camera's clock offset (start_raw - clock_offset_s)",
    }
    thumbs: dict[str, bytes] = {}
    event_rows = []
    for e in found:
        arc = f"thumbnails/{e.id}.jpg"
        if e.thumbnail_key:
            thumbs[arc] = b"".join(app.store.iter_chunks(e.thumbnail_key))
        event_rows.append(package_event(e, arc if e.thumbnail_key else None))
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
                detector=app.detectors.get() if snapshot.redact else None,
                workdir=work / "clips",
            )
        except TamperError as exc:
            _tamper(jc, snapshot, with_footage, str(exc))
            raise PermanentJobError(f"possible tampering: {exc}") from None
        except EvidenceError as exc:
            _set_state(jc, ExtractionState.failed, error=str(exc), failure="evidence_error")
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
    with app.transaction() as session:
        ex = repository.get(session, snapshot.id or 0)
        assert ex is not None
        for d in repository.cameras_of(session, snapshot.id or 0):
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
        announce_to_requester(
            session,
            ex,
            NotificationKind.package_ready,
            package_sha256=result.package.sha256,
            package_size=result.package.size,
            cameras=len(with_footage),
        )


def _tamper(jc: JobContext, ex: Extraction, camera_ids: list[int], detail: str) -> None:
    log.error("extraction %s: %s", ex.id, detail)
    with jc.app.transaction() as session:
        row = repository.get(session, ex.id or 0)
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
        notify_failure(session, row, "tamper_suspected")
