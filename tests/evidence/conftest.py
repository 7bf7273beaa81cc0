"""Fixtures for the evidence tests: real camera segments built from the shared footage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.cut import SourceSegment
from tests.evidence.footage import build_segments

FOOTAGE = Path(__file__).resolve().parents[2].parent / "shared" / "assets" / "footage"
MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "assets" / "models"
T0 = datetime(2025, 3, 1, 6, 15, 0, tzinfo=UTC)


def _sources(built: list, prefix: str) -> list[SourceSegment]:
    return [SourceSegment(b.path, b.start, b.sha256, f"{prefix}-{i}") for i, b in enumerate(built)]


@pytest.fixture(scope="session")
def segments(tmp_path_factory: pytest.TempPathFactory) -> list[SourceSegment]:
    """Ten contiguous ~13 s segments of a fixed intersection camera (no B-frames, GOP 128)."""
    out = tmp_path_factory.mktemp("segments")
    built = build_segments(FOOTAGE / "intersection_cctv_day.mp4", out, 10, 10.0, T0)
    return _sources(built, "cam1")


@pytest.fixture(scope="session")
def bframe_segments(tmp_path_factory: pytest.TempPathFactory) -> list[SourceSegment]:
    """Three contiguous segments of a PTZ camera with B-frames and irregular keyframes."""
    out = tmp_path_factory.mktemp("bsegments")
    built = build_segments(FOOTAGE / "motorcycles_cctv_day.mp4", out, 3, 8.0, T0, prefix="ptz")
    return _sources(built, "cam2")
