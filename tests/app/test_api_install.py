"""An API-only install (without `wardcam[detect]`) starts, serves and queues indexing work.

The API process runs with torch, torchvision, ultralytics, OpenVINO and onnxruntime made
unimportable (as in an install from requirements-api.lock), behind Celery as it is deployed
at scale: it must take an upload, queue its indexing job for the workers, and answer a search,
without ever trying to import the detector stack.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import redis

from tests.conftest import FOOTAGE
from tests.helpers import process_env, served_api

DETECTOR_STACK = ("torch", "torchvision", "ultralytics", "openvino", "onnxruntime")
BROKER = "redis://127.0.0.1:6379/14"

SITECUSTOMIZE = f"""
import importlib.abc
import os
import sys

BLOCKED = {DETECTOR_STACK!r}
LOG = os.environ["WARDCAM_TEST_BLOCK_LOG"]


class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            with open(LOG, "a") as out:
                out.write(name + "\\n")
            raise ModuleNotFoundError(f"No module named {{name!r}} (API-only install)")
        return None


sys.meta_path.insert(0, _NotInstalled())
"""


def test_api_serves_without_the_detector_stack(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(SITECUSTOMIZE)
    attempts = tmp_path / "attempts.log"
    attempts.touch()
    env = process_env(
        settings,
        WARDCAM_BROKER_URL=BROKER,
        WARDCAM_TEST_BLOCK_LOG=str(attempts),
        PYTHONPATH=os.pathsep.join(p for p in (str(block), os.environ.get("PYTHONPATH")) if p),
    )
    boot = subprocess.run(
        [sys.executable, "-m", "app", "admin", "bootstrap"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert boot.returncode == 0, boot.stderr
    found = re.search(r"API key \(shown once, store it now\): (\S+)", boot.stdout)
    assert found, boot.stdout
    admin = {"Authorization": f"Bearer {found.group(1)}"}
    redis.Redis.from_url(BROKER).flushdb()
    try:
        with served_api(env, tmp_path / "server.log") as (port, _):
            api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
            keys = {}
            for org, kind, user, role in (
                ("Phường 1", "ward", "ward1", "ward"),
                ("Công an phường 1", "police", "officer1", "officer"),
            ):
                r = api.post("/orgs", json={"name": org, "kind": kind}, headers=admin)
                assert r.status_code == 201, r.text
                r = api.post(
                    "/users",
                    json={"username": user, "role": role, "org_id": r.json()["id"]},
                    headers=admin,
                )
                assert r.status_code == 201, r.text
                keys[role] = {"Authorization": f"Bearer {r.json()['api_key']}"}
            r = api.post(
                "/cameras",
                json={
                    "name": "Ngã tư",
                    "latitude": 10.7769,
                    "longitude": 106.7009,
                    "timezone": "Asia/Ho_Chi_Minh",
                },
                headers=keys["ward"],
            )
            assert r.status_code == 201, r.text
            cam = r.json()["id"]
            r = api.post(
                f"/cameras/{cam}/footage",
                content=(FOOTAGE / "street_crossing_day.mp4").read_bytes(),
                params={"start": "2024-05-01T10:00:00+07:00"},
                headers=keys["ward"],
            )
            assert r.status_code == 201, r.text
            assert r.json()["job"]["state"] == "pending"  # queued for the workers
            r = api.get(
                "/events",
                params={
                    "from": "2024-05-01T09:00:00+07:00",
                    "to": "2024-05-01T11:00:00+07:00",
                    "purpose": "checking an API-only install",
                },
                headers=keys["officer"],
            )
            assert r.status_code == 200, r.text
            assert r.json()["items"] == []  # nothing indexed: no worker runs here
        queued = redis.Redis.from_url(BROKER).llen("wardcam")
        assert queued == 1, "the upload's indexing job was not sent to the Celery queue"
    finally:
        redis.Redis.from_url(BROKER).flushdb()
    assert attempts.read_text() == "", "the API tried to import: " + attempts.read_text()


def test_locks_keep_the_detector_stack_out_of_the_api_install() -> None:
    root = Path(__file__).resolve().parents[2]

    def pinned(lock: str) -> set[str]:
        text = (root / lock).read_text()
        return set(re.findall(r"^([A-Za-z0-9._-]+)==", text, re.M))

    api, full = pinned("requirements-api.lock"), pinned("requirements.lock")
    assert not api & set(DETECTOR_STACK), api & set(DETECTOR_STACK)
    assert set(DETECTOR_STACK) <= full
    assert [n for n in full if n.startswith("opencv")] == ["opencv-python"]  # one OpenCV build
    assert api <= full <= pinned("requirements-dev.lock")
