"""Telling a worker that a job exists, after the transaction that created it committed."""

from __future__ import annotations

from typing import Protocol

from app.context import AppContext


class Dispatcher(Protocol):
    def enqueue(self, job_id: int) -> None: ...


class PoolDispatcher:
    def __init__(self, app: AppContext) -> None:
        from app.jobs.pool import InProcessPool

        self.pool = InProcessPool(app, app.settings.job_workers)

    def enqueue(self, job_id: int) -> None:
        self.pool.wake()


class CeleryDispatcher:
    def __init__(self, app: AppContext) -> None:
        from app.jobs.celery_app import make_celery

        self.celery = make_celery(app.settings)

    def enqueue(self, job_id: int) -> None:
        from app.jobs.celery_app import RUN_JOB

        self.celery.send_task(RUN_JOB, args=[job_id])


def make_dispatcher(app: AppContext) -> PoolDispatcher | CeleryDispatcher:
    if app.settings.broker_url:
        return CeleryDispatcher(app)
    return PoolDispatcher(app)
