"""Running one job: claim it, do the work outside any transaction, record the outcome.

Work runs between short transactions (claim, progress heartbeats, finish) so a long indexing
job never holds a database lock. A handler that raises `PermanentJobError` fails the job at
once; any other exception is retried with backoff until `max_attempts`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from app.context import AppContext
from app.db import session_scope
from app.jobs import repository
from app.jobs.models import Job, JobState

log = logging.getLogger(__name__)


class PermanentJobError(Exception):
    """Retrying cannot help (the input itself is bad)."""


class LeaseLost(Exception):
    """Another worker took the job over (our lease expired)."""


@dataclass
class JobContext:
    app: AppContext
    job_id: int
    kind: str
    segment_id: int | None
    target_id: int | None
    worker: str
    lease: timedelta
    _last_beat: float = 0.0

    def progress(self, done: int, total: int, *, force: bool = False) -> None:
        """Records progress and extends the lease, at most about once a second."""
        now = time.monotonic()
        if not force and now - self._last_beat < 1.0:
            return
        self._last_beat = now
        with session_scope(self.app.engine) as session:
            if not repository.heartbeat(
                session, self.job_id, self.worker, self.lease, done=done, total=total
            ):
                raise LeaseLost(f"job {self.job_id} is no longer held by {self.worker}")


Handler = Callable[[JobContext], None]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


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
    fn = HANDLERS.get(job.kind)
    error: str | None = None
    retry = True
    try:
        if fn is None:
            raise PermanentJobError(f"no handler for job kind {job.kind!r}")
        fn(jc)
    except LeaseLost as exc:
        log.warning("%s", exc)
        return None
    except PermanentJobError as exc:
        error, retry = str(exc) or type(exc).__name__, False
    except Exception as exc:
        log.warning("job %s (%s) failed: %s", job.id, job.kind, traceback.format_exc())
        error = f"{type(exc).__name__}: {exc}"
    with session_scope(app.engine) as session:
        state = repository.finish(session, job.id, worker, error=error, retry=retry)
    log.info("job %s (%s) -> %s", job.id, job.kind, state)
    return state


def run_one(app: AppContext, job_id: int, worker: str | None = None) -> JobState | None:
    """Run this job if it can be claimed now; None when someone else holds it."""
    worker = worker or worker_name()
    lease = timedelta(seconds=app.settings.job_lease_seconds)
    with session_scope(app.engine) as session:
        job = repository.claim(session, job_id, worker, lease)
    if job is None:
        return None
    return _execute(app, job, worker)


def run_next(app: AppContext, worker: str | None = None) -> bool:
    """Claim and run the next due job; False when there was none."""
    worker = worker or worker_name()
    lease = timedelta(seconds=app.settings.job_lease_seconds)
    with session_scope(app.engine) as session:
        job = repository.claim_next(session, worker, lease)
    if job is None:
        return False
    _execute(app, job, worker)
    return True
