"""How many CPU threads an inference gets: the cores shared between the index jobs a process
runs at once, or `WARDCAM_DETECTOR_THREADS`. A pipeline alone gets every core."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from app.detection import DetectorProvider
from app.settings import Settings
from detectors.detector import cpu_cores
from tests.conftest import DETECTOR_MODEL, FOOTAGE


def test_the_cores_are_shared_between_the_jobs_at_once() -> None:
    alone = DetectorProvider(DETECTOR_MODEL, "cpu")
    assert alone.get().threads == cpu_cores()
    assert alone.get().streams == 1
    busy = DetectorProvider(DETECTOR_MODEL, "cpu")
    busy.jobs_at_once = 2
    assert busy.get().threads == max(1, cpu_cores() // 2)
    assert busy.get().streams == min(2, cpu_cores())  # two inferences side by side
    fixed = DetectorProvider(DETECTOR_MODEL, "cpu", threads=3)
    fixed.jobs_at_once = 8
    assert fixed.get().threads == 3


def test_setting_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDCAM_DETECTOR_THREADS", "3")
    assert Settings().detector_threads == 3
    monkeypatch.setenv("WARDCAM_DETECTOR_THREADS", "-1")
    with pytest.raises(ValueError, match="detector_threads"):
        Settings()


def test_the_api_pool_shares_the_cores_between_its_job_threads(settings: Settings) -> None:
    from app.main import create_app

    settings.detector_model = DETECTOR_MODEL
    settings.detector_device = "cpu"
    settings.job_workers = 2
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/readyz").json()["checks"]["detector"] == "ok"
        detector = app.state.ctx.detectors.get()
        assert detector.threads == max(1, cpu_cores() // 2)
        assert detector.streams == min(2, cpu_cores())


def test_detect_cli_refuses_a_thread_count_that_is_not_a_number() -> None:
    env = {**os.environ, "WARDCAM_DETECTOR_MODEL": DETECTOR_MODEL,
           "WARDCAM_DETECTOR_THREADS": "two"}
    out = subprocess.run(
        [sys.executable, "-m", "app", "detect", str(FOOTAGE / "street_crossing_day.mp4")],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2
    assert "WARDCAM_DETECTOR_THREADS='two' is not a whole number" in out.stderr
