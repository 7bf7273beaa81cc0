"""Segment queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.footage.models import Segment, SegmentStatus
from app.jobs.models import Job

MAX_SEGMENT = timedelta(hours=24)
"""Longest segment accepted; bounds the start of an overlap query so it can use the index."""


def by_hash(session: Session, camera_id: int, sha256: str) -> Segment | None:
    return session.exec(
        select(Segment).where(Segment.camera_id == camera_id, Segment.sha256 == sha256)
    ).first()


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


def job_for(session: Session, segment_id: int, kind: str = "index_segment") -> Job | None:
    return session.exec(select(Job).where(Job.segment_id == segment_id, Job.kind == kind)).first()
