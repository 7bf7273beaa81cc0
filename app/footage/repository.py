"""Segment queries: by hash, by time, and what retention may delete."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists
from sqlmodel import Session, col, select

from app.cases.models import Case, CaseStatus
from app.extractions.models import Decision, Extraction, ExtractionCamera, ExtractionState
from app.footage.models import Segment, SegmentStatus

MAX_SEGMENT = timedelta(hours=24)
"""Longest segment accepted; bounds the start of an overlap query so it can use the index."""


def get(session: Session, segment_id: int) -> Segment | None:
    return session.get(Segment, segment_id)


def add(session: Session, segment: Segment) -> None:
    """Insert now (the id is assigned), in the caller's transaction."""
    session.add(segment)
    session.flush()


def by_hash(session: Session, camera_id: int, sha256: str) -> Segment | None:
    return session.exec(
        select(Segment).where(Segment.camera_id == camera_id, Segment.sha256 == sha256)
    ).first()


def imported(session: Session, camera_id: int, original_name: str, size: int) -> bool:
    """Whether a file of this name and size was already imported for this camera."""
    stmt = select(Segment.id).where(
        Segment.camera_id == camera_id,
        Segment.original_name == original_name,
        Segment.size == size,
    )
    return session.exec(stmt).first() is not None


def overlapping(
    session: Session, camera_id: int, start: datetime, end: datetime
) -> Sequence[Segment]:
    return session.exec(
        select(Segment)
        .where(
            Segment.camera_id == camera_id,
            col(Segment.start) >= start - MAX_SEGMENT,
            col(Segment.start) < end,
            col(Segment.end) > start,
            col(Segment.status) != SegmentStatus.deleted,
        )
        .order_by(col(Segment.start), col(Segment.id))
    ).all()


def _held() -> ColumnElement[bool]:
    """SQL condition: the segment is covered by a request of an open case."""
    return exists(
        select(ExtractionCamera.id)
        .join(Extraction, col(Extraction.id) == col(ExtractionCamera.extraction_id))
        .join(Case, col(Case.id) == col(Extraction.case_id))
        .where(
            col(ExtractionCamera.camera_id) == col(Segment.camera_id),
            col(ExtractionCamera.decision) != Decision.denied,
            col(Extraction.state) != ExtractionState.denied,
            col(Case.status) == CaseStatus.open,
            col(Extraction.start) < col(Segment.end),
            col(Extraction.end) > col(Segment.start),
        )
    )


def expired(
    session: Session,
    camera_id: int,
    cutoff: datetime,
    *,
    held: bool,
    skip: set[int],
    limit: int,
) -> list[Segment]:
    """Segments of the camera that ended before `cutoff` and are not deleted yet: those a
    legal hold covers (`held`), or those it does not."""
    stmt = select(Segment).where(
        Segment.camera_id == camera_id,
        col(Segment.start) < cutoff,  # implied by end < cutoff; lets the index serve it
        col(Segment.end) < cutoff,
        col(Segment.status) != SegmentStatus.deleted,
        _held() if held else ~_held(),
    )
    if skip:
        stmt = stmt.where(col(Segment.id).not_in(skip))
    return list(session.exec(stmt.order_by(col(Segment.start)).limit(limit)).all())
