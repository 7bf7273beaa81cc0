"""The fulfilment job: from an approved request to a signed package in the object store.

Every original is re-hashed against its acquisition hash while it is packaged; a mismatch
fails the job (no retry), marks the request failed and writes a `evidence.tamper_suspected`
audit entry that the camera's owner sees in its access log.

No failure is silent. The job keeps track of its step (and the camera and segment it is
working on); when it fails for good (an original missing from the store, a tampered one,
footage that cannot be cut: at once; anything else once its attempts are used up) the
request becomes `failed` with `error` saying what and where, an `extraction.failed` audit
entry goes to the request's chain of custody and to its cameras' access logs, the failure is
logged at ERROR, counted in `wardcam_extractions{state="failed"}`, and handed to
`notify_failure` (the requester's organisation is told, with a reason code only). A failure
that will be retried is shown in `error` while it waits.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
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
from app.extractions.service import (
    FULFIL_JOB,
    announce_to_requester,
    notify_failure,
    package_key,
)
from app.footage import repository as footage
from app.identity import repository as identity
from app.jobs import repository as jobs
from app.jobs.registry import JobContext, LeaseLost, PermanentJobError, handler
from app.notifications.models import NotificationKind
from app.signing import signing_key
from app.storage import ObjectNotFound
from app.storage.download import download
from evidence.cut import SourceSegment
from evidence.errors import (
    CutError,
    EvidenceError,
    PackageError,
    RedactError,
    SourceMissingError,
    TamperError,
)
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


@dataclass
class Step:
    """Where a fulfilment is: what a failure names (`extraction.failed_step` and so on)."""

    name: str = "prepare"
    camera_id: int | None = None
    segment_id: int | None = None

    def at(self, name: str, camera_id: int | None = None, segment_id: int | None = None) -> None:
        self.name, self.camera_id, self.segment_id = name, camera_id, segment_id

    def describe(self) -> str:
        where = STEPS.get(self.name, self.name)
        if self.segment_id is not None:
            where += f" (segment {self.segment_id} of camera {self.camera_id})"
        elif self.camera_id is not None:
            where += f" (camera {self.camera_id})"
        return where


STEPS = {
    "prepare": "reading the request",
    "thumbnails": "reading the event thumbnails",
    "read_original": "reading a stored original",
    "package": "cutting, redacting and signing the package",
    "store_package": "storing the package",
    "finish": "recording the package",
}
PERMANENT = (PermanentJobError, EvidenceError, ObjectNotFound)
"""Failures that another attempt cannot mend: the request fails at once."""
FAILURE_CODES = (
    "tamper_suspected",  # evidence.errors.TamperError: an original no longer hashes the same
    "original_missing",  # a stored original is not in the object store
    "object_missing",  # another stored object (a thumbnail) is not
    "source_missing",  # the evidence library's codes (evidence.errors)
    "cut_failed",
    "redact_failed",
    "package_failed",
    "evidence_error",
    "job_failed",  # anything else, once its attempts are used up
)
"""Why a request failed (`extraction.failed_code`, `failure.code`)."""


_BY_KIND: tuple[tuple[type[EvidenceError], str], ...] = (
    (TamperError, "tamper_suspected"),
    (SourceMissingError, "source_missing"),
    (CutError, "cut_failed"),  # raised with finer codes too: corrupt_source, no_footage, …
    (RedactError, "redact_failed"),
    (PackageError, "package_failed"),
)


def failure_code(exc: Exception, step: Step) -> str:
    if isinstance(exc, ObjectNotFound):
        return "original_missing" if step.name == "read_original" else "object_missing"
    code = next((code for kind, code in _BY_KIND if isinstance(exc, kind)), None)
    if code is not None:
        return code
    return "evidence_error" if isinstance(exc, EvidenceError) else "job_failed"


@handler(FULFIL_JOB)
def fulfil(jc: JobContext) -> None:
    """Build the package; on failure, say so on the request (see the module's docstring)."""
    step = Step()
    try:
        _fulfil(jc, step)
    except LeaseLost:
        raise  # another worker has the job now
    except Exception as exc:
        reason = _reason(exc, step)
        if isinstance(exc, PERMANENT) or _last_attempt(jc):
            _fail(jc, reason, step, failure_code(exc, step))
            raise PermanentJobError(reason) from None
        _retrying(jc, reason)
        raise


def _reason(exc: Exception, step: Step) -> str:
    if isinstance(exc, TamperError):
        where = f" (segment {step.segment_id} of camera {step.camera_id})"
        return f"possible tampering{where if step.segment_id is not None else ''}: {exc}"
    if isinstance(exc, ObjectNotFound):
        what = "stored original" if step.name == "read_original" else "object"
        return f"{step.describe()} failed: the {what} {exc.key} is missing from the object store"
    if isinstance(exc, (EvidenceError, PermanentJobError)):
        return f"{step.describe()} failed: {exc}"
    return f"{step.describe()} failed: {type(exc).__name__}: {exc}"


def _last_attempt(jc: JobContext) -> bool:
    with jc.app.transaction() as session:
        job = jobs.for_target(session, FULFIL_JOB, jc.target_id or 0)
        return job is None or job.attempts >= job.max_attempts


def _retrying(jc: JobContext, reason: str) -> None:
    """Waiting for another attempt: back to `approved`, the reason shown meanwhile."""
    log.warning("extraction %s: %s; will retry", jc.target_id, reason)
    with jc.app.transaction() as session:
        ex = repository.get(session, jc.target_id or 0)
        job = jobs.for_target(session, FULFIL_JOB, jc.target_id or 0)
        if ex is None or job is None:
            return
        ex.state, ex.updated_at = ExtractionState.approved, utcnow()
        ex.error = f"attempt {job.attempts} of {job.max_attempts} failed, retrying: {reason}"
        session.add(ex)


def _fail(jc: JobContext, reason: str, step: Step, code: str) -> None:
    """The request failed for good: its state, the audit entries, the log, the hook."""
    with jc.app.transaction() as session:
        ex = repository.get(session, jc.target_id or 0)
        if ex is None:
            return
        approved = [
            d.camera_id
            for d in repository.cameras_of(session, ex.id or 0)
            if d.decision == Decision.approved
        ]
        job = jobs.for_target(session, FULFIL_JOB, ex.id or 0)
        ex.state, ex.updated_at, ex.error = ExtractionState.failed, utcnow(), reason
        ex.failed_step, ex.failed_camera_id = step.name, step.camera_id
        ex.failed_segment_id, ex.failed_code = step.segment_id, code
        session.add(ex)
        if code == "tamper_suspected":
            record(
                session,
                None,
                "evidence.tamper_suspected",
                outcome=FAILED,
                target_type="extraction",
                target_id=ex.id,
                case_id=ex.case_id,
                camera_ids=approved,
                details={"detail": reason},
            )
        record(
            session,
            None,
            "extraction.failed",
            outcome=FAILED,
            target_type="extraction",
            target_id=ex.id,
            case_id=ex.case_id,
            camera_ids=approved,
            details={
                "error": reason,
                "step": step.name,
                "camera_id": step.camera_id,
                "segment_id": step.segment_id,
                "job_id": jc.job_id,
                "attempts": job.attempts if job else None,
            },
        )
        # The requester's organisation is told with a reason code, never the error text
        # (it may name storage keys or paths); delivery runs after the commit, as a job.
        notify_failure(session, ex, code if code == "tamper_suspected" else _notice_code(step))
    log.error("extraction %s (case %s) failed: %s", jc.target_id, ex.case_id, reason)


def _notice_code(step: Step) -> str:
    """The notification's reason (its own three codes, older than `FAILURE_CODES`)."""
    return "evidence_error" if step.name == "package" else "job_failed"


def _fulfil(jc: JobContext, step: Step) -> None:
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
    step.at("thumbnails")
    for e in found:
        arc = f"thumbnails/{e.id}.jpg"
        if e.thumbnail_key:
            thumbs[arc] = b"".join(app.store.iter_chunks(e.thumbnail_key))
        event_rows.append(package_event(e, arc if e.thumbnail_key else None))
    with tempfile.TemporaryDirectory(prefix="wardcam-fulfil-") as tmp:
        work = Path(tmp)
        windows = []
        staged: dict[str, tuple[int, int | None]] = {}
        for cid in with_footage:
            sources = []
            for seg in segs[cid]:
                step.at("read_original", cid, seg.id)
                path = download(
                    app.store,
                    seg.object_key,
                    work / "src" / f"cam{cid}" / Path(seg.object_key).name,
                )
                staged[str(path)] = (cid, seg.id)
                sources.append(SourceSegment(path, seg.start, seg.sha256, seg.id))
            windows.append(CameraWindow(f"cam{cid}", sources, {"camera_id": cid}))
        out_zip = work / "package.zip"
        step.at("package")
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
        except TamperError as exc:  # which camera's original, which segment: as a missing one
            step.at("package", *staged.get(exc.path, (None, None)))
            raise
        step.at("store_package")
        key = package_key(snapshot)
        with out_zip.open("rb") as fh:
            app.store.put(
                key,
                fh,
                length=out_zip.stat().st_size,
                content_type="application/zip",
                legal_hold=app.store.supports_object_lock,
            )
    step.at("finish")
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
