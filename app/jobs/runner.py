"""Running one job: claim it, do the work outside any transaction, record the outcome.

Work runs between short transactions (claim, progress heartbeats, finish) so a long indexing
job never holds a database lock. A handler that raises `PermanentJobError` fails the job at
once; any other exception is retried with backoff until `max_attempts`. Handlers are found
in `app.jobs.registry`, where each domain registers its kinds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from datetime import timedelta

from app.context import AppContext
from app.jobs import registry, repository
from app.jobs.models import Job, JobState
from app.jobs.registry import JobContext, LeaseLost, NotReady, PermanentJobError

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _execute(app: AppContext, job: Job, worker: str) -> JobState | None:
    assert job.id is not None
    lease = timedelta(seconds=app.settings.job_lease_seconds)
    jc = JobContext(
        app=app,
        job_id=job.id,
        kind=job.kind,
        segment_id=job.segment_id,
        target_id=job.target_id,
        worker=worker,
        lease=lease,
    )
    fn = registry.lookup(job.kind)
    error: str | None = None
    retry = True
    try:
        if fn is None:
            raise PermanentJobError(f"no handler for job kind {job.kind!r}")
        fn(jc)
    except LeaseLost as exc:
        log.warning("%s", exc)
        return None
    except NotReady as exc:
        log.info("job %s (%s) postponed %.0fs: %s", job.id, job.kind, exc.delay_s, exc)
        with app.transaction() as session:
            return repository.postpone(session, job.id, worker, str(exc), exc.delay_s)
    except PermanentJobError as exc:
        error, retry = str(exc) or type(exc).__name__, False
    except Exception as exc:
        log.warning("job %s (%s) failed: %s", job.id, job.kind, traceback.format_exc())
        error = f"{type(exc).__name__}: {exc}"
    with app.transaction() as session:
        state = repository.finish(session, job.id, worker, error=error, retry=retry)
    log.info("job %s (%s) -> %s", job.id, job.kind, state)
    return state


def run_one(app: AppContext, job_id: int, worker: str | None = None) -> JobState | None:
    """Run this job if it can be claimed now; None when someone else holds it."""
    worker = worker or worker_name()
    lease = timedelta(seconds=app.settings.job_lease_seconds)
    with app.transaction() as session:
        job = repository.claim(session, job_id, worker, lease)
    if job is None:
        return None
    return _execute(app, job, worker)


def run_next(app: AppContext, worker: str | None = None) -> bool:
    """Claim and run the next due job; False when there was none."""
    worker = worker or worker_name()
    lease = timedelta(seconds=app.settings.job_lease_seconds)
    with app.transaction() as session:
        job = repository.claim_next(session, worker, lease)
    if job is None:
        return False
    _execute(app, job, worker)
    return True
