"""Queries of the recording fleet: the leases on camera streams and the health in them.

A lease is taken by one conditional UPDATE (free, or its holder's lease has run out), so two
workers racing for a stream cannot both win; on PostgreSQL the candidates are picked with
`FOR UPDATE SKIP LOCKED` so workers do not queue behind each other. Renewing and releasing
are conditional on the worker still holding it, and `count_segment` is the fence a recorder
passes (in the transaction that stores a segment, locking the stream's row until it commits)
before anything it recorded becomes evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.cameras.models import Camera, CameraStatus
from app.db import rowcount, utcnow
from app.fleet.models import CameraStream
from app.footage.models import Segment, SegmentStatus, SegmentStream
from app.jobs.models import Job, JobState

MAIN = SegmentStream.main.value
LOCK_ORDER = (col(CameraStream.camera_id), col(CameraStream.stream))
"""The order a transaction locking several stream rows takes them in (`renew`; the store
queue sorts its batch by camera and stream the same way): no two wait for each other."""
DETECT = SegmentStream.detect.value


@dataclass(frozen=True)
class Wanted:
    """A stream that should be recorded now, with its (encrypted) URL."""

    row_id: int
    camera_id: int
    stream: str
    url_encrypted: str


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(col(CameraStream.worker).is_(None), col(CameraStream.lease_until) < now)


def _url_of(stream: str) -> Any:
    return Camera.stream_url_encrypted if stream == MAIN else Camera.detect_url_encrypted


def sync(session: Session) -> None:
    """A row for every stream of every active camera (new cameras, a detect stream added)."""
    rows = session.exec(
        select(Camera.id, Camera.stream_url_encrypted, Camera.detect_url_encrypted).where(
            Camera.status == CameraStatus.active
        )
    ).all()
    values: list[dict[str, Any]] = []
    for cam_id, main, detect in rows:
        if main:
            values.append({"camera_id": cam_id, "stream": MAIN})
        if main and detect:  # a detect stream alone is not recorded: there is no footage
            values.append({"camera_id": cam_id, "stream": DETECT})
    if not values:
        return
    existing = {
        (c, s) for c, s in session.exec(select(CameraStream.camera_id, CameraStream.stream)).all()
    }
    missing = [v for v in values if (v["camera_id"], v["stream"]) not in existing]
    if not missing:
        return
    now = utcnow()
    for v in missing:
        v.update(state="unassigned", state_since=now, updated_at=now, takeovers=0, segments=0)
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CameraStream)
    session.execute(ins.values(missing).on_conflict_do_nothing())
    session.flush()


def wanted(session: Session) -> dict[int, Wanted]:
    """Streams to record now, by row id: the camera is active and the URL is set."""
    found: dict[int, Wanted] = {}
    stmt = (
        select(CameraStream, Camera)
        .join(Camera, col(Camera.id) == col(CameraStream.camera_id))
        .where(Camera.status == CameraStatus.active, col(Camera.stream_url_encrypted).is_not(None))
    )
    for row, cam in session.exec(stmt).all():
        url = cam.stream_url_encrypted if row.stream == MAIN else cam.detect_url_encrypted
        if url and row.id is not None:
            found[row.id] = Wanted(row.id, row.camera_id, row.stream, url)
    return found


def claim(
    session: Session,
    worker: str,
    lease: timedelta,
    limit: int,
    candidates: Iterable[int],
) -> list[tuple[int, bool]]:
    """Take up to `limit` free streams among `candidates`; (row id, taken over from a worker
    whose lease ran out) for each one won."""
    ids = sorted(candidates)
    if limit <= 0 or not ids:
        return []
    now = utcnow()
    stmt = (
        select(CameraStream.id, CameraStream.worker)
        .where(col(CameraStream.id).in_(ids), _free(now))
        .order_by(col(CameraStream.lease_until).is_not(None), col(CameraStream.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    won: list[tuple[int, bool]] = []
    for row_id, previous in session.exec(stmt).all():
        assert row_id is not None
        result = session.execute(
            update(CameraStream)
            .where(col(CameraStream.id) == row_id, _free(now))
            .values(
                worker=worker,
                lease_until=now + lease,
                claimed_at=now,
                takeovers=col(CameraStream.takeovers) + (1 if previous else 0),
                state="connecting",
                state_since=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            won.append((row_id, previous is not None))
    session.flush()
    return won


def renew(session: Session, worker: str, ids: Sequence[int], lease: timedelta) -> set[int]:
    """Extend this worker's leases; the ids it still holds. A lease that ran out while this
    worker stalled is still its own until another worker claims it (then `worker` differs
    and it is not renewed)."""
    if not ids:
        return set()
    now = utcnow()
    # Locked in `LOCK_ORDER` first: a store-queue transaction locks the rows of the segments
    # it stores in that order too (`count_segment`), and one UPDATE of them all locked them
    # in whatever order it found them: a deadlock (seen at 30 cameras recorded and indexed
    # on one node).
    held = session.exec(
        select(CameraStream.id)
        .where(col(CameraStream.id).in_(ids), col(CameraStream.worker) == worker)
        .order_by(*LOCK_ORDER)
        .with_for_update()
    ).all()
    mine = [i for i in held if i is not None]
    if mine:
        session.execute(
            update(CameraStream)
            .where(col(CameraStream.id).in_(mine))
            .values(lease_until=now + lease)
            .execution_options(synchronize_session=False)
        )
    return set(mine)


def release(session: Session, worker: str, row_id: int, state: str = "unassigned") -> None:
    now = utcnow()
    session.execute(
        update(CameraStream)
        .where(col(CameraStream.id) == row_id, col(CameraStream.worker) == worker)
        .values(worker=None, lease_until=None, state=state, state_since=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def report(session: Session, worker: str, row_id: int, **values: Any) -> bool:
    """Write what the recorder measured or became, if this worker still holds the stream."""
    values["updated_at"] = utcnow()
    result = session.execute(
        update(CameraStream)
        .where(col(CameraStream.id) == row_id, col(CameraStream.worker) == worker)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def count_segment(session: Session, worker: str, row_id: int, **values: Any) -> bool:
    """Count a segment (and what it measured) if `worker` holds the stream: whether it does.
    Storing, this is the fence: the updated row stays locked until the store commits (a
    transaction storing several takes them in `LOCK_ORDER`)."""
    return report(session, worker, row_id, segments=col(CameraStream.segments) + 1, **values)


def of_cameras(session: Session, camera_ids: Sequence[int] | None = None) -> list[CameraStream]:
    stmt = select(CameraStream).order_by(col(CameraStream.camera_id), col(CameraStream.stream))
    if camera_ids is not None:
        stmt = stmt.where(col(CameraStream.camera_id).in_(camera_ids))
    return list(session.exec(stmt).all())


def recorded_spans(
    session: Session, camera_id: int, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """(start, end) of the main-stream footage overlapping [since, until), in time order."""
    rows = session.exec(
        select(Segment.start, Segment.end)
        .where(
            Segment.camera_id == camera_id,
            Segment.stream == SegmentStream.main,
            col(Segment.start) >= since - timedelta(hours=24),
            col(Segment.start) < until,
            col(Segment.end) > since,
            col(Segment.status) != SegmentStatus.deleted,
        )
        .order_by(col(Segment.start))
    ).all()
    return [(s, e) for s, e in rows]


def index_backlog(session: Session, camera_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Segments waiting for (or in) their index job, per camera."""
    stmt = (
        select(Segment.camera_id, func.count())
        .join(Job, and_(col(Job.segment_id) == col(Segment.id), col(Job.kind) == "index_segment"))
        .where(col(Job.state).in_([JobState.pending, JobState.running]))
        .group_by(col(Segment.camera_id))
    )
    if camera_ids is not None:
        stmt = stmt.where(col(Segment.camera_id).in_(camera_ids))
    return {int(c): int(n) for c, n in session.exec(stmt).all()}


def oldest_unindexed(
    session: Session, camera_ids: Sequence[int] | None = None
) -> dict[int, datetime]:
    """End of the oldest main segment still waiting for its index, per camera (the lag)."""
    stmt = (
        select(Segment.camera_id, func.min(Segment.end))
        .where(Segment.status == SegmentStatus.pending, Segment.stream == SegmentStream.main)
        .group_by(col(Segment.camera_id))
    )
    if camera_ids is not None:
        stmt = stmt.where(col(Segment.camera_id).in_(camera_ids))
    out: dict[int, datetime] = {}
    for c, end in session.exec(stmt).all():
        if end is not None:
            out[int(c)] = end if end.tzinfo else end.replace(tzinfo=utcnow().tzinfo)
    return out
