"""Periodic work in the embedded default: a daemon thread of the API process that runs one
task every so many seconds (Celery beat runs the same tasks at scale). A failing run is
logged and tried again at the next tick; stopping waits for the run in progress."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Every:
    def __init__(self, name: str, interval_s: float, work: Callable[[], object]) -> None:
        self.name, self.interval_s, self.work = name, interval_s, work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"wardcam-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.work()
            except Exception:
                log.exception("%s failed; will try again", self.name)
