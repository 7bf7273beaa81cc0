"""Celery at scale: `wardcam worker` (or `celery -A app.jobs.celery_app worker`).

The message only names a job; the database holds its state. Late acknowledgement plus
`reject_on_worker_lost` means a worker killed mid-job leaves its message to be redelivered,
and the lease in the job row decides who may run it. A sweeper in every worker re-sends jobs
that are due (retries) or whose lease expired, so nothing depends on a message surviving.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from app.settings import Settings

if TYPE_CHECKING:
    from app.context import AppContext

log = logging.getLogger(__name__)

RUN_JOB = "wardcam.run_job"
RETENTION = "wardcam.retention_sweep"
QUEUE = "wardcam"
SWEEP_INTERVAL_S = 5.0


def make_celery(settings: Settings) -> Celery:
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule there
    app = Celery("wardcam", broker=settings.broker_url)
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.job_lease_seconds + 60},
        worker_hijack_root_logger=False,
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
        beat_schedule={
            "retention": {"task": RETENTION, "schedule": float(settings.retention_interval_s)}
        },
    )
    return app


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


def _sweep() -> None:
    from app.db import read_session
    from app.jobs import repository

    while not _stop.wait(SWEEP_INTERVAL_S):
        try:
            with read_session(_context().engine) as session:
                ids = repository.due(session)
            for job_id in ids:
                celery_app.send_task(RUN_JOB, args=[job_id])
        except Exception:
            log.exception("job sweeper failed; will retry")


@worker_ready.connect
def _start_sweeper(**_: Any) -> None:
    _stop.clear()
    threading.Thread(target=_sweep, name="wardcam-sweeper", daemon=True).start()


@worker_shutdown.connect
def _stop_sweeper(**_: Any) -> None:
    _stop.set()
