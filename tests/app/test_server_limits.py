"""The real server (uvicorn, as `wardcam serve` runs it) under abuse and in operation:
header size limit, slow uploads, clients hanging up, request ids in structured logs. Raw
sockets, because an HTTP client library would not send what these tests need."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import FOOTAGE, World
from tests.helpers import process_env, served_api

CLIP = FOOTAGE / "driveway_ir_night.mp4"
pytestmark = pytest.mark.slow  # each test starts a server


def _raw(port: int, request: bytes, *, read: bool = True, timeout: float = 20) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(request)
        if not read:
            return b""
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return out


@pytest.fixture
def server(world: World, settings, tmp_path: Path) -> Iterator[tuple[int, Path, World]]:  # type: ignore[no-untyped-def]
    env = process_env(
        settings,
        WARDCAM_BODY_TIMEOUT_S="2",
        WARDCAM_SHUTDOWN_TIMEOUT_S="3",
        WARDCAM_MAX_HEADER_BYTES="16384",
    )
    log = tmp_path / "server.log"
    with served_api(env, log) as (port, _):
        yield port, log, world


def _upload_head(world: World, cam: int, length: int) -> bytes:
    return (
        f"POST /cameras/{cam}/footage?start=2024-05-01T10:00:00Z HTTP/1.1\r\n"
        f"Host: x\r\nAuthorization: Bearer {world.keys['ward_a']}\r\n"
        f"Content-Type: video/mp4\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_headers_over_the_limit_are_refused(server) -> None:  # type: ignore[no-untyped-def]
    port, _, _ = server
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (8 << 20) + b"\r\n\r\n"
    reply = _raw(port, big)
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    # Headers that arrive in one network read are complete before h11 counts: the app does.
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-H: aaaaaaaaaaaaaaaa\r\n" * 2000 + b"\r\n"
    reply = _raw(port, many)
    assert reply.startswith(b"HTTP/1.1 431"), reply[:200]
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["code"] == "headers_too_large"
    ok = _raw(
        port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Small: abc\r\nConnection: close\r\n\r\n"
    )
    assert ok.startswith(b"HTTP/1.1 200"), ok[:200]


def test_a_stalled_upload_times_out_with_408_and_nothing_stored(server) -> None:  # type: ignore[no-untyped-def]
    port, _, world = server
    cam = world.camera()
    data = CLIP.read_bytes()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(_upload_head(world, cam["id"], len(data)) + data[:100_000])
        started = time.monotonic()
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        waited = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply[:300]
    body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert body["code"] == "upload_timeout" and body["detail"]
    assert 1.5 <= waited < 15, waited
    assert world.count("segment") == 0 and world.count("job") == 0
    spool = Path(world.client.app.state.ctx.settings.data_dir) / "spool"  # type: ignore[attr-defined]
    assert not spool.exists() or list(spool.iterdir()) == []


def test_a_slow_upload_does_not_hold_shutdown(world: World, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = process_env(settings, WARDCAM_BODY_TIMEOUT_S="600", WARDCAM_SHUTDOWN_TIMEOUT_S="3")
    cam = world.camera()
    with served_api(env, tmp_path / "server.log") as (port, proc):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(_upload_head(world, cam["id"], 10_000_000) + b"\0" * 1000)
        time.sleep(1)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        stopped = time.monotonic() - started
        s.close()
    assert stopped < 10, f"shutdown took {stopped:.1f} s with a stalled upload"
    assert world.count("segment") == 0


def test_a_client_hanging_up_mid_upload_is_not_a_server_error(server) -> None:  # type: ignore[no-untyped-def]
    port, log, world = server
    cam = world.camera()
    data = CLIP.read_bytes()
    _raw(port, _upload_head(world, cam["id"], len(data)) + data[: len(data) // 2], read=False)
    time.sleep(1.5)
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    route = 'method="POST",route="/cameras/{camera_id}/footage"'
    assert f'wardcam_http_requests_total{{{route},status="499"}} 1.0' in metrics, metrics[-2000:]
    assert f'{route},status="500"' not in metrics
    text = log.read_text()
    assert "Traceback" not in text and '"level": "ERROR"' not in text, text[-3000:]
    dropped = [json.loads(line) for line in text.splitlines() if "dropped" in line]
    assert dropped and dropped[0]["level"] in ("INFO", "WARNING"), text[-2000:]
    assert world.count("segment") == 0


def test_json_logs_carry_the_request_id(server) -> None:  # type: ignore[no-untyped-def]
    port, log, world = server
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    r = api.get("/cameras", headers={**world.h("officer"), "X-Request-ID": "ward7-abc.123"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "ward7-abc.123"
    r = api.get("/nope", headers={"X-Request-ID": "x" * 500})  # too long: a new id instead
    generated = r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    time.sleep(0.5)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("request_id") == "ward7-abc.123"]
    assert ours and all({"ts", "level", "logger", "message"} <= set(line) for line in ours)
    access = [line for line in ours if line["logger"] == "wardcam.access"]
    assert access and access[0]["status"] == 200 and access[0]["path"] == "/cameras"
    assert any(line.get("request_id") == generated for line in lines)
    assert world.keys["officer"] not in log.read_text()  # keys never logged


def test_text_logs_for_a_terminal(world: World, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = process_env(settings, WARDCAM_LOG_FORMAT="text")
    log = tmp_path / "server.log"
    with served_api(env, log) as (port, _):
        httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "term-1"})
        time.sleep(0.5)
    lines = log.read_text().splitlines()
    assert not any(line.startswith("{") for line in lines)
    assert any("term-1" in line and "GET /healthz" in line and "200" in line for line in lines)
