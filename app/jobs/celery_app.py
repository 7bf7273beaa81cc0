"""Celery at scale: `wardcam worker` (or `celery -A app.jobs.celery_app worker`).

The message only names a job; the database holds its state. Late acknowledgement plus
`reject_on_worker_lost` means a worker killed mid-job leaves its message to be redelivered,
and the lease in the job row decides who may run it. A sweeper in every worker sends jobs that
came due (retries) or whose lease expired, so nothing depends on a message surviving; each
such job once (`job.announced_at`), and again only after the broker's visibility timeout:
a job still waiting in a backlog is not sent again every sweep (issue 15 item 17).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from app.jobs.celery_config import (
    NOTIFY_WATCH,
    QUEUE,
    RETENTION,
    RUN_JOB,
    make_celery,
    visibility_timeout_s,
)
from app.settings import Settings

__all__ = ["NOTIFY_WATCH", "QUEUE", "RETENTION", "RUN_JOB", "celery_app", "make_celery"]

if TYPE_CHECKING:
    from app.context import AppContext

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 5.0


_settings = Settings()
celery_app = make_celery(_settings) if _settings.broker_url else Celery("wardcam")
_ctx: AppContext | None = None
_stop = threading.Event()


def _context() -> AppContext:
    global _ctx
    if _ctx is None:
        from app.context import AppContext

        _ctx = AppContext.from_settings(Settings())
    return _ctx


@celery_app.task(name=RUN_JOB, bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self: Any, job_id: int) -> str:
    from app.jobs.runner import run_one, worker_name

    state = run_one(_context(), job_id, worker=f"celery:{worker_name()}")
    return str(state)


@celery_app.task(name=RETENTION)
def retention_sweep() -> None:
    from app.jobs.registry import lookup_periodic

    lookup_periodic("retention")(_context())


@celery_app.task(name=NOTIFY_WATCH)
def notifications_watch() -> None:
    from app.jobs.registry import lookup_periodic

    lookup_periodic("notifications.watch")(_context())


def sweep_once(ctx: AppContext) -> list[int]:
    """Send a message for every due job that needs one (see the module docstring); the ids
    sent."""
    from datetime import timedelta

    from app.jobs import repository

    resend_after = timedelta(seconds=visibility_timeout_s(ctx.settings))
    with ctx.transaction() as session:
        ids = repository.to_announce(session, resend_after)
    for job_id in ids:
        celery_app.send_task(RUN_JOB, args=[job_id])
    return ids


def _sweep() -> None:
    while not _stop.wait(SWEEP_INTERVAL_S):
        try:
            sweep_once(_context())
        except Exception:
            log.exception("job sweeper failed; will retry")


@worker_ready.connect
def _start_sweeper(**_: Any) -> None:
    _stop.clear()
    threading.Thread(target=_sweep, name="wardcam-sweeper", daemon=True).start()


@worker_shutdown.connect
def _stop_sweeper(**_: Any) -> None:
    _stop.set()
