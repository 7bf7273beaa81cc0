"""Live recording by stream copy against a real loopback HTTP MPEG-TS source."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest import health
from ingest.recorder import HOLD_S, RecordedSegment, StreamStatus, record
from tests.ingest.checks import FRAME, assert_contiguous, check_segment
from tests.ingest.media import CLIP, LiveServer

SPEED = 12.0  # the loopback server plays at 12x real time (see conftest)


def fake_clock(base: datetime, rate: float = 1.0) -> Callable[[], datetime]:
    """A UTC clock that starts at ``base`` and runs ``rate`` times faster than real time
    (the test source plays at ``rate`` x, so media time and this clock advance together)."""
    m0 = time.monotonic()
    return lambda: base + timedelta(seconds=(time.monotonic() - m0) * rate)


def test_drop_gives_truncated_segment_then_recovery(
    live_server: LiveServer, tmp_path: Path
) -> None:
    total = len(live_server.data)
    live_server.drops = [("reset", total // 2)]  # first connection reset half-way
    segs: list[RecordedSegment] = []
    stop = threading.Event()
    base = datetime(2024, 1, 1, 12, tzinfo=UTC)

    def on_segment(s: RecordedSegment) -> None:
        segs.append(s)
        if s.connection == 1 and s.truncated:  # the whole second pass has arrived
            stop.set()

    summary = record(
        live_server.url,
        tmp_path,
        5,
        on_segment=on_segment,
        stop=stop,
        reconnect_backoff=(0.05,),
        clock=fake_clock(base, SPEED),
        timeout_s=(5, 5),
    )
    assert summary.connections == 2 and summary.segments == len(segs)
    first = [s for s in segs if s.connection == 0]
    second = [s for s in segs if s.connection == 1]
    assert first and second and len(first) + len(second) == len(segs)

    # The drop: the last segment of the first connection is truncated, with a reason.
    assert [s.truncated for s in first] == [False] * (len(first) - 1) + [True]
    assert first[-1].reason is not None
    assert sum(s.video_packets for s in first) < CLIP["motorcycles"].frames
    # Recovery: the second connection starts after the first ended, and carries the whole
    # stream (every frame of the clip), cut into ~5 s segments at keyframes.
    assert second[0].start_utc >= first[-1].end_utc
    assert sum(s.video_packets for s in second) == CLIP["motorcycles"].frames
    assert [s.truncated for s in second] == [False] * (len(second) - 1) + [True]
    # A length-less HTTP stream that closes reads as an I/O error in FFmpeg, not EOF: both
    # are "the source dropped".
    assert second[-1].reason is not None
    for s in second[:-1]:
        assert 5.0 <= s.duration_s <= 5.0 + 5.4  # boundary + at most one GOP (max 5.33 s)
    assert sum(s.duration_s for s in second) == pytest.approx(30.1, abs=2 * FRAME)

    assert segs[0].start_utc - base < timedelta(seconds=2 * SPEED)  # anchored on the clock
    assert [s.index for s in segs] == list(range(len(segs)))
    assert len({s.path for s in segs}) == len(segs)
    assert sorted(tmp_path.iterdir()) == sorted(s.path for s in segs)
    assert_contiguous(first)
    assert_contiguous(second)
    for s in segs:
        check_segment(s)


def test_stalled_source_times_out(live_server: LiveServer, tmp_path: Path) -> None:
    """Connected but silent: the read timeout ends the segment as truncated ("timeout")."""
    live_server.drops = [("stall", len(live_server.data) // 2)]
    segs: list[RecordedSegment] = []
    stop = threading.Event()

    def on_segment(s: RecordedSegment) -> None:
        segs.append(s)
        if s.truncated:
            stop.set()

    t = time.monotonic()
    record(live_server.url, tmp_path, 5, on_segment=on_segment, stop=stop, timeout_s=(5, 0.5))
    assert time.monotonic() - t < 10
    assert segs[-1].truncated and segs[-1].reason == "timeout"
    assert not any(s.truncated for s in segs[:-1])
    assert_contiguous(segs)
    check_segment(segs[-1])


def test_hls_source(hls_url: str, tmp_path: Path) -> None:
    segs: list[RecordedSegment] = []
    stop = threading.Event()

    def on_segment(s: RecordedSegment) -> None:
        segs.append(s)
        if s.truncated:
            stop.set()

    record(hls_url, tmp_path, 5, on_segment=on_segment, stop=stop)
    # driveway: 178 frames at 15 fps, keyframes at 0, 5.33, 10.67 s
    assert [s.truncated for s in segs] == [False, False, True]
    assert sum(s.video_packets for s in segs) == CLIP["driveway"].frames
    assert sum(s.duration_s for s in segs) == pytest.approx(178 / 15, abs=0.1)
    for s in segs:
        assert s.stats is not None and s.stats.fps == pytest.approx(15)
        assert s.stats.gaps == 0 and s.stats.declared_fps == pytest.approx(15)
    assert_contiguous(segs, frame=1 / 15)
    for s in segs:
        check_segment(s, frame=1 / 15)


def test_stop_closes_short_segment_cleanly(tmp_path: Path) -> None:
    """A file source paced as a live camera (10x, with a clock at 10x), stopped mid-segment."""
    segs: list[RecordedSegment] = []
    stop = threading.Event()
    timer = threading.Timer(1.3, stop.set)  # ~13 s of media: two full-ish segments + part
    timer.start()
    try:
        summary = record(
            str(CLIP["motorcycles"].path),
            tmp_path,
            5,
            on_segment=segs.append,
            stop=stop,
            realtime=True,
            speed=10.0,
            clock=fake_clock(datetime(2024, 1, 1, tzinfo=UTC), 10.0),
        )
    finally:
        timer.cancel()
    assert summary.segments == len(segs) >= 2
    assert [s.truncated for s in segs] == [False] * (len(segs) - 1) + [True]
    assert segs[-1].reason == "stopped"
    assert segs[-1].duration_s < 5 + 5.4
    assert all(s.has_audio for s in segs)  # AAC is carried along by stream copy
    assert_contiguous(segs)
    for s in segs:
        check_segment(s)


def test_max_segments_on_the_file_clock(tmp_path: Path) -> None:
    """``file_start``: segment times are the given start plus the file's own timestamps, and
    the file is read as fast as the disk allows (not paced)."""
    segs: list[RecordedSegment] = []
    fixed = datetime(2024, 3, 1, 8, 0, 0, 123000, tzinfo=UTC)
    t = time.monotonic()
    summary = record(
        str(CLIP["intersection"].path),
        tmp_path,
        5,
        on_segment=segs.append,
        stop=threading.Event(),
        max_segments=2,
        file_start=fixed,
    )
    assert time.monotonic() - t < 8.5  # 17 s of footage, not paced
    assert summary.segments == 2 and len(segs) == 2
    assert not any(s.truncated for s in segs)
    # Intersection has a keyframe every 128 frames (4.27 s): cuts at 8.53 s and 17.07 s.
    assert segs[0].start_utc == fixed
    assert segs[0].duration_s == pytest.approx(256 / 30)
    assert segs[1].start_utc == fixed + timedelta(seconds=256 / 30)
    assert segs[1].end_utc == fixed + timedelta(seconds=512 / 30)
    assert segs[0].path.name == "seg_20240301T080000.123Z_000000.mp4"
    assert not segs[0].has_audio
    assert_contiguous(segs)


def test_reconnect_never_overlaps_previous_segments(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """A live source that sends faster than real time (12x here) ends and is re-opened at
    once; with a clock that did not move, the second pass is placed right after the first
    instead of on top of it."""
    segs: list[RecordedSegment] = []
    stop = threading.Event()
    fixed = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)

    def on_segment(s: RecordedSegment) -> None:
        segs.append(s)
        if s.connection == 1:
            stop.set()

    record(
        live_server.url,
        tmp_path,
        5,
        on_segment=on_segment,
        stop=stop,
        reconnect_backoff=(0.01,),
        clock=lambda: fixed,
    )
    first = [s for s in segs if s.connection == 0]
    # Packets that arrive faster than real time were sent before they were read: the anchor
    # is the earliest time the clock allows for the first of them (here, before "now").
    assert fixed - timedelta(seconds=HOLD_S + 0.5) <= first[0].start_utc <= fixed
    assert first[-1].truncated
    span = (first[-1].end_utc - first[0].start_utc).total_seconds()
    assert span == pytest.approx(CLIP["motorcycles"].duration_s, abs=2 * FRAME)
    assert segs[-1].connection == 1
    assert segs[-1].start_utc == first[-1].end_utc
    assert segs[-1].stats is not None and segs[-1].stats.gap_before_s == 0


def test_unreachable_source_retries_until_stopped(
    closed_port: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listening: 'reconnecting' (refused), then 'offline' with the time it went
    down, then 'stopped'; the password is in no log line and no status."""
    caplog.set_level("DEBUG")
    stop = threading.Event()
    result: list[object] = []
    statuses: list[StreamStatus] = []
    url = f"http://user:s3cr%40t@127.0.0.1:{closed_port}/live.ts"
    t = threading.Thread(
        target=lambda: result.append(
            record(
                url,
                tmp_path,
                5,
                on_segment=lambda s: None,
                on_status=statuses.append,
                stop=stop,
                reconnect_backoff=(0.05, 0.1),
                timeout_s=1,
                offline_after_s=0.4,
            )
        )
    )
    t.start()
    time.sleep(0.8)
    stop.set()
    t.join(5)
    assert not t.is_alive()
    (summary,) = result
    assert summary.segments == 0 and summary.connections == 0  # type: ignore[attr-defined]
    assert summary.failed_attempts >= 2  # type: ignore[attr-defined]
    assert list(tmp_path.iterdir()) == []
    assert [(s.state, s.error) for s in statuses] == [
        (health.CONNECTING, None),
        (health.RECONNECTING, "refused"),
        (health.OFFLINE, "refused"),
        (health.STOPPED, None),
    ]
    down = statuses[0].since
    assert all(s.down_since == down for s in statuses[1:])
    offline = statuses[2]
    assert timedelta(seconds=0.4) <= offline.since - down < timedelta(seconds=0.7)
    text = caplog.text + repr(statuses) + repr(summary)
    assert "s3cr" not in text and "user:" not in text
    assert f"http://***@127.0.0.1:{closed_port}/live.ts" in caplog.text


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        record("x", tmp_path, 0, on_segment=lambda s: None, stop=threading.Event())


# ----------------------------------------------------------------------------- file timing


def test_file_is_paced_and_never_stamped_in_the_future(tmp_path: Path) -> None:
    """A file read by default is released at real time, so a segment never ends after the
    moment it is handed over (issue 15 item 1: the demo's "window starts in the future")."""
    seen: list[tuple[RecordedSegment, datetime]] = []
    before = datetime.now(UTC)
    t = time.monotonic()
    record(
        str(CLIP["driveway"].path),
        tmp_path,
        5,
        on_segment=lambda s: seen.append((s, datetime.now(UTC))),
        stop=threading.Event(),
        max_segments=1,
    )
    elapsed = time.monotonic() - t
    ((seg, handed_over),) = seen
    assert seg.duration_s == pytest.approx(80 / 15)  # keyframes at 0 and 5.33 s
    assert elapsed >= seg.duration_s - 0.05  # paced: 5.3 s of footage took 5.3 s
    assert before <= seg.start_utc <= before + timedelta(seconds=1)
    assert seg.end_utc <= handed_over
    assert seg.stats is not None and 0 <= seg.stats.lag_s < 0.5
    check_segment(seg, frame=1 / 15)


def test_file_on_its_own_clock_is_read_once(tmp_path: Path) -> None:
    segs: list[RecordedSegment] = []
    statuses: list[StreamStatus] = []
    start = datetime(2025, 5, 4, 23, 59, 58, tzinfo=UTC)
    t = time.monotonic()
    summary = record(
        str(CLIP["driveway"].path),
        tmp_path,
        5,
        on_segment=segs.append,
        on_status=statuses.append,
        stop=threading.Event(),  # never set: the end of the file ends the recording
        file_start=start,
    )
    assert time.monotonic() - t < 5  # 11.9 s of footage, read as fast as possible
    assert summary.connections == 1 and summary.segments == 3
    assert [s.start_utc for s in segs] == [
        start,
        start + timedelta(seconds=80 / 15),
        start + timedelta(seconds=160 / 15),
    ]
    assert segs[-1].end_utc == start + timedelta(seconds=178 / 15)
    assert [s.truncated for s in segs] == [False, False, True] and segs[-1].reason == "eof"
    assert sum(s.video_packets for s in segs) == CLIP["driveway"].frames
    assert [(s.state, s.error) for s in statuses] == [
        (health.CONNECTING, None),
        (health.RECORDING, None),
        (health.STOPPED, "eof"),
    ]
    assert_contiguous(segs, frame=1 / 15)


def test_timing_arguments_that_would_lie_are_refused(tmp_path: Path) -> None:
    path = str(CLIP["driveway"].path)
    kw: dict = {"on_segment": lambda s: None, "stop": threading.Event()}
    with pytest.raises(ValueError, match="in the future"):
        record(path, tmp_path, 5, realtime=True, speed=10, **kw)
    with pytest.raises(ValueError, match="file sources only"):
        record("rtsp://127.0.0.1/x", tmp_path, 5, file_start=datetime.now(UTC), **kw)
    with pytest.raises(ValueError, match="aware"):
        record(path, tmp_path, 5, file_start=datetime(2025, 1, 1), **kw)
    assert list(tmp_path.iterdir()) == []
