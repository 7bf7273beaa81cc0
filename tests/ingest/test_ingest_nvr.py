"""NVR folder scan: recursive, video files only, start from name or metadata, sorted."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.nvr import scan
from tests.ingest.media import CLIP

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A folder as an NVR export would look, made of copies of the real footage."""
    root = tmp_path / "export"
    (root / "ch01" / "day2").mkdir(parents=True)
    (root / "ch02").mkdir()
    (root / ".thumbs").mkdir()
    drive, street = CLIP["driveway"].path, CLIP["street"].path
    shutil.copy(drive, root / "ch01" / "ch01_20240101_120500.mp4")
    shutil.copy(drive, root / "ch01" / "day2" / "ch01_20240102_000000.MP4")
    shutil.copy(drive, root / "ch01" / "ch01_20240101_120000.mkv")  # extension only matters
    shutil.copy(street, root / "ch02" / "ch02_20240101_120000.mp4")  # same start as ch01
    shutil.copy(drive, root / "ch02" / "export-copy.mp4")  # no date in name: metadata
    shutil.copy(street, root / "ch02" / "unnamed.mp4")  # no date, no metadata
    shutil.copy(street, root / "ch02" / "ch02_19990101_000000.mp4")  # clock never set
    (root / "ch02" / "broken_20240101_130000.mp4").write_bytes(b"")
    (root / "ch02" / "notes_20240101_120000.txt").write_text("not video")
    shutil.copy(drive, root / ".thumbs" / "ch01_20240101_110000.mp4")  # hidden dir
    shutil.copy(drive, root / "ch01" / ".ch01_20240101_110000.mp4")  # hidden file
    return root


def rel(root: Path, p: Path) -> str:
    return p.relative_to(root).as_posix()


def test_scan_orders_by_start_then_name(export: Path) -> None:
    files = scan(export, "%Y%m%d_%H%M%S", "Europe/Berlin", now=NOW)
    got = [(rel(export, f.path), f.start, f.start_source, f.reason) for f in files]
    berlin_noon = datetime(2024, 1, 1, 11, tzinfo=UTC)
    assert got == [
        ("ch01/ch01_20240101_120000.mkv", berlin_noon, "name", None),
        ("ch02/ch02_20240101_120000.mp4", berlin_noon, "name", None),
        ("ch01/ch01_20240101_120500.mp4", datetime(2024, 1, 1, 11, 5, tzinfo=UTC), "name", None),
        ("ch01/day2/ch01_20240102_000000.MP4", datetime(2024, 1, 1, 23, tzinfo=UTC), "name", None),
        # creation_time of the driveway clip (UTC by definition; zone not applied)
        ("ch02/export-copy.mp4", datetime(2025, 1, 18, 8, 50, 55, tzinfo=UTC), "metadata", None),
        ("ch02/broken_20240101_130000.mp4", None, None, "empty_file"),
        ("ch02/ch02_19990101_000000.mp4", None, None, got[6][3]),
        ("ch02/unnamed.mp4", None, None, "no_start_time"),
    ]
    assert got[6][3] is not None and got[6][3].startswith("start_time_out_of_range")
    sizes = {rel(export, f.path): f.size for f in files}
    assert sizes["ch02/ch02_20240101_120000.mp4"] == CLIP["street"].size
    assert sizes["ch02/broken_20240101_130000.mp4"] == 0


def test_scan_default_patterns_and_no_metadata(export: Path) -> None:
    (export / "ch03").mkdir()
    shutil.copy(CLIP["driveway"].path, export / "ch03" / "2024-01-01 10-00-00.mp4")
    files = scan(export, tz="UTC", use_metadata=False, now=NOW)
    by_name = {f.path.name: f for f in files}
    assert by_name["2024-01-01 10-00-00.mp4"].start == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert files[0].path.name == "2024-01-01 10-00-00.mp4"
    assert by_name["export-copy.mp4"].start is None
    assert by_name["export-copy.mp4"].reason == "no_start_time"


def test_scan_pattern_on_relative_path(tmp_path: Path) -> None:
    for day, t in [("20240102", "080000"), ("20240101", "230000"), ("20240101", "080000")]:
        (tmp_path / day).mkdir(exist_ok=True)
        shutil.copy(CLIP["driveway"].path, tmp_path / day / f"{t}.ts")
    files = scan(tmp_path, "%Y%m%d/%H%M%S", "Asia/Tokyo", use_metadata=False, now=NOW)
    assert [rel(tmp_path, f.path) for f in files] == [
        "20240101/080000.ts",
        "20240101/230000.ts",
        "20240102/080000.ts",
    ]
    assert files[0].start == datetime(2023, 12, 31, 23, tzinfo=UTC)


def test_scan_errors(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as ei:
        scan(tmp_path, "%H%M%S")
    assert ei.value.code == "bad_pattern"
    with pytest.raises(IngestError) as ei:
        scan(tmp_path, tz="Nowhere/Special")
    assert ei.value.code == "bad_pattern"
    with pytest.raises(FileNotFoundError):
        scan(tmp_path / "missing")
    assert scan(tmp_path) == []
