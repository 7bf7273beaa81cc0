"""Liveness, readiness and metrics."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import World


def test_health_ready_and_metrics(world: World) -> None:
    c = world.client
    assert c.get("/healthz").json() == {"status": "ok"}
    r = c.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert r.json()["checks"] == {
        "database": "ok",
        "store": "ok",
        "detector": "not used here (no index jobs run here)",  # job_workers=0
    }
    c.get("/cameras", headers=world.h("officer"))
    text = c.get("/metrics").text
    assert 'wardcam_http_requests_total{method="GET",route="/cameras",status="200"}' in text
    assert "wardcam_http_request_seconds_bucket" in text


def test_not_ready_when_store_is_gone(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app

    settings.storage_url = f"file://{tmp_path / 'store'}"
    app = create_app(settings)
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200
        shutil.rmtree(tmp_path / "store")
        (tmp_path / "store").write_text("not a directory")
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["code"] == "not_ready" and "store" in r.json()["detail"]


def test_unknown_route_has_code(client: TestClient) -> None:
    r = client.get("/no/such/thing")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found", "code": "not_found"}


def _read_only(db_url: str, settings) -> tuple[object, object]:  # type: ignore[no-untyped-def]
    """Make the test database read-only for new connections; returns (make, undo)."""
    import subprocess

    import psycopg

    from tests.conftest import PG_ADMIN_URL

    if db_url.startswith("sqlite"):
        path = db_url.split("///", 1)[1]

        def chattr(flag: str) -> None:
            # Immutable: even root cannot write it (a plain chmod does not stop root).
            out = subprocess.run(["chattr", flag, path], capture_output=True, text=True)
            assert out.returncode == 0, f"chattr {flag} {path}: {out.stderr}"

        return (lambda: chattr("+i")), (lambda: chattr("-i"))
    name = db_url.rsplit("/", 1)[1]

    def alter(on: str) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {on}')  # type: ignore[arg-type]

    return (lambda: alter("on")), (lambda: alter("off"))


def test_not_ready_while_the_database_is_read_only(world: World, db_url: str, settings) -> None:  # type: ignore[no-untyped-def]
    c = world.client
    engine = c.app.state.ctx.engine  # type: ignore[attr-defined]
    assert c.get("/readyz").json()["checks"]["database"] == "ok"
    make, undo = _read_only(db_url, settings)
    make()  # type: ignore[operator]
    try:
        engine.dispose()  # connections opened from now on see the read-only database
        r = c.get("/readyz")
        assert r.status_code == 503, r.text
        assert r.json()["checks"]["database"].startswith("read-only")
        assert r.json()["code"] == "not_ready" and "read-only" in r.json()["detail"]
        r = c.post("/orgs", json={"name": "ro", "kind": "ward"}, headers=world.h("admin"))
        assert r.status_code == 503 and r.json()["code"] == "database_read_only", r.text
        assert r.headers["retry-after"]
    finally:
        undo()  # type: ignore[operator]
    engine.dispose()
    assert c.get("/readyz").status_code == 200


def test_metrics_report_queues_lag_ingest_and_evidence(world: World) -> None:
    import re
    import time

    from tests.conftest import FOOTAGE

    c = world.client
    cam = world.camera()
    clip = (FOOTAGE / "driveway_ir_night.mp4").read_bytes()
    r = c.post(
        f"/cameras/{cam['id']}/footage",
        content=clip,
        params={"start": "2024-05-01T10:00:00Z"},
        headers=world.h("ward_a"),
    )
    assert r.status_code == 201, r.text  # job_workers=0: its index job stays pending
    case = c.post("/cases", json={"number": "M-1", "title": "t"}, headers=world.h("investigator"))
    r = c.post(
        f"/cases/{case.json()['id']}/extractions",
        json={
            "camera_ids": [cam["id"]],
            "from": "2024-05-01T10:00:00Z",
            "to": "2024-05-01T10:05:00Z",
            "reason": "metrics check",
        },
        headers=world.h("investigator"),
    )
    assert r.status_code == 201, r.text
    time.sleep(1.1)
    text = c.get("/metrics").text

    def value(pattern: str) -> float:
        m = re.search(r"^" + re.escape(pattern) + r" ([0-9.e+-]+)$", text, re.M)
        assert m, f"{pattern} not in /metrics:\n{text[-3000:]}"
        return float(m.group(1))

    assert value('wardcam_jobs{kind="index_segment",state="pending"}') == 1
    assert value('wardcam_jobs{kind="index_segment",state="running"}') == 0
    assert value("wardcam_indexing_lag_seconds") >= 1
    cid = cam["id"]
    assert value(f'wardcam_ingest_segments_last_hour{{camera_id="{cid}"}}') == 1
    assert value(f'wardcam_ingest_bytes_last_hour{{camera_id="{cid}"}}') == len(clip)
    assert value('wardcam_extractions{state="pending"}') == 1
    assert value('wardcam_extractions{state="failed"}') == 0


def test_serves_without_a_detector_and_says_how_to_fix_it(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A missing model must not stop the API (search and evidence need no detector): it
    starts, /readyz stays 200 with the detector reported unavailable, and index jobs fail with
    one line saying what to set."""
    from app.main import create_app
    from tests.conftest import FOOTAGE, make_world
    from tests.helpers import wait_for

    settings.detector_model = str(tmp_path / "models" / "yolo11n.pt")  # not there
    settings.job_workers = 1
    with TestClient(create_app(settings)) as c:
        r = c.get("/readyz")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "degraded" and body["degraded"] == ["detector"]
        assert body["checks"]["database"] == "ok" and body["checks"]["store"] == "ok"
        detector = body["checks"]["detector"]
        assert detector.startswith("unavailable") and "\n" not in detector
        assert "set WARDCAM_DETECTOR_MODEL to" in detector and "yolo11n.pt" in detector
        world = make_world(c, settings)
        cam = world.camera()
        r = c.post(
            f"/cameras/{cam['id']}/footage",
            content=(FOOTAGE / "driveway_ir_night.mp4").read_bytes(),
            params={"start": "2024-05-01T10:00:00Z"},
            headers=world.h("ward_a"),
        )
        assert r.status_code == 201, r.text
        seg = r.json()["id"]

        def job() -> dict:
            return c.get(f"/segments/{seg}", headers=world.h("ward_a")).json()["job"]

        wait_for(lambda: job()["state"] == "failed", 60, "the index job to fail")
        failed = job()
        assert failed["attempts"] == 1  # retrying cannot help
        assert "set WARDCAM_DETECTOR_MODEL to" in failed["error"] and "\n" not in failed["error"]
        # Search and evidence go on.
        r = c.get(
            "/events",
            params={
                "from": "2024-05-01T10:00:00Z",
                "to": "2024-05-01T11:00:00Z",
                "purpose": "works without a detector",
            },
            headers=world.h("officer"),
        )
        assert r.status_code == 200


def test_the_server_starts_without_a_detector(world: World, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from tests.helpers import process_env, served_api

    env = process_env(
        settings,
        WARDCAM_DETECTOR_MODEL=str(tmp_path / "no-such-model.pt"),
        WARDCAM_JOB_WORKERS="1",
    )
    log = tmp_path / "server.log"
    with served_api(env, log) as (port, _):
        r = httpx.get(f"http://127.0.0.1:{port}/readyz")
        assert r.status_code == 200 and r.json()["status"] == "degraded"
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert "set WARDCAM_DETECTOR_MODEL to" in text
