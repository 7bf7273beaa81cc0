"""The extraction workflow: request under a case, per-camera consent, then fulfilment.

A request covers several cameras, possibly of several wards. Each camera is decided on its
own: `auto` sharing approves it at once, `owner_approval` waits for the owning ward, which
decides each of its cameras separately (`camera_ids`), or all its undecided ones at once.
The request is `pending` while any camera waits; once all are decided it is `denied` if every
camera was denied, else `approved` and queued for fulfilment with the approved cameras only
(denied cameras are left out of the package and listed as denied in its manifest).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import Session

from app.audit.service import record
from app.auth.policy import Action
from app.auth.principal import Principal
from app.cameras import repository as cameras
from app.cameras.models import Camera, SharingPolicy
from app.cases import repository as cases
from app.cases import service as case_files
from app.cases.models import Case, CaseStatus
from app.cases.policy import CasePolicy
from app.db import utcnow
from app.errors import ApiError, Conflict, Forbidden, NotFound, Unprocessable
from app.extractions import repository
from app.extractions.models import Decision, Extraction, ExtractionCamera, ExtractionState
from app.extractions.schemas import (
    CameraDecisionPublic,
    DecisionIn,
    ExtractionCreate,
    ExtractionPublic,
    FailurePublic,
)
from app.identity import repository as identity
from app.jobs import repository as jobs
from app.jobs.models import Job
from app.notifications import repository as notify_repo
from app.notifications.models import NotificationKind
from app.notifications.service import announce
from app.timewindow import check_window, utc_z

FULFIL_JOB = "fulfil_extraction"


def package_key(ex: Extraction) -> str:
    return f"evidence/case{ex.case_id}/extraction{ex.id}/package.zip"


def to_public(session: Session, ex: Extraction, principal: Principal) -> ExtractionPublic:
    """The request as this principal may see it: a ward sees only its own cameras'
    decisions, and nothing of the package."""
    assert ex.id is not None
    owner = cameras.owner_scope(principal)
    case = cases.get(session, ex.case_id)
    user = identity.get_user(session, ex.requested_by)
    cams = list(repository.cameras_of(session, ex.id))
    if owner is not None:
        own = cameras.visible_ids(session, principal, [c.camera_id for c in cams])
        cams = [c for c in cams if c.camera_id in own]
    job = jobs.for_target(session, FULFIL_JOB, ex.id)
    return ExtractionPublic(
        id=ex.id,
        case_id=ex.case_id,
        case_number=case.number if case else "?",
        requested_by=ex.requested_by,
        requested_by_name=user.username if user else "?",
        from_=ex.start,
        to=ex.end,
        reason=ex.reason,
        redact=ex.redact,
        state=ex.state,
        created_at=ex.created_at,
        updated_at=ex.updated_at,
        cameras=[CameraDecisionPublic(**c.model_dump()) for c in cams],
        package_sha256=ex.package_sha256 if owner is None else None,
        package_size=ex.package_size if owner is None else None,
        error=ex.error if owner is None else None,
        failure=(
            FailurePublic(
                step=ex.failed_step,
                camera_id=ex.failed_camera_id,
                segment_id=ex.failed_segment_id,
                code=ex.failed_code,
            )
            if ex.failed_step and ex.state == ExtractionState.failed and owner is None
            else None
        ),
        job_id=job.id if job and owner is None else None,
    )


def request(
    session: Session,
    principal: Principal,
    case_id: int,
    data: ExtractionCreate,
    *,
    max_hours: float,
) -> Extraction:
    """File a request under a case the principal is a member of. A refusal is audited in
    the access logs of the cameras the request named."""
    named = [c.id for c in cameras.get_many(session, data.camera_ids) if c.id is not None]
    try:
        case = case_files.get_visible(session, principal, case_id, Action.extraction_create.value)
    except ApiError as exc:
        if exc.audit is not None:
            exc.audit["camera_ids"] = named
        raise
    assert case.id is not None
    if not cases.is_member(session, case.id, principal.user_id):
        raise Forbidden(
            "only members of a case file requests under it",
            code="not_on_case",
            audit={
                "action": Action.extraction_create.value,
                "actor": principal,
                "target_type": "case",
                "target_id": case_id,
                "case_id": case_id,
                "camera_ids": named,  # in the access logs of the cameras it asked for
            },
        )
    if case.status != CaseStatus.open:
        raise Conflict(
            f"case {case.number} is closed",
            code="case_closed",
            audit={
                "action": Action.extraction_create.value,
                "actor": principal,
                "target_type": "case",
                "target_id": case_id,
                "case_id": case_id,
                "camera_ids": named,
            },
        )
    return create(session, principal, case, data, max_hours=max_hours)


def create(
    session: Session, principal: Principal, case: Case, data: ExtractionCreate, *, max_hours: float
) -> Extraction:
    check_window(
        data.from_,
        data.to,
        longest=timedelta(hours=max_hours),
        too_long=f"a request covers at most {max_hours:g} h",
    )
    if data.from_ > utcnow():
        raise Unprocessable("the window starts in the future", code="invalid_window")
    if case.status != CaseStatus.open:
        raise Conflict(f"case {case.number} is closed", code="case_closed")
    ids = sorted(set(data.camera_ids))
    found = cameras.get_many(session, ids)
    missing = set(ids) - {c.id for c in found}
    if missing:
        raise Unprocessable(f"unknown camera(s): {sorted(missing)}", code="camera_not_found")
    assert case.id is not None
    ex = Extraction(
        case_id=case.id,
        requested_by=principal.user_id,
        start=data.from_,
        end=data.to,
        reason=data.reason,
        redact=data.redact,
        state=ExtractionState.pending,
    )
    repository.add(session, ex)
    assert ex.id is not None
    now = utcnow()
    for cam in found:
        auto = cam.sharing_policy == SharingPolicy.auto
        repository.add(
            session,
            ExtractionCamera(
                extraction_id=ex.id,
                camera_id=cam.id or 0,
                decision=Decision.approved if auto else Decision.pending,
                by_policy=auto,
                decided_at=now if auto else None,
                note="approved by the camera's sharing policy (auto)" if auto else None,
            ),
        )
    record(
        session,
        principal,
        "extraction.request",
        target_type="extraction",
        target_id=ex.id,
        case_id=case.id,
        purpose=data.reason,
        camera_ids=ids,
        details={
            "from": utc_z(data.from_),
            "to": utc_z(data.to),
            "redact": data.redact,
            "auto_approved": [c.id for c in found if c.sharing_policy == SharingPolicy.auto],
        },
    )
    _settle(session, principal, ex)
    _announce_awaiting(session, principal, case, ex, found)
    return ex


def _announce_awaiting(
    session: Session, principal: Principal, case: Case, ex: Extraction, found: Sequence[Camera]
) -> None:
    """Each ward whose cameras wait for its decision is told (ids and names only: the
    reason stays in wardcam, where reading it is audited)."""
    waiting = [c for c in found if c.sharing_policy != SharingPolicy.auto]
    by_org: dict[int, list[Camera]] = {}
    for cam in waiting:
        by_org.setdefault(cam.org_id, []).append(cam)
    requester = notify_repo.org_names(session, [principal.org_id] if principal.org_id else [])
    for org_id, cams in sorted(by_org.items()):
        announce(
            session,
            org_id,
            NotificationKind.extraction_awaiting,
            extraction_id=ex.id,
            case_number=case.number,
            requester_org=requester.get(principal.org_id or 0),
            camera_ids=[c.id for c in cams],
            camera_names=[c.name for c in cams],
            **{"from": ex.start, "to": ex.end},
        )


def announce_to_requester(
    session: Session, ex: Extraction, kind: NotificationKind, **facts: object
) -> None:
    """Tell the requester's organisation about its request."""
    case = cases.get(session, ex.case_id)
    announce(
        session,
        notify_repo.org_of_user(session, ex.requested_by),
        kind,
        extraction_id=ex.id,
        case_id=ex.case_id,
        case_number=case.number if case else None,
        **facts,
    )


def notify_failure(session: Session, ex: Extraction, reason: str = "job_failed") -> None:
    """The hook for a failed fulfilment (state `failed`): the requester's organisation is
    told, with a reason code (`tamper_suspected`, `evidence_error`, `job_failed`), never the
    error text (it may name storage keys or paths)."""
    announce_to_requester(session, ex, NotificationKind.evidence_failed, reason=reason)


def _settle(session: Session, principal: Principal, ex: Extraction) -> Job | None:
    """Move a fully decided request on; returns the fulfilment job when one was queued (it
    is announced to the workers once the transaction commits)."""
    assert ex.id is not None
    decisions = [c.decision for c in repository.cameras_of(session, ex.id)]
    if Decision.pending in decisions:
        return None
    ex.updated_at = utcnow()
    if Decision.approved not in decisions:
        ex.state = ExtractionState.denied
        session.add(ex)
        record(
            session,
            principal,
            "extraction.denied",
            target_type="extraction",
            target_id=ex.id,
            case_id=ex.case_id,
        )
        return None
    ex.state = ExtractionState.approved
    session.add(ex)
    job = jobs.create(session, FULFIL_JOB, target_id=ex.id, max_attempts=3)
    record(
        session,
        principal,
        "extraction.approved",
        target_type="extraction",
        target_id=ex.id,
        case_id=ex.case_id,
        details={"job_id": job.id},
    )
    return job


def decide(
    session: Session, principal: Principal, extraction_id: int, data: DecisionIn
) -> Extraction:
    """The owning ward approves or denies some of its own cameras in this request.

    Decisions are per camera: `data.camera_ids` names the cameras this decision is for
    (default: all of the caller's cameras still undecided), so a ward owning two cameras
    of one request may approve one and deny the other. Each camera's decision is its own
    audit entry, in that camera's access log. The request moves on once every camera is
    decided (see `_settle`)."""
    ex = get(session, extraction_id)
    assert ex.id is not None
    rows = {r.camera_id: r for r in repository.cameras_of(session, ex.id)}
    refusal = {
        "action": Action.extraction_decide.value,
        "actor": principal,
        "target_type": "extraction",
        "target_id": ex.id,
        "case_id": ex.case_id,
    }
    if data.camera_ids is not None:
        named = sorted(set(data.camera_ids))
        own = cameras.visible_ids(session, principal, named)
        others = [c for c in named if c not in own]
        if others:
            raise Forbidden(
                f"camera(s) {others} are not yours to decide",
                code="not_your_camera",
                audit={**refusal, "camera_ids": others},
            )
        absent = [c for c in named if c not in rows]
        if absent:
            raise Unprocessable(
                f"camera(s) {absent} are not in extraction {ex.id}; its cameras of yours are "
                f"{sorted(cameras.visible_ids(session, principal, list(rows)))}",
                code="camera_not_in_request",
                audit={**refusal, "camera_ids": absent},
            )
        targets = [rows[c] for c in named]
    else:
        own = cameras.visible_ids(session, principal, list(rows))
        if not own:
            raise Forbidden(
                "this request does not touch your cameras",
                code="not_your_camera",
                audit={**refusal, "camera_ids": sorted(rows)},
            )
        targets = [rows[c] for c in sorted(own) if rows[c].decision == Decision.pending]
        if not targets:
            raise Conflict(
                "your cameras in this request are already decided",
                code="already_decided",
                audit={**refusal, "camera_ids": sorted(own)},
            )
    done = [r.camera_id for r in targets if r.decision != Decision.pending]
    if done or ex.state != ExtractionState.pending:
        decided = done or [r.camera_id for r in targets]
        raise Conflict(
            f"camera(s) {decided} of this request are already decided"
            + ("" if ex.state == ExtractionState.pending else f" (the request is {ex.state})"),
            code="already_decided",
            audit={**refusal, "camera_ids": decided},
        )
    now = utcnow()
    decision = Decision.approved if data.decision == "approve" else Decision.denied
    for r in targets:
        r.decision, r.decided_by, r.decided_at = decision, principal.user_id, now
        r.note = data.note or None
        session.add(r)
        record(
            session,
            principal,
            f"extraction.{data.decision}",
            target_type="extraction",
            target_id=ex.id,
            case_id=ex.case_id,
            purpose=data.note or None,
            camera_ids=[r.camera_id],
            details={"camera_id": r.camera_id, "decision": str(decision)},
        )
    session.flush()
    _settle(session, principal, ex)
    by_org = notify_repo.org_names(session, [principal.org_id] if principal.org_id else [])
    announce_to_requester(
        session,
        ex,
        NotificationKind.extraction_decided,
        decision=data.decision,
        by_org=by_org.get(principal.org_id or 0),
        camera_ids=[r.camera_id for r in targets],
        state=str(ex.state),
    )
    return ex


def get(session: Session, extraction_id: int) -> Extraction:
    ex = repository.get(session, extraction_id)
    if ex is None:
        raise NotFound(f"extraction {extraction_id} does not exist", code="extraction_not_found")
    return ex


def get_visible(
    session: Session, principal: Principal, extraction_id: int, action: str
) -> Extraction:
    """The request, if the principal may see it: a ward whose cameras it names, or someone
    who may see its case; refuses (and audits) anyone else."""
    ex = get(session, extraction_id)
    if cameras.owner_scope(principal) is not None:
        if repository.touches_cameras_of(session, principal, extraction_id):
            return ex
    else:
        case = cases.get(session, ex.case_id)
        if case is not None and CasePolicy.can_view(session, principal, case):
            return ex
    raise Forbidden(
        f"extraction {extraction_id} is not yours to see",
        code="not_on_case",
        audit={
            "action": action,
            "actor": principal,
            "target_type": "extraction",
            "target_id": extraction_id,
            "case_id": ex.case_id,
        },
    )


def list_for(
    session: Session, principal: Principal, *, state: str | None, limit: int
) -> Sequence[Extraction]:
    return repository.list_for(session, principal, state=state, limit=limit)


def record_download(session: Session, principal: Principal, ex: Extraction) -> None:
    """The download of a ready package, in the audit log (and each packaged camera's)."""
    assert ex.id is not None
    if ex.state != ExtractionState.ready or not ex.package_key:
        raise Conflict(f"no package: the request is {ex.state}", code="package_not_ready")
    record(
        session,
        principal,
        "extraction.download",
        target_type="extraction",
        target_id=ex.id,
        case_id=ex.case_id,
        camera_ids=repository.packaged_cameras(session, ex.id),
        details={"sha256": ex.package_sha256, "size": ex.package_size},
    )


def record_play(session: Session, principal: Principal, ex: Extraction, clips: list[str]) -> None:
    """Playing a ready package's clips in the console, in the audit log (and each packaged
    camera's), like a download."""
    assert ex.id is not None
    if ex.state != ExtractionState.ready or not ex.package_key:
        raise Conflict(f"no package: the request is {ex.state}", code="package_not_ready")
    record(
        session,
        principal,
        "extraction.play",
        target_type="extraction",
        target_id=ex.id,
        case_id=ex.case_id,
        camera_ids=repository.packaged_cameras(session, ex.id),
        details={"sha256": ex.package_sha256, "clips": clips},
    )
