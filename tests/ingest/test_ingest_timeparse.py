"""Start times from NVR file names: patterns anywhere in the name, zones, DST, range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.errors import IngestError
from ingest.timeparse import find_datetime, parse_iso_utc, start_from_name, to_utc

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "pattern", "tz", "expected"),
    [
        ("ch01_20240101_120000.mp4", "%Y%m%d_%H%M%S", "UTC", utc(2024, 1, 1, 12, 0, 0)),
        ("20240101_120000.mp4", "%Y%m%d_%H%M%S", None, utc(2024, 1, 1, 12)),
        ("2024-01-01 12-00-00.mp4", "%Y-%m-%d %H-%M-%S", "Europe/Berlin", utc(2024, 1, 1, 11)),
        (
            "cam 3 - 2024-07-01 12-00-00 (1).mp4",
            "%Y-%m-%d %H-%M-%S",
            "Europe/Berlin",
            utc(2024, 7, 1, 10),
        ),  # CEST
        (
            "NVR_ch12_main_20240315093001_20240315094000.mp4",
            "%Y%m%d%H%M%S",
            "America/New_York",
            utc(2024, 3, 15, 13, 30, 1),
        ),  # EDT, first of the two stamps
        ("x1220240101_120000.mp4", "%Y%m%d_%H%M%S", "UTC", utc(2024, 1, 1, 12)),
        (
            "20241301_000000_20240102_030405.mp4",
            "%Y%m%d_%H%M%S",
            "UTC",
            utc(2024, 1, 2, 3, 4, 5),
        ),  # month 13 is skipped, the next match is used
        (
            "Camera1_01-02-24_07.08.09.avi",
            "%d-%m-%y_%H.%M.%S",
            "Asia/Kolkata",
            utc(2024, 2, 1, 1, 38, 9),
        ),
        ("2024-01-01/ch01/120000.mp4", "%Y-%m-%d/ch01/%H%M%S", "UTC", utc(2024, 1, 1, 12)),
    ],
)
def test_start_from_name(name: str, pattern: str, tz: str | None, expected: datetime) -> None:
    got = start_from_name(name, pattern, tz, now=NOW)
    assert got == expected
    assert got.tzinfo is UTC


def test_dst_transitions_london() -> None:
    # Clocks go back 2024-10-27 02:00 BST -> 01:00 GMT: 01:30 happens twice.
    first = start_from_name("20241027_013000", tz="Europe/London", now=NOW)
    second = start_from_name("20241027_013000", tz="Europe/London", now=NOW, fold=1)
    assert first == utc(2024, 10, 27, 0, 30)
    assert second == utc(2024, 10, 27, 1, 30)
    # Clocks go forward 2024-03-31 01:00 GMT -> 02:00 BST: 01:30 never happens; read with
    # the offset before the change (a camera that did not switch would write it).
    assert start_from_name("20240331_013000", tz="Europe/London", now=NOW) == utc(
        2024, 3, 31, 1, 30
    )
    # Either side of the change.
    assert start_from_name("20240331_005959", tz="Europe/London", now=NOW) == utc(
        2024, 3, 31, 0, 59, 59
    )
    assert start_from_name("20240331_030000", tz="Europe/London", now=NOW) == utc(2024, 3, 31, 2)


def test_several_patterns_tried_in_order() -> None:
    got = start_from_name(
        "2024-05-06 07-08-09.mkv", ["%Y%m%d_%H%M%S", "%Y-%m-%d %H-%M-%S"], now=NOW
    )
    assert got == utc(2024, 5, 6, 7, 8, 9)


@pytest.mark.parametrize(
    ("name", "pattern", "tz", "code"),
    [
        ("holiday.mp4", "%Y%m%d_%H%M%S", "UTC", "no_start_time"),
        ("ch01_2024010_120000.mp4", "%Y%m%d_%H%M%S", "UTC", "no_start_time"),
        ("ch01_19991231_235959.mp4", "%Y%m%d_%H%M%S", "UTC", "start_time_out_of_range"),
        ("ch01_19700101_000000.mp4", "%Y%m%d_%H%M%S", "UTC", "start_time_out_of_range"),
        ("ch01_20300101_000000.mp4", "%Y%m%d_%H%M%S", "UTC", "start_time_out_of_range"),
        ("ch01_20240101_120000.mp4", "%Y%m%d_%H%M%S", "Mars/Olympus", "bad_pattern"),
        ("ch01_20240101_120000.mp4", "%H%M%S", "UTC", "bad_pattern"),
        ("ch01_20240101_120000.mp4", "%Y%Q", "UTC", "bad_pattern"),
    ],
)
def test_errors(name: str, pattern: str, tz: str, code: str) -> None:
    with pytest.raises(IngestError) as ei:
        start_from_name(name, pattern, tz, now=NOW)
    assert ei.value.code == code


def test_future_slack_and_default_now() -> None:
    # A few minutes ahead is a fast camera clock, not an error.
    assert start_from_name("20260601_000500", now=NOW) == utc(2026, 6, 1, 0, 5)
    # Without `now`, the real clock is used: a day ahead is refused (a day ahead, not
    # tomorrow's midnight: ten minutes before midnight that is within the slack).
    name = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y%m%d_%H%M%S")
    with pytest.raises(IngestError):
        start_from_name(name)


def test_helpers() -> None:
    assert find_datetime("nothing here") is None
    assert find_datetime("a_20240101_120000") == datetime(2024, 1, 1, 12)  # naive, as written
    assert to_utc(datetime(2024, 1, 1, 12), "Asia/Tokyo") == utc(2024, 1, 1, 3)
    assert to_utc(utc(2024, 1, 1, 12), "Asia/Tokyo") == utc(2024, 1, 1, 12)  # aware passes
    assert parse_iso_utc("2020-07-27T16:57:40.000000Z") == utc(2020, 7, 27, 16, 57, 40)
    assert parse_iso_utc("2020-07-27 18:57:40+02:00") == utc(2020, 7, 27, 16, 57, 40)
    assert parse_iso_utc("1970-01-01T00:00:00Z") is None  # unset camera clock
    assert parse_iso_utc("1904-01-01T00:00:00Z") is None  # MP4 epoch
    assert parse_iso_utc("garbage") is None
