"""Telling a worker that a job exists, once the transaction that created it has committed.

The owner of a transaction hands its jobs to `AppContext.dispatcher` after the commit (see
`app.db.Outbox`). The embedded default wakes this process's job threads; with a broker, a
Celery message names the job (its state stays in the database).
"""

from __future__ import annotations

from collections.abc import Callable

from app.settings import Settings


class PoolDispatcher:
    """The embedded default: wakes the in-process pools running in this process (if none
    runs, a pool elsewhere finds the job when it next polls the table)."""

    def __init__(self) -> None:
        self._wakers: list[Callable[[], None]] = []

    def attach(self, wake: Callable[[], None]) -> None:
        self._wakers.append(wake)

    def detach(self, wake: Callable[[], None]) -> None:
        if wake in self._wakers:
            self._wakers.remove(wake)

    def enqueue(self, job_id: int) -> None:
        for wake in list(self._wakers):
            wake()


class CeleryDispatcher:
    """At scale: one Celery message per job, to the wardcam queue."""

    def __init__(self, settings: Settings) -> None:
        from app.jobs.celery_config import make_celery

        self.celery = make_celery(settings)

    def enqueue(self, job_id: int) -> None:
        from app.jobs.celery_config import RUN_JOB

        self.celery.send_task(RUN_JOB, args=[job_id])


Dispatcher = PoolDispatcher | CeleryDispatcher


def make_dispatcher(settings: Settings) -> Dispatcher:
    if settings.broker_url:
        return CeleryDispatcher(settings)
    return PoolDispatcher()
