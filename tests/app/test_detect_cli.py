"""`wardcam detect FILE [--json] [--start ISO]`: the pipeline on one file, no database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

from detectors.pipeline import PipelineConfig
from tests.conftest import DETECTOR_MODEL, FOOTAGE


def _detect(*args: str, model: str = DETECTOR_MODEL) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WARDCAM_DETECTOR_MODEL": model, "WARDCAM_DETECTOR_DEVICE": "cpu"}
    return subprocess.run(
        [sys.executable, "-m", "app", "detect", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_detect_json_lines_with_absolute_times() -> None:
    out = _detect(
        str(FOOTAGE / "street_crossing_day.mp4"), "--json", "--start", "2024-05-01T10:00:00+05:45"
    )
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {"car", "bus", "motorcycle", "person"} <= {r["label"] for r in rows}
    t0 = datetime.fromisoformat("2024-05-01T10:00:00+05:45")
    for r in rows:
        assert set(r) == {"label", "start", "end", "confidence", "color"}
        start, end = datetime.fromisoformat(r["start"]), datetime.fromisoformat(r["end"])
        assert t0 <= start <= end <= t0 + timedelta(seconds=7.3)
        # an event needs one sighting at event_min_conf, or several at span_conf (a small object
        # seen unsure sample after sample): never below span_conf
        assert PipelineConfig().span_conf <= r["confidence"] <= 1.0
        assert (r["color"] is None) == (r["label"] in ("person", "bicycle"))


def test_detect_seconds_and_night_ir() -> None:
    out = _detect(str(FOOTAGE / "driveway_ir_night.mp4"), "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    people = [r for r in rows if r["label"] == "person"]
    assert people and all(0 <= r["start"] <= r["end"] <= 12.0 for r in people)


def test_detect_bad_input() -> None:
    out = _detect(str(FOOTAGE / "driveway_ir_night.mp4"), model="/nonexistent/model.onnx")
    assert out.returncode == 2 and "WARDCAM_DETECTOR_MODEL" in out.stderr
    out = _detect(str(FOOTAGE / "driveway_ir_night.mp4"), "--start", "2024-05-01T10:00:00")
    assert out.returncode == 2 and "UTC offset" in out.stderr


def test_detect_warns_of_damage_and_goes_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A file with damaged packets: every event to the end, a warning that says where."""
    from tests.detectors.assets import damaged_copy

    clip = damaged_copy(FOOTAGE / "street_crossing_day.mp4", tmp_path / "d.mp4", 2.0, 3)
    out = _detect(str(clip), "--json")
    assert out.returncode == 0, out.stderr
    assert "warning: 3 damaged packets skipped (at 2.0-2.2 s)" in out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert max(r["end"] for r in rows) > 6.5
