"""The queries /metrics makes at every scrape: each bounded, each on an index.

- jobs per kind and state: counted on `ix_job_kind_state_id`, at most `COUNT_CAP` per state
  (a backlog of a million says the same as one of a hundred thousand: something is wrong);
- the oldest job still waiting, per kind: one index seek per state;
- what each active camera ingested in the last hour: the segments on `ix_segment_ingested_at`
  within the hour (a camera ingests tens an hour), for at most `CAMERA_CAP` cameras;
- extraction requests per state: humans file them, there are few;
- the fleet's camera streams (one row each) and, per camera, the index backlog and the end of
  its oldest segment not yet indexed (grouped over the jobs and segments still waiting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.cameras.models import Camera, CameraStatus
from app.extractions.models import Extraction
from app.fleet import repository as fleet
from app.fleet.models import CameraStream
from app.footage.models import Segment
from app.jobs.models import Job, JobState

COUNT_CAP = 100_000
CAMERA_CAP = 10_000
WAITING = (JobState.pending, JobState.running)
QUEUE_STATES = (JobState.pending, JobState.running, JobState.failed)


@dataclass
class Snapshot:
    jobs: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest_waiting: dict[str, datetime] = field(default_factory=dict)
    ingest: dict[int, tuple[int, int]] = field(default_factory=dict)
    """camera id -> (segments, bytes) ingested in the last hour."""
    extractions: dict[str, int] = field(default_factory=dict)
    streams: list[CameraStream] = field(default_factory=list)
    """Every camera stream the fleet records, with the health its recorder keeps."""
    backlog: dict[int, int] = field(default_factory=dict)
    """camera id -> segments waiting for their index job."""
    unindexed_since: dict[int, datetime] = field(default_factory=dict)
    """camera id -> end of its oldest main segment not yet indexed."""


def job_counts(session: Session, kinds: tuple[str, ...]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for kind in kinds:
        for state in QUEUE_STATES:
            capped = (
                select(col(Job.id))
                .where(col(Job.kind) == kind, col(Job.state) == state)
                .limit(COUNT_CAP)
                .subquery()
            )
            out[(kind, str(state))] = int(
                session.exec(select(func.count()).select_from(capped)).one()
            )
    return out


def oldest_waiting(session: Session, kind: str) -> datetime | None:
    found = []
    for state in WAITING:
        stmt = (
            select(Job.created_at)
            .where(col(Job.kind) == kind, col(Job.state) == state)
            .order_by(col(Job.id))
            .limit(1)
        )
        first = session.exec(stmt).first()
        if first is not None:
            found.append(first)
    return min(found, default=None)


def ingest_since(session: Session, since: datetime) -> dict[int, tuple[int, int]]:
    cameras = session.exec(
        select(Camera.id)
        .where(col(Camera.status) == CameraStatus.active)
        .order_by(col(Camera.id))
        .limit(CAMERA_CAP)
    ).all()
    out = {c: (0, 0) for c in cameras if c is not None}
    rows = session.exec(
        select(Segment.camera_id, func.count(), func.coalesce(func.sum(Segment.size), 0))
        .where(col(Segment.ingested_at) >= since)
        .group_by(col(Segment.camera_id))
        .limit(CAMERA_CAP)
    ).all()
    for camera_id, n, size in rows:
        out[camera_id] = (int(n), int(size))
    return out


def extraction_counts(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(Extraction.state, func.count()).group_by(col(Extraction.state))
    ).all()
    return {str(state): int(n) for state, n in rows}


def snapshot(session: Session, now: datetime, kinds: tuple[str, ...]) -> Snapshot:
    snap = Snapshot(
        jobs=job_counts(session, kinds),
        ingest=ingest_since(session, now - timedelta(hours=1)),
        extractions=extraction_counts(session),
    )
    snap.streams = fleet.of_cameras(session)[:CAMERA_CAP]
    snap.backlog = fleet.index_backlog(session)
    snap.unindexed_since = fleet.oldest_unindexed(session)
    for kind in kinds:
        oldest = oldest_waiting(session, kind)
        if oldest is not None:
            snap.oldest_waiting[kind] = oldest
    return snap
