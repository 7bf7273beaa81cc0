"""Fixtures for the ingest tests: derived bad files, an MPEG-TS remux, a tiny loopback
HTTP server that plays that remux like a live camera and can drop the connection, and a real
RTSP server (GStreamer's gst-rtsp-server, see ``tests/servers/rtsp.py``)."""

from __future__ import annotations

import io
import socket
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.ingest.media import (
    CLIP,
    CLIPS,
    FOOTAGE,
    LiveServer,
    first_frame_bgr,
    make_audio_only,
    remux,
    remux_hls,
)
from tests.servers.rtsp import Listener, Mount, RtspServer


@pytest.fixture(scope="session", autouse=True)
def _footage_present() -> None:
    # WARDCAM_TEST_FOOTAGE may point elsewhere than the folder tests/conftest.py checks.
    missing = [c.name for c in CLIPS if not c.path.is_file()]
    if missing:
        pytest.fail(f"footage missing from {FOOTAGE}: {', '.join(missing)}")


#: Mounts of the test RTSP server: the plain ones, and the vendors' standard paths
#: (gst-rtsp-server matches the path; a query such as Dahua's ``?channel=1`` is ignored).
RTSP_MOUNTS = [
    Mount("/cam1", str(CLIP["intersection"].path)),
    Mount("/moto", str(CLIP["motorcycles"].path), audio="aac"),
    Mount("/Streaming/Channels/101", str(CLIP["intersection"].path)),
    Mount("/Streaming/Channels/102", str(CLIP["driveway"].path)),
    Mount("/cam/realmonitor", str(CLIP["motorcycles"].path)),
    Mount("/h264/ch1/main/av_stream", str(CLIP["street"].path)),
]
RTSP_LISTENERS = [
    Listener("none", auth="none"),
    Listener("basic", auth="basic"),
    Listener("digest", auth="digest"),
    Listener("rtsps", auth="digest", tls=True),
]


@pytest.fixture(scope="session")
def rtsp_server() -> Iterator[RtspServer]:
    """One gst-rtsp-server for the session: listeners without auth, with Basic, with Digest
    and with Digest over TLS, all serving ``RTSP_MOUNTS`` looped at real time."""
    with RtspServer(RTSP_MOUNTS, RTSP_LISTENERS) as srv:
        yield srv


@pytest.fixture
def own_rtsp_server() -> Iterator[RtspServer]:
    """A server of its own (Digest, one mount), for a test that stops and restarts it."""
    with RtspServer([RTSP_MOUNTS[0]], [Listener("digest", auth="digest")]) as srv:
        yield srv


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every kind of not-a-whole-video, built once from the real footage."""
    d = tmp_path_factory.mktemp("bad")
    out: dict[str, Path] = {}
    out["empty"] = d / "empty.mp4"
    out["empty"].write_bytes(b"")
    text = b"Ward 7 camera notes\nNothing to see here.\n" * 50
    out["text_txt"] = d / "notes.txt"
    out["text_txt"].write_bytes(text)
    out["text_mp4"] = d / "notes.mp4"
    out["text_mp4"].write_bytes(text)
    ok, jpg = cv2.imencode(".jpg", first_frame_bgr(CLIP["driveway"].path))
    assert ok
    out["jpeg"] = d / "still.jpg"
    out["jpeg"].write_bytes(jpg.tobytes())
    out["jpeg_as_mp4"] = d / "still.mp4"  # an upload that lies about its name
    out["jpeg_as_mp4"].write_bytes(jpg.tobytes())
    ok, png = cv2.imencode(".png", first_frame_bgr(CLIP["driveway"].path))
    assert ok
    out["png"] = d / "still.png"
    out["png"].write_bytes(png.tobytes())
    out["audio_aac"] = make_audio_only(d / "tone.m4a", "aac")
    out["audio_wav"] = make_audio_only(d / "tone.wav", "pcm_s16le")
    out["random"] = d / "random.mp4"
    out["random"].write_bytes(np.random.default_rng(7).bytes(200_000))
    for clip in CLIPS:
        data = clip.path.read_bytes()
        key = clip.name.split("_")[0]
        out[f"half_{key}"] = d / f"half_{clip.name}"
        out[f"half_{key}"].write_bytes(data[: len(data) // 2])
        out[f"cut10_{key}"] = d / f"cut10_{clip.name}"
        out[f"cut10_{key}"].write_bytes(data[: len(data) * 9 // 10])
    # An MP4 whose 'mdat' says "to end of file" (size 0, as live writers do): a cut cannot
    # be seen from box sizes, only from packets missing against the declared duration.
    moto = bytearray(CLIP["motorcycles"].path.read_bytes())
    mdat = moto.find(b"mdat") - 4
    moto[mdat : mdat + 4] = struct.pack(">I", 0)
    out["mdat0_whole"] = d / "mdat0_whole.mp4"
    out["mdat0_whole"].write_bytes(moto)
    out["mdat0_cut10"] = d / "mdat0_cut10.mp4"
    out["mdat0_cut10"].write_bytes(moto[: len(moto) * 9 // 10])
    # Complete structure, damaged media: noise instead of frames; a zero-filled tail (an
    # NVR that pre-allocates its files and stopped recording).
    drive = bytearray(CLIP["driveway"].path.read_bytes())
    payload = drive.find(b"mdat") + 4
    noise = bytearray(drive)
    noise[payload:] = np.random.default_rng(1).bytes(len(drive) - payload)
    out["noise"] = d / "noise.mp4"
    out["noise"].write_bytes(noise)
    zero_tail = bytearray(drive)
    n = len(drive) // 20
    zero_tail[-n:] = bytes(n)
    out["zero_tail"] = d / "zero_tail.mp4"
    out["zero_tail"].write_bytes(zero_tail)
    # Matroska has no box sizes to check: truncation must be found from packet coverage.
    mkv = remux(CLIP["motorcycles"].path, d / "whole.mkv")
    data = mkv.read_bytes()
    out["cut10_mkv"] = d / "cut10.mkv"
    out["cut10_mkv"].write_bytes(data[: len(data) * 9 // 10])
    out["whole_mkv"] = mkv
    return out


@pytest.fixture(scope="session")
def ts_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """MPEG-TS remux (video + AAC audio) of the motorcycles clip, as a camera would send."""
    d = tmp_path_factory.mktemp("ts")
    return remux(CLIP["motorcycles"].path, d / "motorcycles.ts", "mpegts").read_bytes()


@pytest.fixture
def live_server(ts_bytes: bytes) -> Iterator[LiveServer]:
    state = LiveServer(ts_bytes, bytes_per_s=len(ts_bytes) / 30.1 * 12)  # ~12x real time

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with state.lock:
                n = state.connections
                state.connections += 1
            entry = state.drops[n] if n < len(state.drops) else None
            drop_mode, drop = entry if entry is not None else ("", None)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.end_headers()
            chunk = 188 * 40
            sent = 0
            t0 = time.monotonic()
            buf = io.BytesIO(state.data)
            try:
                while block := buf.read(chunk):
                    if drop is not None and sent + len(block) > drop:
                        self.wfile.write(block[: drop - sent])
                        self.wfile.flush()
                        if drop_mode == "stall":  # connected but silent (a hung camera)
                            state.released.wait(30)
                            return
                        # Abort with RST, as a camera that loses power or network would.
                        self.connection.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        self.close_connection = True
                        return
                    self.wfile.write(block)
                    sent += len(block)
                    ahead = t0 + sent / state.bytes_per_s - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
            except (BrokenPipeError, ConnectionResetError):
                return

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    state.server = srv
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield state
    finally:
        state.released.set()
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def hls_url(tmp_path: Path) -> Iterator[str]:
    """A VOD HLS playlist (2 s MPEG-TS segments, stream copy) of the driveway clip, served
    over loopback HTTP."""
    d = tmp_path / "hls"
    d.mkdir()
    remux_hls(CLIP["driveway"].path, d / "index.m3u8")

    def handler(*args: Any, **kwargs: Any) -> SimpleHTTPRequestHandler:
        h = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
        return h(*args, directory=str(d), **kwargs)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        host, port = srv.server_address[:2]
        yield f"http://{host!s}:{port}/index.m3u8"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
