"""NVR folder import (resumable, with progress) and live recording from a loopback stream."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from ingest.probe import probe
from tests.conftest import CLIPS, FOOTAGE, TEST_SECRET, World
from tests.ingest.media import remux


def _cli(settings, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "WARDCAM_DATABASE_URL": settings.database_url,
        "WARDCAM_SECRET_KEY": TEST_SECRET,
        "WARDCAM_DATA_DIR": str(settings.data_dir),
        "WARDCAM_STORAGE_URL": settings.storage_url,
        "COLUMNS": "160",
    }
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=300
    )


def _segments(world: World):  # type: ignore[no-untyped-def]
    from app.footage.models import Segment

    engine = world.client.app.state.ctx.engine  # type: ignore[attr-defined]
    with Session(engine) as s:
        return list(s.exec(select(Segment).order_by(col(Segment.start))).all())


def test_nvr_import_is_resumable_and_reports(world: World, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cam = world.camera(timezone="Asia/Kathmandu", clock_offset_s=0)
    export = tmp_path / "export" / "2024-05-01"
    export.mkdir(parents=True)
    for i, clip in enumerate(CLIPS):
        shutil.copy(clip, export / f"ch01_20240501_10{i:02d}00.mp4")
    (export / "ch01_20240501_110000.mp4").write_text("not a video at all")
    (export / "readme.txt").write_text("ignored: not a video extension")
    out = _cli(
        settings,
        "import",
        str(tmp_path / "export"),
        "--camera",
        str(cam["id"]),
        "--pattern",
        "ch01_%Y%m%d_%H%M%S",
    )
    assert out.returncode == 1, out.stderr  # one file rejected
    assert "ingested 4 files" in out.stdout and "rejected 1" in out.stdout
    assert "ch01_20240501_110000.mp4: not_video" in out.stdout
    assert "5/5" in out.stderr and "ETA" in out.stderr  # the progress bar
    segs = _segments(world)
    assert len(segs) == 4 and all(s.source == "import" for s in segs)
    # 10:00 in Kathmandu (+05:45) is 04:15 UTC.
    assert segs[0].start == datetime(2024, 5, 1, 4, 15, tzinfo=UTC)
    assert segs[0].start_source == "name"
    assert segs[0].sha256 == hashlib.sha256(CLIPS[0].read_bytes()).hexdigest()
    # Run again (as after Ctrl-C): nothing is imported twice.
    again = _cli(
        settings,
        "import",
        str(tmp_path / "export"),
        "--camera",
        str(cam["id"]),
        "--pattern",
        "ch01_%Y%m%d_%H%M%S",
    )
    assert "ingested 0 files" in again.stdout and "skipped 4" in again.stdout
    assert len(_segments(world)) == 4 and world.count("job") == 4
    bad = _cli(settings, "import", str(tmp_path / "export"), "--camera", "999")
    assert bad.returncode == 2 and "does not exist" in bad.stderr


class _Live:
    def __init__(self, data: bytes, rate: float) -> None:
        self.data, self.rate, self.connections = data, rate, 0


@pytest.fixture
def live_ts(tmp_path: Path) -> Iterator[str]:
    """The motorcycles clip as MPEG-TS over HTTP, at 10x real time, looping twice per
    connection (a camera that keeps sending)."""
    data = remux(FOOTAGE / "motorcycles_cctv_day.mp4", tmp_path / "m.ts", "mpegts").read_bytes()
    live = _Live(data, len(data) / 30.1 * 10)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            live.connections += 1
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.end_headers()
            t0, sent = time.monotonic(), 0
            try:
                for i in range(0, len(live.data), 188 * 64):
                    block = live.data[i : i + 188 * 64]
                    self.wfile.write(block)
                    sent += len(block)
                    ahead = t0 + sent / live.rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
            except (BrokenPipeError, ConnectionResetError):
                return

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/live.ts"
    finally:
        srv.shutdown()


@pytest.mark.slow
def test_live_recording_is_contiguous_hashed_and_indexed(  # type: ignore[no-untyped-def]
    world: World, settings, live_ts: str, tmp_path: Path
) -> None:
    from app.footage.recording import record_camera
    from app.jobs.pool import InProcessPool

    cam = world.camera(stream_url=live_ts, clock_offset_s=3.0)
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    stop = threading.Event()
    summary = record_camera(
        ctx, cam["id"], stop=stop, segment_seconds=5, max_segments=8, reconnect_backoff=(0.1,)
    )
    assert summary.segments == 8
    segs = [s for s in _segments(world) if s.source == "record"]
    assert len(segs) == 8
    # The stream ended after ~30 s of media: that segment was cut short and is marked;
    # recording reconnected and went on.
    assert summary.connections >= 2
    assert any(s.truncated and s.truncated_reason for s in segs)
    full = [s for s in segs if not s.truncated]
    assert full and all(4.0 <= s.duration_s <= 7.5 for s in full)
    for a, b in itertools.pairwise(segs):
        if a.truncated:
            continue  # a reconnect leaves a real gap
        assert abs((b.start - a.end).total_seconds()) < 0.2, (a.end, b.start)
    for s in segs:
        stored = b"".join(ctx.store.iter_chunks(s.object_key))
        assert hashlib.sha256(stored).hexdigest() == s.sha256 and len(stored) == s.size
        assert s.clock_offset_s == 0.0  # server clock, not the camera's
        assert s.end - s.start == timedelta(seconds=s.duration_s)
        # The recorder stores what it knows of the file without probing it again (issue
        # 13): the metadata is what a probe of the stored bytes says.
        copy = tmp_path / f"stored_{s.id}.mp4"
        copy.write_bytes(stored)
        p = probe(copy)
        assert (s.duration_s, s.container, s.video_codec, s.width, s.height) == (
            p.duration_s,
            p.format_name,
            p.video_codec,
            p.width,
            p.height,
        )
        assert (s.fps, s.keyframe_interval_s) == (p.fps, p.keyframe_interval_s)
        facts = json.loads(s.probe)
        probed = json.loads(json.dumps(asdict(p), default=str))
        del facts["path"], probed["path"]  # the recorder's file, and the copy probed here
        assert facts == probed
    assert InProcessPool(ctx, 0).run_until_idle() == 8
    assert all(s.status == "indexed" for s in _segments(world))
    assert not any((settings.data_dir / "recording").rglob("*.mp4"))
