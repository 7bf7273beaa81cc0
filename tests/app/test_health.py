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
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "store": "ok"}
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
