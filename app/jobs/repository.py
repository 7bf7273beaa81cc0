"""Claiming, leasing and finishing jobs.

A job is claimed by one conditional UPDATE: it succeeds only while the job is pending (and due)
or its previous worker's lease has expired. Two workers racing for the same job therefore can't
both win, and a job whose worker died is picked up again once its lease runs out. On
PostgreSQL the scan for the next job uses `FOR UPDATE SKIP LOCKED` so workers don't queue up
behind each other; on SQLite the write lock taken at BEGIN already serialises them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, update
from sqlmodel import Session, col, select

from app.db import outbox, rowcount, utcnow
from app.jobs.models import Job, JobState

RETRY_BACKOFF_S = (5, 30, 120, 600)


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(col(Job.state) == JobState.pending, col(Job.run_after) <= now),
        and_(col(Job.state) == JobState.running, col(Job.lease_until) < now),
    )


def create(
    session: Session,
    kind: str,
    *,
    segment_id: int | None = None,
    target_id: int | None = None,
    max_attempts: int = 3,
) -> Job:
    now = utcnow()
    job = Job(
        kind=kind,
        segment_id=segment_id,
        target_id=target_id,
        state=JobState.pending,
        max_attempts=max_attempts,
        run_after=now,
        announced_at=now,  # the outbox announces it once the transaction commits
    )
    session.add(job)
    session.flush()
    assert job.id is not None
    outbox(session).jobs.append(job.id)  # announced once the transaction commits
    return job


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Job)).one())


def for_segment(session: Session, segment_id: int, kind: str) -> Job | None:
    return session.exec(select(Job).where(Job.segment_id == segment_id, Job.kind == kind)).first()


def for_target(session: Session, kind: str, target_id: int) -> Job | None:
    return session.exec(select(Job).where(Job.kind == kind, Job.target_id == target_id)).first()


def due(session: Session, limit: int = 100) -> list[int]:
    """Ids of jobs that are due now (pending and due, or with an expired lease)."""
    stmt = select(Job.id).where(_claimable(utcnow())).order_by(col(Job.id)).limit(limit)
    return [i for i in session.exec(stmt).all() if i is not None]


def _unannounced(now: datetime, resend_after: timedelta) -> ColumnElement[bool]:
    """Not announced since the job came due (its retry time, or its lease's expiry), or
    announced so long ago that the message may be lost (older than the broker's visibility
    timeout: a message still queued is not a reason to send another)."""
    due_since = case(
        (col(Job.state) == JobState.running, col(Job.lease_until)), else_=col(Job.run_after)
    )
    return or_(
        col(Job.announced_at).is_(None),
        col(Job.announced_at) < due_since,
        col(Job.announced_at) < now - resend_after,
    )


def to_announce(session: Session, resend_after: timedelta, limit: int = 100) -> list[int]:
    """Due jobs that need a broker message, each marked announced now; several sweepers
    (one per Celery worker) racing for a job: the conditional UPDATE lets one of them win.
    The caller sends the messages once this transaction has committed."""
    now = utcnow()
    cond = and_(_claimable(now), _unannounced(now, resend_after))
    stmt = select(Job.id).where(cond).order_by(col(Job.id)).limit(limit)
    won = []
    for job_id in [i for i in session.exec(stmt).all() if i is not None]:
        result = session.execute(
            update(Job)
            .where(col(Job.id) == job_id, cond)
            .values(announced_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            won.append(job_id)
    return won


def claim(session: Session, job_id: int, worker: str, lease: timedelta) -> Job | None:
    """Take this job if nobody holds it; None when another worker has it (or it is done)."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(col(Job.id) == job_id, _claimable(now))
        .values(
            state=JobState.running,
            lease_until=now + lease,
            worker=worker,
            attempts=col(Job.attempts) + 1,
            started_at=now,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return None
    session.flush()
    job = session.get(Job, job_id, populate_existing=True)
    return job


def claim_next(
    session: Session, worker: str, lease: timedelta, kinds: tuple[str, ...] | None = None
) -> Job | None:
    now = utcnow()
    stmt = select(Job.id).where(_claimable(now)).order_by(col(Job.run_after), col(Job.id))
    if kinds:
        stmt = stmt.where(col(Job.kind).in_(kinds))
    stmt = stmt.limit(1).with_for_update(skip_locked=True)
    job_id = session.exec(stmt).first()
    if job_id is None:
        return None
    return claim(session, job_id, worker, lease)


def heartbeat(
    session: Session,
    job_id: int,
    worker: str,
    lease: timedelta,
    *,
    done: int | None = None,
    total: int | None = None,
) -> bool:
    """Extend the lease (and record progress); False if the job is no longer ours."""
    values: dict[str, object] = {"lease_until": utcnow() + lease}
    if done is not None:
        values["progress_done"] = done
    if total is not None:
        values["progress_total"] = total
    result = session.execute(
        update(Job)
        .where(col(Job.id) == job_id, col(Job.worker) == worker, col(Job.state) == JobState.running)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def finish(
    session: Session, job_id: int, worker: str, *, error: str | None = None, retry: bool = True
) -> JobState | None:
    """Mark the job done, failed, or pending again for a retry. None if we lost the lease."""
    job = session.get(Job, job_id, populate_existing=True, with_for_update=True)
    if job is None or job.worker != worker or job.state != JobState.running:
        return None
    now = utcnow()
    job.lease_until = None
    if error is None:
        job.state, job.finished_at = JobState.done, now
    elif retry and job.attempts < job.max_attempts:
        job.state = JobState.pending
        job.run_after = now + timedelta(
            seconds=RETRY_BACKOFF_S[min(job.attempts - 1, len(RETRY_BACKOFF_S) - 1)]
        )
        job.error = error
    else:
        job.state, job.finished_at, job.error = JobState.failed, now, error
    session.add(job)
    session.flush()
    return job.state


def postpone(
    session: Session, job_id: int, worker: str, reason: str, delay_s: float
) -> JobState | None:
    """Pending again after `delay_s`, the attempt not counted (`registry.NotReady`)."""
    job = session.get(Job, job_id, populate_existing=True, with_for_update=True)
    if job is None or job.worker != worker or job.state != JobState.running:
        return None
    job.state, job.lease_until, job.error = JobState.pending, None, reason
    job.attempts = max(0, job.attempts - 1)
    job.run_after = utcnow() + timedelta(seconds=delay_s)
    session.add(job)
    session.flush()
    return job.state


def reset(session: Session, job: Job) -> Job:
    """Queue an existing job again (a re-index): same row, so still one job per segment."""
    job.state, job.attempts, job.error = JobState.pending, 0, None
    job.run_after, job.lease_until, job.finished_at = utcnow(), None, None
    job.announced_at = None  # the sweeper (or a polling pool) picks it up
    job.progress_done = job.progress_total = 0
    session.add(job)
    session.flush()
    return job
