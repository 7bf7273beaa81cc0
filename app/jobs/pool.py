"""The embedded default's job runner: a few threads in the API process polling the job table.

No broker is needed; the context's dispatcher wakes an idle thread as soon as a transaction
that created a job commits, and polling every second picks up retries that came due and jobs
whose worker died (expired leases).
"""

from __future__ import annotations

import logging
import threading

from app.context import AppContext
from app.jobs.dispatch import PoolDispatcher
from app.jobs.runner import run_next, worker_name
from app.storage.download import remove_orphaned_copies

log = logging.getLogger(__name__)


class InProcessPool:
    def __init__(self, app: AppContext, workers: int, poll_s: float = 1.0) -> None:
        self.app = app
        self.workers = workers
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._pending_wakes = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        remove_orphaned_copies()  # footage copied by jobs of a worker that was killed
        if isinstance(self.app.dispatcher, PoolDispatcher):
            self.app.dispatcher.attach(self.wake)
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"wardcam-job-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def wake(self) -> None:
        with self._wake:
            self._pending_wakes += 1
            self._wake.notify()

    def stop(self, timeout: float = 30.0) -> None:
        if isinstance(self.app.dispatcher, PoolDispatcher):
            self.app.dispatcher.detach(self.wake)
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for t in self._threads:
            t.join(timeout)

    def _loop(self) -> None:
        worker = worker_name()
        while not self._stop.is_set():
            try:
                if run_next(self.app, worker):
                    continue
            except Exception:
                log.exception("job pool: unexpected error; retrying shortly")
            with self._wake:
                if self._pending_wakes == 0:
                    self._wake.wait(self.poll_s)
                self._pending_wakes = max(0, self._pending_wakes - 1)

    def run_until_idle(self, max_jobs: int = 10_000) -> int:
        """Run due jobs in the calling thread until none is left (CLI and tests)."""
        n = 0
        worker = worker_name()
        while n < max_jobs and run_next(self.app, worker):
            n += 1
        return n
