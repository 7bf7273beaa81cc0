"""The extraction workflow: request under a case, per-camera consent, then fulfilment.

A request covers several cameras, possibly of several wards. Each camera is decided by its
own sharing policy: `auto` approves at once, `owner_approval` waits for the owning ward.
The request is `pending` while any camera waits; once all are decided it is `denied` if every
camera was denied, else `approved` and queued for fulfilment (denied cameras are left out of
the package and listed as denied in its manifest).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import Session, col, select

from app.audit.service import record
from app.auth.principal import Principal
from app.cameras.models import Camera, SharingPolicy
from app.cases.models import Case, CaseStatus
from app.db import utcnow
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.extractions.models import Decision, Extraction, ExtractionCamera, ExtractionState
from app.extractions.schemas import (
    CameraDecisionPublic,
    DecisionIn,
    ExtractionCreate,
    ExtractionPublic,
)
from app.identity.models import Role, User
from app.jobs import repository as jobs
from app.jobs.models import Job

FULFIL_JOB = "fulfil_extraction"


def cameras_of(session: Session, extraction_id: int) -> Sequence[ExtractionCamera]:
    return session.exec(
        select(ExtractionCamera)
        .where(ExtractionCamera.extraction_id == extraction_id)
        .order_by(col(ExtractionCamera.camera_id))
    ).all()


def job_of(session: Session, extraction_id: int) -> Job | None:
    return session.exec(
        select(Job).where(Job.kind == FULFIL_JOB, Job.target_id == extraction_id)
    ).first()


def to_public(
    session: Session, ex: Extraction, *, owner_org: int | None = None
) -> ExtractionPublic:
    """`owner_org`: a ward's view, limited to its own cameras' decisions."""
    assert ex.id is not None
    case = session.get(Case, ex.case_id)
    user = session.get(User, ex.requested_by)
    cams = list(cameras_of(session, ex.id))
    if owner_org is not None:
        owned = set(
            session.exec(
                select(Camera.id).where(
                    col(Camera.id).in_([c.camera_id for c in cams]), Camera.org_id == owner_org
                )
            ).all()
        )
        cams = [c for c in cams if c.camera_id in owned]
    job = job_of(session, ex.id)
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
        package_sha256=ex.package_sha256 if owner_org is None else None,
        package_size=ex.package_size if owner_org is None else None,
        error=ex.error if owner_org is None else None,
        job_id=job.id if job and owner_org is None else None,
    )


def create(
    session: Session, principal: Principal, case: Case, data: ExtractionCreate, *, max_hours: float
) -> tuple[Extraction, Job | None]:
    if data.from_.tzinfo is None or data.to.tzinfo is None:
        raise Unprocessable("from and to need a UTC offset", code="invalid_window")
    if data.to <= data.from_:
        raise Unprocessable("to must be after from", code="invalid_window")
    if data.to - data.from_ > timedelta(hours=max_hours):
        raise Unprocessable(f"a request covers at most {max_hours:g} h", code="window_too_long")
    if data.from_ > utcnow():
        raise Unprocessable("the window starts in the future", code="invalid_window")
    if case.status != CaseStatus.open:
        raise Conflict(f"case {case.number} is closed", code="case_closed")
    ids = sorted(set(data.camera_ids))
    cameras = session.exec(select(Camera).where(col(Camera.id).in_(ids))).all()
    missing = set(ids) - {c.id for c in cameras}
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
    session.add(ex)
    session.flush()
    assert ex.id is not None
    now = utcnow()
    for cam in cameras:
        auto = cam.sharing_policy == SharingPolicy.auto
        session.add(
            ExtractionCamera(
                extraction_id=ex.id,
                camera_id=cam.id or 0,
                decision=Decision.approved if auto else Decision.pending,
                by_policy=auto,
                decided_at=now if auto else None,
                note="approved by the camera's sharing policy (auto)" if auto else None,
            )
        )
    session.flush()
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
            "from": data.from_.isoformat(),
            "to": data.to.isoformat(),
            "redact": data.redact,
            "auto_approved": [c.id for c in cameras if c.sharing_policy == SharingPolicy.auto],
        },
    )
    return ex, _settle(session, principal, ex)


def _settle(session: Session, principal: Principal, ex: Extraction) -> Job | None:
    """Move a fully decided request on; returns the fulfilment job when one was queued."""
    assert ex.id is not None
    decisions = [c.decision for c in cameras_of(session, ex.id)]
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


def decide(session: Session, principal: Principal, ex: Extraction, data: DecisionIn) -> Job | None:
    """The owning ward approves or denies its own cameras in this request."""
    assert ex.id is not None
    rows = list(cameras_of(session, ex.id))
    own = set(
        session.exec(
            select(Camera.id).where(
                col(Camera.id).in_([r.camera_id for r in rows]), Camera.org_id == principal.org_id
            )
        ).all()
    )
    mine = [r for r in rows if r.camera_id in own]
    if not mine:
        raise Forbidden(
            "this request does not touch your cameras",
            code="not_your_camera",
            audit={
                "action": "extraction.decide",
                "actor": principal,
                "target_type": "extraction",
                "target_id": ex.id,
                "case_id": ex.case_id,
            },
        )
    pending = [r for r in mine if r.decision == Decision.pending]
    if not pending or ex.state != ExtractionState.pending:
        raise Conflict("your cameras in this request are already decided", code="already_decided")
    now = utcnow()
    decision = Decision.approved if data.decision == "approve" else Decision.denied
    for r in pending:
        r.decision, r.decided_by, r.decided_at = decision, principal.user_id, now
        r.note = data.note or None
        session.add(r)
    session.flush()
    record(
        session,
        principal,
        f"extraction.{data.decision}",
        target_type="extraction",
        target_id=ex.id,
        case_id=ex.case_id,
        purpose=data.note or None,
        camera_ids=[r.camera_id for r in pending],
    )
    return _settle(session, principal, ex)


def get(session: Session, extraction_id: int) -> Extraction:
    ex = session.get(Extraction, extraction_id)
    if ex is None:
        raise NotFound(f"extraction {extraction_id} does not exist", code="extraction_not_found")
    return ex


def ward_may_see(session: Session, principal: Principal, ex: Extraction) -> bool:
    if principal.role is not Role.ward:
        return False
    return (
        session.exec(
            select(ExtractionCamera.id)
            .join(Camera, col(Camera.id) == col(ExtractionCamera.camera_id))
            .where(ExtractionCamera.extraction_id == ex.id, Camera.org_id == principal.org_id)
        ).first()
        is not None
    )


def list_for(
    session: Session, principal: Principal, *, state: str | None, limit: int
) -> Sequence[Extraction]:
    from app.cases.models import CaseMember

    stmt = select(Extraction)
    if principal.role is Role.ward:
        touching = (
            select(ExtractionCamera.extraction_id)
            .join(Camera, col(Camera.id) == col(ExtractionCamera.camera_id))
            .where(Camera.org_id == principal.org_id)
        )
        stmt = stmt.where(col(Extraction.id).in_(touching))
    elif principal.role is Role.supervisor:
        units = select(Case.id).where(Case.unit == principal.unit, Case.org_id == principal.org_id)
        mine = select(CaseMember.case_id).where(CaseMember.user_id == principal.user_id)
        stmt = stmt.where(col(Extraction.case_id).in_(units) | col(Extraction.case_id).in_(mine))
    else:
        mine = select(CaseMember.case_id).where(CaseMember.user_id == principal.user_id)
        stmt = stmt.where(col(Extraction.case_id).in_(mine))
    if state:
        stmt = stmt.where(Extraction.state == state)
    return session.exec(stmt.order_by(col(Extraction.id).desc()).limit(limit)).all()
