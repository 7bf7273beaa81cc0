"""Segment queries: by id, by hash, by time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, col, select

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


def latest_and_backlog(
    session: Session, camera_ids: Sequence[int]
) -> dict[int, tuple[datetime | None, datetime | None, int]]:
    """Per camera: the end of its latest footage, when footage last arrived, and how many
    stored segments still wait to be indexed (the console's camera state)."""
    if not camera_ids:
        return {}
    waiting = func.sum(case((col(Segment.status) == SegmentStatus.pending, 1), else_=0))
    rows = session.exec(
        select(
            Segment.camera_id,
            func.max(col(Segment.end)),
            func.max(col(Segment.ingested_at)),
            waiting,
        )
        .where(
            col(Segment.camera_id).in_(list(camera_ids)),
            col(Segment.status) != SegmentStatus.deleted,
        )
        .group_by(col(Segment.camera_id))
    ).all()
    return {int(c): (_utc(end), _utc(got), int(n or 0)) for c, end, got, n in rows}


def _utc(value: datetime | None) -> datetime | None:
    """Aggregates come back without the column type's conversion on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
