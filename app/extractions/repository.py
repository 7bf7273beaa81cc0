"""Extraction request queries, scoped by who asks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from app.auth.principal import Principal
from app.cameras.models import Camera
from app.cameras.repository import owner_scope, visible_to
from app.cases.models import Case, CaseMember
from app.extractions.models import Decision, Extraction, ExtractionCamera, ExtractionState
from app.identity.models import Role


def get(session: Session, extraction_id: int) -> Extraction | None:
    return session.get(Extraction, extraction_id)


def add(session: Session, row: Extraction | ExtractionCamera) -> None:
    """Insert now (ids are assigned), in the caller's transaction."""
    session.add(row)
    session.flush()


def cameras_of(session: Session, extraction_id: int) -> Sequence[ExtractionCamera]:
    """The request's per-camera decisions, by camera id."""
    return session.exec(
        select(ExtractionCamera)
        .where(ExtractionCamera.extraction_id == extraction_id)
        .order_by(col(ExtractionCamera.camera_id))
    ).all()


def touches_cameras_of(session: Session, principal: Principal, extraction_id: int) -> bool:
    """Whether the request names a camera the principal sees (a ward: one of its own)."""
    stmt = (
        select(ExtractionCamera.id)
        .join(Camera, col(Camera.id) == col(ExtractionCamera.camera_id))
        .where(ExtractionCamera.extraction_id == extraction_id, visible_to(principal))
    )
    return session.exec(stmt).first() is not None


def packaged_cameras(session: Session, extraction_id: int) -> list[int]:
    """The cameras whose footage went into the package."""
    stmt = select(ExtractionCamera.camera_id).where(
        ExtractionCamera.extraction_id == extraction_id,
        col(ExtractionCamera.outcome) == "packaged",
    )
    return list(session.exec(stmt).all())


def list_for(
    session: Session, principal: Principal, *, state: str | None, limit: int
) -> Sequence[Extraction]:
    """A ward: requests touching its cameras; a supervisor: those of its unit's cases and its
    own; anyone else: those of the cases they are on. Newest first."""
    stmt = select(Extraction)
    if owner_scope(principal) is not None:
        touching = (
            select(ExtractionCamera.extraction_id)
            .join(Camera, col(Camera.id) == col(ExtractionCamera.camera_id))
            .where(visible_to(principal))
        )
        stmt = stmt.where(col(Extraction.id).in_(touching))
    elif principal.role is Role.supervisor:
        units = select(Case.id).where(
            Case.unit_id == principal.unit_id, Case.org_id == principal.org_id
        )
        mine = select(CaseMember.case_id).where(CaseMember.user_id == principal.user_id)
        stmt = stmt.where(col(Extraction.case_id).in_(units) | col(Extraction.case_id).in_(mine))
    else:
        mine = select(CaseMember.case_id).where(CaseMember.user_id == principal.user_id)
        stmt = stmt.where(col(Extraction.case_id).in_(mine))
    if state:
        stmt = stmt.where(Extraction.state == state)
    return session.exec(stmt.order_by(col(Extraction.id).desc()).limit(limit)).all()


PACKAGING = (ExtractionState.approved, ExtractionState.processing, ExtractionState.ready)
"""States in which a request's approved cameras' footage is (being) packaged."""


def in_evidence(session: Session, camera_id: int, start: datetime, end: datetime) -> list[int]:
    """Requests whose package holds (or is about to hold) this camera's footage of
    [start, end): approved for the camera, approved, processing or ready, window overlapping."""
    stmt = (
        select(Extraction.id)
        .join(ExtractionCamera, col(ExtractionCamera.extraction_id) == col(Extraction.id))
        .where(
            col(ExtractionCamera.camera_id) == camera_id,
            col(ExtractionCamera.decision) == Decision.approved,
            col(Extraction.state).in_(PACKAGING),
            col(Extraction.start) < end,
            col(Extraction.end) > start,
        )
        .order_by(col(Extraction.id))
    )
    return [i for i in session.exec(stmt).all() if i is not None]
