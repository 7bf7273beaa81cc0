"""When retention runs: every `retention_interval_s`, in the API process for the embedded
default (`RetentionScheduler`), by Celery beat at scale (the periodic task "retention")."""

from __future__ import annotations

import logging
import threading

from app.context import AppContext
from app.jobs.registry import periodic
from app.retention.service import SweepReport, sweep

log = logging.getLogger(__name__)


@periodic("retention")
def run(ctx: AppContext) -> SweepReport:
    return sweep(ctx)


class RetentionScheduler:
    """The embedded default's schedule: a sweep every `retention_interval_s` in the API
    process (Celery beat runs the same sweep at scale)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wardcam-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.ctx.settings.retention_interval_s):
            try:
                report = run(self.ctx)
                if report.total_deleted:
                    log.info("retention: deleted %d segments", report.total_deleted)
            except Exception:
                log.exception("retention sweep failed; will try again")
