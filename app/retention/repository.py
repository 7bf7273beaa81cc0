"""What retention may delete: segments past their camera's retention, held or not.

A segment is held while a request of an open case covers it: any request not denied, on
that camera, whose window overlaps the segment.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, exists
from sqlmodel import Session, col, select

from app.cases.models import Case, CaseStatus
from app.extractions.models import Decision, Extraction, ExtractionCamera, ExtractionState
from app.footage.models import Segment, SegmentStatus


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


def holds(session: Session, limit: int = 500) -> list[tuple[Case, Extraction, ExtractionCamera]]:
    """What is under legal hold now: each camera of a request (not denied) of an open case,
    with its window; retention keeps the footage it covers."""
    stmt = (
        select(Case, Extraction, ExtractionCamera)
        .join(Extraction, col(Extraction.case_id) == col(Case.id))
        .join(ExtractionCamera, col(ExtractionCamera.extraction_id) == col(Extraction.id))
        .where(
            col(Case.status) == CaseStatus.open,
            col(ExtractionCamera.decision) != Decision.denied,
            col(Extraction.state) != ExtractionState.denied,
        )
        .order_by(col(Extraction.start).desc())
        .limit(limit)
    )
    return [(c, e, ec) for c, e, ec in session.exec(stmt).all()]
