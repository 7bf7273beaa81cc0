"""The Celery application's configuration and task names, shared by the senders (the
dispatcher in any process) and the workers (`app.jobs.celery_app`)."""

from __future__ import annotations

from celery import Celery

from app.settings import Settings

RUN_JOB = "wardcam.run_job"
RETENTION = "wardcam.retention_sweep"
NOTIFY_WATCH = "wardcam.notifications_watch"
QUEUE = "wardcam"


def visibility_timeout_s(settings: Settings) -> int:
    """How long the broker keeps a delivered, unacknowledged message before it delivers it
    again; also how long the sweeper waits before it re-sends a job it announced already."""
    return settings.job_lease_seconds + 60


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
        broker_transport_options={"visibility_timeout": visibility_timeout_s(settings)},
        worker_hijack_root_logger=False,
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
        beat_schedule={
            "retention": {"task": RETENTION, "schedule": float(settings.retention_interval_s)},
            "notifications.watch": {
                "task": NOTIFY_WATCH,
                "schedule": float(settings.notify_watch_interval_s),
            },
        },
    )
    return app
