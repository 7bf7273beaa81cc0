"""The job kinds: each domain adds its own (`@handler("index_segment")` in its `jobs.py`),
and its periodic tasks (`@periodic("retention")`).

Infrastructure does not import the domains: `DOMAIN_JOBS` names the modules that register
kinds (as Celery's `include` does), and they are imported the first time a kind is looked
up, so any process that runs jobs knows every kind without remembering to import them.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from app.context import AppContext
from app.jobs import repository

DOMAIN_JOBS = (
    "app.events.jobs",
    "app.extractions.jobs",
    "app.notifications.jobs",
    "app.retention.jobs",
)


class PermanentJobError(Exception):
    """Retrying cannot help (the input itself is bad)."""


class NotReady(Exception):
    """What the job needs is not there yet (a dual-stream segment's detect stream is still
    being recorded): run it again after `delay_s`, without using up an attempt."""

    def __init__(self, message: str, delay_s: float) -> None:
        super().__init__(message)
        self.delay_s = delay_s


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
        with self.app.transaction() as session:
            if not repository.heartbeat(
                session, self.job_id, self.worker, self.lease, done=done, total=total
            ):
                raise LeaseLost(f"job {self.job_id} is no longer held by {self.worker}")


Handler = Callable[[JobContext], None]
Periodic = Callable[[AppContext], object]
_HANDLERS: dict[str, Handler] = {}
_PERIODIC: dict[str, Periodic] = {}
_loaded = threading.Lock()
_done = False


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if _HANDLERS.get(kind, fn) is not fn:
            raise RuntimeError(f"job kind {kind!r} is registered twice")
        _HANDLERS[kind] = fn
        return fn

    return register


P = TypeVar("P", bound=Periodic)


def periodic(name: str) -> Callable[[P], P]:
    """A task run on a schedule rather than per row (in-process, or by Celery beat)."""

    def register(fn: P) -> P:
        _PERIODIC[name] = fn
        return fn

    return register


def load() -> None:
    """Import every domain's jobs module (once)."""
    global _done
    with _loaded:
        if not _done:
            for name in DOMAIN_JOBS:
                importlib.import_module(name)
            _done = True


def lookup(kind: str) -> Handler | None:
    load()
    return _HANDLERS.get(kind)


def lookup_periodic(name: str) -> Periodic:
    load()
    return _PERIODIC[name]
