"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import openapi
from app.audit.endpoints import router as audit_router
from app.cameras.endpoints import router as cameras_router
from app.cases.endpoints import router as cases_router
from app.console.web import install as install_console
from app.context import AppContext
from app.db import run_migrations
from app.errors import install_error_handlers
from app.events.endpoints import router as events_router
from app.extractions.endpoints import router as extractions_router
from app.fleet.endpoints import router as fleet_router
from app.fleet.supervisor import Supervisor
from app.footage.endpoints import clean_spool
from app.footage.endpoints import router as footage_router
from app.health import router as health_router
from app.identity.endpoints import router as identity_router
from app.jobs.dispatch import PoolDispatcher
from app.jobs.pool import InProcessPool
from app.limits import HeaderLimit
from app.notifications.endpoints import router as notifications_router
from app.notifications.jobs import WatchScheduler
from app.observability.logs import RequestIdMiddleware
from app.observability.metrics import Metrics
from app.retention.jobs import RetentionScheduler
from app.settings import Settings
from app.signin.endpoints import router as signin_router
from detectors import DetectorLoadError

log = logging.getLogger("wardcam")


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or Settings()
    ctx = AppContext.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            run_migrations(ctx.engine)
        clean_spool(ctx.settings.data_dir / "spool")
        pool: InProcessPool | None = None
        retention: RetentionScheduler | None = None
        watch: WatchScheduler | None = None
        recording: Supervisor | None = None
        if isinstance(ctx.dispatcher, PoolDispatcher) and ctx.settings.job_workers > 0:
            ctx.detectors.used_here = True
            ctx.detectors.jobs_at_once = ctx.settings.job_workers
            try:
                ctx.detectors.get()  # load now, not on the first job
            except DetectorLoadError as exc:  # serve anyway: search and evidence need none
                log.warning("no detector, index jobs will fail until fixed: %s", exc)
            pool = InProcessPool(ctx, ctx.settings.job_workers)
            pool.start()
            retention = RetentionScheduler(ctx)
            retention.start()
            watch = WatchScheduler(ctx)
            watch.start()
            if ctx.settings.record_capacity > 0:
                recording = Supervisor(ctx).start()
        log.info(
            "wardcam ready (database %s)",
            ctx.engine.url.render_as_string(hide_password=True).split("@")[-1],
        )
        yield
        if recording is not None:
            recording.stop()
        if pool is not None:
            pool.stop()
        if retention is not None:
            retention.stop()
        if watch is not None:
            watch.stop()
        ctx.close()

    app = FastAPI(
        title="wardcam",
        version="0.1.0",
        summary="Index neighbourhood CCTV footage by time and place; court-ready evidence.",
        lifespan=lifespan,
        docs_url=None,  # the console serves /docs from its vendored Swagger UI (offline)
        redoc_url=None,  # ReDoc would load from a CDN; Swagger UI is enough
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    Metrics().install(app, ctx.engine)
    app.add_middleware(HeaderLimit, max_bytes=settings.max_header_bytes)
    app.add_middleware(RequestIdMiddleware)  # outermost: every log line has the request id
    routers = (
        health_router,
        identity_router,
        signin_router,
        cameras_router,
        fleet_router,
        footage_router,
        events_router,
        cases_router,
        extractions_router,
        audit_router,
        notifications_router,
    )
    for router in routers:
        app.include_router(router)
    install_console(app)
    openapi.install(app)
    return app
