"""When retention runs: every `retention_interval_s`, in the API process for the embedded
default (`RetentionScheduler`), by Celery beat at scale (the periodic task "retention")."""

from __future__ import annotations

import logging

from app.context import AppContext
from app.jobs.registry import periodic
from app.jobs.schedule import Every
from app.retention.service import SweepReport, sweep

log = logging.getLogger(__name__)


@periodic("retention")
def run(ctx: AppContext) -> SweepReport:
    return sweep(ctx)


class RetentionScheduler(Every):
    """The embedded default's schedule: a sweep every `retention_interval_s` in the API
    process (Celery beat runs the same sweep at scale)."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__("retention", ctx.settings.retention_interval_s, lambda: _sweep_logged(ctx))


def _sweep_logged(ctx: AppContext) -> None:
    report = run(ctx)
    if report.total_deleted:
        log.info("retention: deleted %d segments", report.total_deleted)
