"""Helpers for tests that run wardcam as real processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

TEST_SECRET = "2VpuwmwDIWTa6YLPGB07Opu4NReLqpzJkKlkS3tn87xw_7oZ"
"""A fixed random secret for tests (strong enough for `Settings.check_secure`)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


def process_env(settings: Any, **extra: str) -> dict[str, str]:
    """The environment a `python -m app …` process needs to share a test's settings."""
    return {
        **os.environ,
        "WARDCAM_DATABASE_URL": settings.database_url,
        "WARDCAM_SECRET_KEY": TEST_SECRET,
        "WARDCAM_DATA_DIR": str(settings.data_dir),
        "WARDCAM_STORAGE_URL": settings.storage_url,
        "WARDCAM_DETECTOR_MODEL": settings.detector_model,
        **extra,
    }


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def served_api(
    env: dict[str, str], log: Path, *args: str
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`wardcam serve` on a free loopback port; yields (port, process); stops it after."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: healthy(port) or proc.poll() is not None, 90, "the API to start")
        if proc.poll() is not None:
            pytest.fail("the API did not start: " + log.read_text()[-3000:])
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
