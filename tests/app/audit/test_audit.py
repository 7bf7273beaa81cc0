"""The audit chain: verifiable, tamper-evident, and never forked by concurrent writers."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import TEST_SECRET, World
from tests.helpers import process_env, served_api


def _sql(world: World, sql: str) -> None:
    engine = world.client.app.state.ctx.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(text(sql))


def _verify(world: World) -> dict:
    r = world.client.get("/audit/verify", headers=world.h("auditor"))
    assert r.status_code == 200, r.text
    return r.json()


def _cli_verify(settings) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "WARDCAM_DATABASE_URL": settings.database_url,
        "WARDCAM_SECRET_KEY": TEST_SECRET,
        "WARDCAM_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "app", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _populate(world: World) -> None:
    for i in range(4):
        world.camera(name=f"cam {i}")


def test_intact_chain_verifies(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    _populate(world)
    status = _verify(world)
    assert status["ok"] is True and status["entries"] == status["head_seq"] >= 14
    out = _cli_verify(settings)
    assert out.returncode == 0, out.stderr
    assert "intact" in out.stdout


@pytest.mark.parametrize(
    ("tamper", "broken_seq"),
    [
        (["UPDATE audit_entry SET purpose = 'nothing to see' WHERE seq = 5"], 5),
        (["UPDATE audit_entry SET details = '{}' WHERE seq = 7"], 7),
        (["UPDATE audit_entry SET actor_user_id = 4242 WHERE seq = 8"], 8),
        (
            [
                "DELETE FROM audit_camera WHERE audit_id = "
                "(SELECT id FROM audit_entry WHERE seq = 6)",
                "DELETE FROM audit_entry WHERE seq = 6",
            ],
            7,
        ),
        (
            [
                "UPDATE audit_entry SET seq = -seq WHERE seq IN (8, 9)",
                "UPDATE audit_entry SET seq = 17 + seq WHERE seq IN (-8, -9)",
            ],
            9,
        ),
        (
            [
                "DELETE FROM audit_camera WHERE audit_id = (SELECT max(id) FROM audit_entry)",
                "DELETE FROM audit_entry WHERE id = (SELECT max(id) FROM audit_entry)",
            ],
            None,
        ),
    ],
    ids=["edit-purpose", "edit-details", "edit-actor", "delete-middle", "reorder", "delete-last"],
)
def test_tampering_is_detected(  # type: ignore[no-untyped-def]
    world: World, settings, tamper: list[str], broken_seq: int | None
) -> None:
    _populate(world)
    head = _verify(world)["head_seq"]
    for stmt in tamper:
        _sql(world, stmt)
    status = _verify(world)
    assert status["ok"] is False
    assert status["first_broken_seq"] == (broken_seq if broken_seq is not None else head)
    assert status["reason"]
    out = _cli_verify(settings)
    assert out.returncode == 1
    assert "BROKEN" in out.stderr and f"entry {status['first_broken_seq']}" in out.stderr


@pytest.mark.slow
def test_parallel_writers_never_fork_the_chain(  # type: ignore[no-untyped-def]
    world: World, settings, tmp_path: Path
) -> None:
    """Two server processes, each with a thread pool, register cameras at once."""
    env = process_env(settings, WARDCAM_DATA_DIR=str(tmp_path / "srv"))
    with served_api(env, tmp_path / "server.log", "--workers", "2") as (port, _):
        base = f"http://127.0.0.1:{port}"
        before = _verify(world)["head_seq"]

        def register(i: int) -> int:
            who = "ward_a" if i % 2 else "ward_b"
            r = httpx.post(
                f"{base}/cameras",
                headers=world.h(who),
                timeout=60,
                json={
                    "name": f"parallel {i}",
                    "latitude": 27.7,
                    "longitude": 85.3,
                    "timezone": "Asia/Kathmandu",
                },
            )
            return r.status_code

        def denied(i: int) -> int:
            return httpx.post(
                f"{base}/orgs",
                headers=world.h("officer"),
                timeout=60,
                json={"name": f"x{i}", "kind": "ward"},
            ).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            codes = list(pool.map(register, range(40))) + list(pool.map(denied, range(20)))
        assert codes == [201] * 40 + [403] * 20
    status = _verify(world)
    assert status["ok"] is True, status
    assert status["head_seq"] == before + 60
    assert world.count("audit_entry") == status["entries"]
