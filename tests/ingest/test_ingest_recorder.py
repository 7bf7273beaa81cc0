"""Live recording by stream copy against a real loopback HTTP MPEG-TS source."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from ingest.probe import probe
from ingest.recorder import RecordedSegment, record, redact_url
from tests.ingest.media import CLIP, LiveServer

FRAME = 1 / 30  # the motorcycles clip is 30 fps
SPEED = 12.0  # the loopback server plays at 12x real time (see conftest)


def fake_clock(base: datetime, rate: float = 1.0) -> Callable[[], datetime]:
    """A UTC clock that starts at ``base`` and runs ``rate`` times faster than real time
    (the test source plays at ``rate`` x, so media time and this clock advance together)."""
    m0 = time.monotonic()
    return lambda: base + timedelta(seconds=(time.monotonic() - m0) * rate)


def decode_count(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def check_segment(s: RecordedSegment, frame: float = FRAME) -> None:
    """The file is what the record says: hash, size, decodable frames, duration."""
    data = s.path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == s.sha256
    assert len(data) == s.size
    assert not s.path.with_name(s.path.name + ".part").exists()
    assert decode_count(s.path) == s.video_packets
    p = probe(s.path)  # a recorded segment is itself a whole, valid video
    assert p.video_codec == "h264" and (p.width, p.height) == (640, 360)
    assert p.duration_s == pytest.approx(s.duration_s, abs=2 * frame)
    assert abs((s.end_utc - s.start_utc).total_seconds() - s.duration_s) <= 1e-6
    assert p.creation_time is not None
    assert timedelta(0) <= s.start_utc - p.creation_time < timedelta(seconds=1)  # MP4: whole s


def assert_contiguous(segs: list[RecordedSegment], frame: float = FRAME) -> None:
    for a, b in itertools.pairwise(segs):
        assert b.start_utc == a.end_utc
        # ... and independently of our arithmetic: the next file starts where this file's
        # media ends.
        gap = (b.start_utc - a.start_utc).total_seconds() - probe(a.path).duration_s
        assert abs(gap) <= 2 * frame


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
    assert_contiguous(segs, frame=1 / 15)
    for s in segs:
        check_segment(s, frame=1 / 15)


def test_stop_closes_short_segment_cleanly(tmp_path: Path) -> None:
    """A file source paced as a live camera (10x), stopped mid-segment."""
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


def test_max_segments(tmp_path: Path) -> None:
    segs: list[RecordedSegment] = []
    fixed = datetime(2024, 3, 1, 8, 0, 0, 123000, tzinfo=UTC)
    summary = record(
        str(CLIP["intersection"].path),
        tmp_path,
        5,
        on_segment=segs.append,
        stop=threading.Event(),
        max_segments=2,
        clock=lambda: fixed,
    )
    assert summary.segments == 2 and len(segs) == 2
    assert not any(s.truncated for s in segs)
    # Intersection has a keyframe every 128 frames (4.27 s): cuts at 8.53 s and 17.07 s.
    assert segs[0].start_utc == fixed
    assert segs[0].duration_s == pytest.approx(256 / 30)
    assert segs[0].path.name == "seg_20240301T080000.123Z_000000.mp4"
    assert not segs[0].has_audio
    assert_contiguous(segs)


def test_reconnect_never_overlaps_previous_segments(tmp_path: Path) -> None:
    """A file source ends (EOF) and is re-opened at once; with a clock that did not move,
    the second pass is placed right after the first instead of on top of it."""
    segs: list[RecordedSegment] = []
    fixed = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    record(
        str(CLIP["driveway"].path),
        tmp_path,
        5,
        on_segment=segs.append,
        stop=threading.Event(),
        max_segments=4,
        reconnect_backoff=(0.01,),
        clock=lambda: fixed,
    )
    # driveway: keyframes at 0, 5.33, 10.67 s; 11.87 s long -> 3 segments per pass
    assert [(s.connection, s.truncated, s.reason) for s in segs] == [
        (0, False, None),
        (0, False, None),
        (0, True, "eof"),
        (1, False, None),
    ]
    assert segs[2].end_utc == fixed + timedelta(seconds=178 / 15)
    assert segs[3].start_utc == segs[2].end_utc


def test_unreachable_source_retries_until_stopped(closed_port: int, tmp_path: Path) -> None:
    stop = threading.Event()
    result: list[object] = []
    url = f"http://user:secret@127.0.0.1:{closed_port}/live.ts"
    t = threading.Thread(
        target=lambda: result.append(
            record(
                url,
                tmp_path,
                5,
                on_segment=lambda s: None,
                stop=stop,
                reconnect_backoff=(0.05, 0.1),
                timeout_s=1,
            )
        )
    )
    t.start()
    time.sleep(0.6)
    stop.set()
    t.join(5)
    assert not t.is_alive()
    (summary,) = result
    assert summary.segments == 0 and summary.connections == 0  # type: ignore[attr-defined]
    assert summary.failed_attempts >= 2  # type: ignore[attr-defined]
    assert list(tmp_path.iterdir()) == []


def test_redact_url() -> None:
    assert redact_url("rtsp://admin:hunter2@10.0.0.5:554/Streaming/101") == (
        "rtsp://***@10.0.0.5:554/Streaming/101"
    )
    assert redact_url("http://cam.local/live.m3u8?token=abc") == "http://cam.local/live.m3u8"
    assert redact_url("/data/footage/x.mp4") == "/data/footage/x.mp4"


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        record("x", tmp_path, 0, on_segment=lambda s: None, stop=threading.Event())
