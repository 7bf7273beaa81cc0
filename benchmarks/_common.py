"""Helpers shared by the benchmark scripts: a served wardcam instance and test media."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import httpx

ROOT = Path(__file__).resolve().parents[1]
FOOTAGE = ROOT.parent / "shared" / "assets" / "footage"


def offline_yolo() -> None:
    """Run ultralytics offline, with its settings in a folder of this run's own.

    Call before ultralytics is imported. Where ``YOLO_CONFIG_DIR`` is not set, ultralytics
    writes a settings file into a folder that each run of the indexing benchmarks used to
    create in the temp folder and leave there; it is now removed when the run ends.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    if not os.environ.get("YOLO_CONFIG_DIR"):
        folder = tempfile.mkdtemp(prefix="wardcam-yolo-")
        atexit.register(shutil.rmtree, folder, True)
        os.environ["YOLO_CONFIG_DIR"] = folder


def stop_on_signals() -> None:
    """Let Ctrl-C and `kill` end a benchmark through its ``finally`` blocks.

    The long benchmarks start servers and workers, create a database and record gigabytes of
    footage; they undo all of it on the way out. Python's default for SIGTERM ends the process
    at once, leaving the children running and the footage on disk, and a benchmark started in
    the background (``cmd &``, ``nohup``) inherits SIGINT ignored. Both now raise
    :class:`KeyboardInterrupt` in the main thread instead.
    """

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loop_clip(src: Path, dst: Path, target_bytes: int) -> Path:
    """Stream-copy `src` over and over into one long MP4 of about `target_bytes`."""
    if dst.exists() and dst.stat().st_size >= target_bytes * 0.95:
        return dst
    tmp = dst.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        written, offset, ostream = 0, 0, None
        while written < target_bytes:
            with av.open(str(src)) as inp:
                vin = inp.streams.video[0]
                if ostream is None:
                    ostream = out.add_stream_from_template(vin)
                last = 0
                for pkt in inp.demux(vin):
                    if pkt.dts is None:
                        continue
                    pkt.pts = (pkt.pts or 0) + offset
                    pkt.dts = pkt.dts + offset
                    last = max(last, pkt.pts + (pkt.duration or 0))
                    written += pkt.size
                    pkt.stream = ostream
                    out.mux(pkt)
                offset = last
    tmp.rename(dst)
    return dst


@dataclass
class Served:
    base: str
    admin_key: str
    proc: subprocess.Popen[bytes]
    env: dict[str, str]

    def h(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}


@contextmanager
def served(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[Served]:
    env = {**os.environ, "WARDCAM_DATA_DIR": str(data_dir),
           "WARDCAM_SECRET_KEY": secrets.token_urlsafe(48), **(extra_env or {})}
    out = subprocess.run([sys.executable, "-m", "app", "admin", "bootstrap"], env=env,
                         capture_output=True, text=True, check=True)
    key = out.stdout.split("store it now): ")[1].strip()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield Served(base, key, proc, env)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def make_ward_camera(s: Served) -> tuple[str, int]:
    """A ward, its user and one camera; returns (ward key, camera id)."""
    org = httpx.post(f"{s.base}/orgs", json={"name": "bench ward", "kind": "ward"},
                     headers=s.h()).json()
    user = httpx.post(f"{s.base}/users", json={"username": "bench", "role": "ward",
                      "org_id": org["id"]}, headers=s.h()).json()
    cam = httpx.post(f"{s.base}/cameras", headers=s.h(user["api_key"]), json={
        "name": "bench", "latitude": 27.7, "longitude": 85.3, "timezone": "UTC"}).json()
    return user["api_key"], cam["id"]
