"""Running one job: claim it, do the work outside any transaction, record the outcome.

Work runs between short transactions (claim, progress heartbeats, finish) so a long indexing
job never holds a database lock. While a handler runs, a heartbeat thread renews the job's
lease every third of `WARDCAM_JOB_LEASE_SECONDS` (default 30 s), whatever the handler is
doing (a long decode, an upload to the store): the lease can then be short, and a job whose
worker died (killed, out of memory, the machine gone) is taken over by another within one
lease plus a poll, not ten minutes later (issue 15 item 10). A handler that raises
`PermanentJobError` fails the job at once; any other exception is retried with backoff until
`max_attempts`. Handlers are found in `app.jobs.registry`, where each domain registers its
kinds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from app.context import AppContext
from app.jobs import registry, repository
from app.jobs.models import Job, JobState
from app.jobs.registry import JobContext, LeaseLost, NotReady, PermanentJobError

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@contextmanager
def heartbeat(app: AppContext, job_id: int, worker: str, lease: timedelta) -> Iterator[None]:
    """Renew the job's lease every `lease / 3` until the block ends. A failed renewal (the
    database briefly away) is retried at the next beat; a lost lease (another worker took
    the job) stops the beating, and the runner's `finish` then records nothing."""
    stop = threading.Event()
    every = lease.total_seconds() / 3

    def beat() -> None:
        while not stop.wait(every):
            try:
                with app.transaction() as session:
                    held = repository.heartbeat(session, job_id, worker, lease)
            except Exception as exc:
                log.warning("job %s: lease not renewed (%s); retrying", job_id, exc)
                continue
            if not held:
                log.warning("job %s: lease lost to another worker", job_id)
                return

    thread = threading.Thread(target=beat, name=f"wardcam-lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)


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
        with heartbeat(app, job.id, worker, lease):
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
