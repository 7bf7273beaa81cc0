"""Prometheus metrics: HTTP requests (counted as they happen, per process) and the state of
the work (read from the database at scrape time, so every API process reports the same).

- `wardcam_http_requests_total{method,route,status}`, `wardcam_http_request_seconds`: a
  client that hung up mid-request counts as 499 (nginx's "client closed request"), not 500;
- `wardcam_jobs{kind,state}`: jobs pending, running and failed (counted up to 100 000);
- `wardcam_indexing_lag_seconds`: age of the oldest index job not yet done (0: none waits),
  i.e. how long footage has been waiting to become searchable;
- `wardcam_ingest_segments_last_hour{camera_id}`, `wardcam_ingest_bytes_last_hour{...}`:
  per active camera (0 for a camera that sent nothing: alert on it);
- `wardcam_extractions{state}`: evidence requests per state;
- `wardcam_camera_up{camera_id,stream}` (1 while recording), `wardcam_camera_state{...,state}`,
  `wardcam_camera_last_segment_age_seconds`, `wardcam_camera_fps`,
  `wardcam_camera_declared_fps`, `wardcam_camera_bitrate_bps`, `wardcam_camera_takeovers`:
  per camera stream the fleet records, as its recorder reported (`app.fleet`);
- `wardcam_camera_index_backlog{camera_id}`, `wardcam_camera_index_lag_seconds{camera_id}`:
  segments waiting for their index, and the age of the oldest one's end;
- `wardcam_metrics_database_up`: 0 when the database could not be read for this scrape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import read_session, utcnow
from app.extractions.models import ExtractionState
from app.extractions.service import FULFIL_JOB
from app.fleet.service import stream_state
from app.footage.service import INDEX_JOB
from app.observability import repository

log = logging.getLogger(__name__)
JOB_KINDS = (INDEX_JOB, FULFIL_JOB)


class DatabaseCollector(Collector):
    """Gauges read from the database when Prometheus scrapes (bounded queries, see
    `app.observability.repository`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> Iterable[Metric]:
        return []  # no database query when the collector is registered

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "wardcam_metrics_database_up", "1 if this scrape could read the database"
        )
        now = utcnow()
        try:
            with read_session(self.engine) as session:
                snap = repository.snapshot(session, now, JOB_KINDS)
        except Exception as exc:  # a scrape must not fail with the database
            log.warning("metrics: database unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        jobs = GaugeMetricFamily(
            "wardcam_jobs",
            "Jobs by kind and state (pending, running, failed; counted up to 100000)",
            labels=["kind", "state"],
        )
        for (kind, state), n in sorted(snap.jobs.items()):
            jobs.add_metric([kind, state], n)
        yield jobs
        lag = GaugeMetricFamily(
            "wardcam_indexing_lag_seconds",
            "Age of the oldest index job not yet done (0 when none is waiting)",
        )
        oldest = snap.oldest_waiting.get(INDEX_JOB)
        lag.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield lag
        segments = GaugeMetricFamily(
            "wardcam_ingest_segments_last_hour",
            "Segments stored in the last hour, per active camera",
            labels=["camera_id"],
        )
        size = GaugeMetricFamily(
            "wardcam_ingest_bytes_last_hour",
            "Bytes of footage stored in the last hour, per active camera",
            labels=["camera_id"],
        )
        for camera_id, (n, nbytes) in sorted(snap.ingest.items()):
            segments.add_metric([str(camera_id)], n)
            size.add_metric([str(camera_id)], nbytes)
        yield segments
        yield size
        evidence = GaugeMetricFamily(
            "wardcam_extractions", "Extraction requests by state", labels=["state"]
        )
        for state in ExtractionState:
            evidence.add_metric([state.value], snap.extractions.get(state.value, 0))
        yield evidence
        yield from _fleet(snap, now)


def _fleet(snap: repository.Snapshot, now: datetime) -> Iterable[Metric]:
    labels = ["camera_id", "stream"]
    up = GaugeMetricFamily("wardcam_camera_up", "1 while the stream is recording", labels=labels)
    state = GaugeMetricFamily(
        "wardcam_camera_state", "1 for the stream's current state", labels=[*labels, "state"]
    )
    age = GaugeMetricFamily(
        "wardcam_camera_last_segment_age_seconds",
        "Seconds since the end of the stream's last stored segment",
        labels=labels,
    )
    fps = GaugeMetricFamily("wardcam_camera_fps", "Measured frames per second", labels=labels)
    declared = GaugeMetricFamily(
        "wardcam_camera_declared_fps", "Frames per second the stream declares", labels=labels
    )
    rate = GaugeMetricFamily(
        "wardcam_camera_bitrate_bps", "Measured bits per second", labels=labels
    )
    takeovers = GaugeMetricFamily(
        "wardcam_camera_takeovers",
        "Times the stream was taken over from a worker whose lease ran out",
        labels=labels,
    )
    for row in snap.streams:
        key = [str(row.camera_id), row.stream]
        current = stream_state(row, now)
        up.add_metric(key, 1 if current == "recording" else 0)
        state.add_metric([*key, current], 1)
        if row.last_segment_end is not None:
            age.add_metric(key, max(0.0, (now - row.last_segment_end).total_seconds()))
        if row.fps is not None:
            fps.add_metric(key, row.fps)
        if row.declared_fps is not None:
            declared.add_metric(key, row.declared_fps)
        if row.bitrate_bps is not None:
            rate.add_metric(key, row.bitrate_bps)
        takeovers.add_metric(key, row.takeovers)
    yield from (up, state, age, fps, declared, rate, takeovers)
    backlog = GaugeMetricFamily(
        "wardcam_camera_index_backlog",
        "Segments of the camera waiting for their index job",
        labels=["camera_id"],
    )
    lag = GaugeMetricFamily(
        "wardcam_camera_index_lag_seconds",
        "Age of the end of the camera's oldest segment not yet indexed",
        labels=["camera_id"],
    )
    for camera_id in sorted(set(snap.backlog) | set(snap.unindexed_since)):
        backlog.add_metric([str(camera_id)], snap.backlog.get(camera_id, 0))
        since = snap.unindexed_since.get(camera_id)
        lag.add_metric([str(camera_id)], max(0.0, (now - since).total_seconds()) if since else 0.0)
    yield backlog
    yield lag


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "wardcam_http_requests_total",
            "HTTP requests (499: the client hung up first)",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "wardcam_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )

    def install(self, app: FastAPI, engine: Engine) -> None:
        self.registry.register(DatabaseCollector(engine))
        app.add_middleware(_MeasureMiddleware, metrics=self)

        @app.get("/metrics", tags=["health"], include_in_schema=False)
        def metrics() -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _MeasureMiddleware:
    """Plain ASGI (not `@app.middleware("http")`, whose extra task and stream cost about a
    millisecond per request)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)
            self.metrics.requests.labels(method, route, str(status)).inc()


def _route_template(scope: Scope) -> str:
    """The matched route's template (`/cameras/{camera_id}`), so metrics stay low-cardinality."""
    route = scope.get("route")
    return str(getattr(route, "path_format", None) or getattr(route, "path", "unmatched"))
