"""Shared fixtures: the real shared model and footage; the model loads once per session."""

from __future__ import annotations

import pytest

from detectors import Detector, PipelineResult, run_pipeline

from .assets import NIGHT, OPENVINO_MODEL, STREET

# Without the shared model and footage the run stops before collection (tests/conftest.py,
# which also runs ultralytics offline with its settings in the checkout's .yolo).


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector(str(OPENVINO_MODEL), device="cpu")


@pytest.fixture(scope="session")
def street_result(detector: Detector) -> tuple[PipelineResult, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []
    result = run_pipeline(STREET, detector, progress=lambda d, t: calls.append((d, t)))
    return result, calls


@pytest.fixture(scope="session")
def night_result(detector: Detector) -> PipelineResult:
    return run_pipeline(NIGHT, detector)
