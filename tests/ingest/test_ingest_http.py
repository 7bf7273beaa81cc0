"""HTTPS MPEG-TS from a real TLS server on loopback: the camera's certificate verified when
asked (FFmpeg's ``tls_verify`` + ``ca_file``), refused when it does not match."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ingest import health
from ingest.recorder import RecordedSegment, StreamStatus, record
from tests.ingest.checks import assert_contiguous, check_segment
from tests.ingest.media import CLIP, remux


def self_signed(d: Path, name: str) -> tuple[Path, Path]:
    cert, key = d / f"{name}.crt", d / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def https_camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """(URL of an MPEG-TS file served over HTTPS, the server's certificate, another one)."""
    d = tmp_path_factory.mktemp("https")
    www = d / "www"
    www.mkdir()
    remux(CLIP["driveway"].path, www / "cam.ts", "mpegts")
    cert, key = self_signed(d, "camera")
    other, _ = self_signed(d, "other")

    def handler(*args: Any, **kwargs: Any) -> SimpleHTTPRequestHandler:
        h = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
        return h(*args, directory=str(www), **kwargs)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield f"https://127.0.0.1:{srv.server_address[1]}/cam.ts", cert, other
    finally:
        srv.shutdown()
        srv.server_close()


def test_https_mpegts_with_the_cameras_certificate(
    https_camera: tuple[str, Path, Path], tmp_path: Path
) -> None:
    url, cert, _ = https_camera
    segs: list[RecordedSegment] = []
    record(
        url,
        tmp_path,
        5,
        on_segment=segs.append,
        stop=threading.Event(),
        max_segments=3,
        options={"tls_verify": "1", "ca_file": str(cert)},
    )
    # driveway: 178 frames at 15 fps, keyframes at 0, 5.33, 10.67 s; the file then ends
    assert [(s.truncated, s.reason) for s in segs] == [(False, None), (False, None), (True, "eof")]
    assert sum(s.video_packets for s in segs) == CLIP["driveway"].frames
    assert all(s.stats is not None and s.stats.fps == pytest.approx(15) for s in segs)
    assert_contiguous(segs, frame=1 / 15)
    for s in segs:
        check_segment(s, frame=1 / 15)


def test_https_with_a_certificate_that_does_not_match(
    https_camera: tuple[str, Path, Path], tmp_path: Path
) -> None:
    url, _, other = https_camera
    statuses: list[StreamStatus] = []
    stop = threading.Event()
    threading.Timer(0.8, stop.set).start()
    summary = record(
        url,
        tmp_path,
        5,
        on_segment=lambda s: pytest.fail("recorded from an unverified server"),
        on_status=statuses.append,
        stop=stop,
        reconnect_backoff=(0.2,),
        options={"tls_verify": "1", "ca_file": str(other)},
    )
    assert summary.connections == 0 and summary.failed_attempts >= 1
    assert (statuses[1].state, statuses[1].error) == (health.RECONNECTING, "error")
    assert list(tmp_path.iterdir()) == []
