"""Segment queries: by id, by hash, by time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, text
from sqlalchemy import select as core_select
from sqlmodel import Session, and_, col, or_, select

from app.cameras.models import Camera
from app.footage.models import FOOTAGE, PENDING, Segment, SegmentStatus, SegmentStream
from app.jobs.models import Job

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


def _overlap(
    camera_id: int | Sequence[int],
    start: datetime,
    end: datetime,
    stream: SegmentStream = SegmentStream.main,
) -> list[object]:
    """The segments of one camera (or of several) and stream overlapping [start, end)."""
    cameras = (
        col(Segment.camera_id).in_(list(camera_id))
        if isinstance(camera_id, Sequence)
        else Segment.camera_id == camera_id
    )
    return [
        cameras,
        Segment.stream == stream,
        col(Segment.start) >= start - MAX_SEGMENT,
        col(Segment.start) < end,
        col(Segment.end) > start,
        col(Segment.status) != SegmentStatus.deleted,
    ]


def overlapping(
    session: Session,
    camera_id: int,
    start: datetime,
    end: datetime,
    stream: SegmentStream = SegmentStream.main,
) -> Sequence[Segment]:
    """Segments of one stream overlapping [start, end): the footage (`main`) unless asked."""
    return session.exec(
        select(Segment)
        .where(*_overlap(camera_id, start, end, stream))  # type: ignore[arg-type]
        .order_by(col(Segment.start), col(Segment.id))
    ).all()


def overlapping_with_jobs(
    session: Session, camera_id: int, start: datetime, end: datetime, kind: str
) -> list[tuple[Segment, Job | None]]:
    """The segments of `overlapping` with each one's job of `kind`, in one query: a 31-day
    window holds up to ~45 000 one-minute segments, and a query per segment's job made
    footage coverage take one round trip each (issue 15 item 17)."""
    rows = session.exec(
        select(Segment, Job)
        .outerjoin(Job, and_(col(Job.segment_id) == col(Segment.id), col(Job.kind) == kind))
        .where(*_overlap(camera_id, start, end))  # type: ignore[arg-type]
        .order_by(col(Segment.start), col(Segment.id))
    ).all()
    return [(seg, job) for seg, job in rows]


def latest_end(session: Session, camera_id: int, stream: SegmentStream) -> datetime | None:
    """End of the latest stored segment of this camera stream (how far it is recorded)."""
    return session.exec(
        select(Segment.end)
        .where(Segment.camera_id == camera_id, Segment.stream == stream)
        .order_by(col(Segment.start).desc())
        .limit(1)
    ).first()


def covered_stretches(
    session: Session, camera_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Per camera, the stretches its footage (`main`) covers in [start, end), overlapping
    segments merged, in time order (not cut to the window).

    A ward of 190 cameras recording one-minute segments holds 270 000 of them in a day;
    loading each to find the gaps made the ward's page take 11-14 s. So the database walks
    them (window functions, SQLite >= 3.25 and PostgreSQL) from the covering index
    `ix_segment_camera_span`, and returns only the segments at a stretch's edges: the one
    that begins each stretch, with the end of all before it (where the previous stretch
    ended), and each camera's last, with which its last stretch ends."""
    if not camera_ids:
        return {}
    order = (col(Segment.start), col(Segment.end))
    seg = (
        core_select(
            col(Segment.camera_id).label("cam"),
            col(Segment.start).label("s"),
            col(Segment.end).label("e"),
            func.max(col(Segment.end))
            .over(partition_by=col(Segment.camera_id), order_by=order, rows=(None, -1))
            .label("before"),
            func.lead(col(Segment.start))
            .over(partition_by=col(Segment.camera_id), order_by=order)
            .label("after"),
        )
        .where(*_overlap(camera_ids, start, end))  # type: ignore[arg-type]
        .subquery()
    )
    # a segment that starts after everything before it has ended begins a stretch
    begins = or_(seg.c.before.is_(None), seg.c.s > seg.c.before)
    rows = session.execute(
        core_select(seg.c.cam, seg.c.s, seg.c.e, seg.c.before, begins.label("begins"))
        .where(or_(begins, seg.c.after.is_(None)))
        .order_by(seg.c.cam, seg.c.s, seg.c.e)
    ).all()
    out: dict[int, list[tuple[datetime, datetime]]] = {}
    for cam, first, last, before, begun in rows:
        s, e, b = _utc(first), _utc(last), _utc(before)
        assert s is not None and e is not None
        stretches = out.setdefault(int(cam), [])
        if begun:
            if stretches and b is not None:
                stretches[-1] = (stretches[-1][0], b)
            stretches.append((s, e))
        elif stretches:  # the camera's last segment, inside its last stretch
            stretches[-1] = (stretches[-1][0], max(e, b or e))
    return out


def latest_and_backlog(
    session: Session, camera_ids: Sequence[int]
) -> dict[int, tuple[datetime | None, datetime | None, int]]:
    """Per camera: the end of its latest footage, when footage last arrived, and how many
    stored segments still wait to be indexed (the console's camera state).

    Each is read from the top of a partial index for each camera, not by grouping all its
    segments: a ward of 190 cameras keeping a month of one-minute segments holds 8 million,
    and grouping them took 11 s. The conditions are the indexes' own, as literals: neither
    database uses a partial index for a condition it cannot prove from a bound parameter."""
    if not camera_ids:
        return {}
    footage = text(FOOTAGE)

    def latest(column: Any) -> Any:
        return (
            core_select(column)
            .where(col(Segment.camera_id) == col(Camera.id), footage)
            .order_by(column.desc())
            .limit(1)
            .scalar_subquery()
        )

    waiting = (
        core_select(func.count())
        .select_from(Segment)
        .where(col(Segment.camera_id) == col(Camera.id), text(PENDING))
        .scalar_subquery()
    )
    rows = session.execute(
        core_select(
            col(Camera.id),
            latest(col(Segment.end)),
            latest(col(Segment.ingested_at)),
            waiting,
        ).where(col(Camera.id).in_(list(camera_ids)))
    ).all()
    return {int(c): (_utc(end), _utc(got), int(n or 0)) for c, end, got, n in rows}


def _utc(value: datetime | None) -> datetime | None:
    """Aggregates come back without the column type's conversion on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
