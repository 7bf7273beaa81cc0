"""The at-scale job path: Celery on a real Redis with a real `wardcam worker` process,
plus the job lease rules that keep jobs exactly-once when workers race or die."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from tests.conftest import CLIPS, FOOTAGE, World, bootstrap_admin
from tests.helpers import process_env, wait_for

REDIS = "redis://127.0.0.1:6379"


@pytest.fixture
def redis_db() -> Iterator[str]:
    db = random.randint(1, 15)
    r = redis.Redis.from_url(f"{REDIS}/{db}")
    r.ping()
    r.flushdb()
    yield f"{REDIS}/{db}"
    r.flushdb()


@pytest.mark.slow
def test_celery_worker_indexes_uploaded_segments(  # type: ignore[no-untyped-def]
    settings, redis_db: str, tmp_path: Path
) -> None:
    from app.main import create_app

    settings.broker_url = redis_db
    env = process_env(
        settings, WARDCAM_DATA_DIR=str(tmp_path / "worker"), WARDCAM_BROKER_URL=redis_db
    )
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "app", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        with TestClient(create_app(settings)) as client:
            w = World(client)
            w.keys["admin"] = bootstrap_admin(settings)
            org = client.post("/orgs", json={"name": "w", "kind": "ward"}, headers=w.h("admin"))
            user = client.post(
                "/users",
                json={"username": "ward", "role": "ward", "org_id": org.json()["id"]},
                headers=w.h("admin"),
            )
            w.keys["ward"] = user.json()["api_key"]
            cam = w.camera("ward")
            ids = []
            for i, clip in enumerate(CLIPS):
                r = client.post(
                    f"/cameras/{cam['id']}/footage",
                    content=clip.read_bytes(),
                    params={"start": f"2024-05-01T10:0{i}:00Z"},
                    headers=w.h("ward"),
                )
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])

            def all_done() -> bool:
                states = [client.get(f"/segments/{i}", headers=w.h("ward")).json() for i in ids]
                return all(s["job"]["state"] == "done" and s["status"] == "indexed" for s in states)

            wait_for(
                all_done,
                120,
                "the Celery worker to index 4 segments: "
                + (tmp_path / "worker.log").read_text()[-2000:],
            )
            assert w.count("job", "attempts = 1") == 4
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def test_two_workers_racing_for_one_job(world: World) -> None:
    """One claim wins; the other backs off with nothing done."""
    from app.db import session_scope
    from app.jobs import repository

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera()
    r = world.client.post(
        f"/cameras/{cam['id']}/footage",
        content=(FOOTAGE / "driveway_ir_night.mp4").read_bytes(),
        params={"start": "2024-05-01T10:00:00Z"},
        headers=world.h("ward_a"),
    )
    job_id = r.json()["job"]["id"]
    lease = timedelta(seconds=60)
    with session_scope(ctx.engine) as s:
        first = repository.claim(s, job_id, "worker-a", lease)
    with session_scope(ctx.engine) as s:
        second = repository.claim(s, job_id, "worker-b", lease)
    assert first is not None and first.worker == "worker-a" and first.attempts == 1
    assert second is None
    # worker-b cannot heartbeat or finish a job it does not hold.
    with session_scope(ctx.engine) as s:
        assert not repository.heartbeat(s, job_id, "worker-b", lease)
        assert repository.finish(s, job_id, "worker-b") is None


def test_a_dead_workers_job_is_picked_up_after_its_lease(world: World) -> None:
    from app.db import session_scope, utcnow
    from app.jobs import repository
    from app.jobs.models import Job
    from app.jobs.runner import run_next

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera()
    r = world.client.post(
        f"/cameras/{cam['id']}/footage",
        content=(FOOTAGE / "driveway_ir_night.mp4").read_bytes(),
        params={"start": "2024-05-01T10:00:00Z"},
        headers=world.h("ward_a"),
    )
    job_id = r.json()["job"]["id"]
    with session_scope(ctx.engine) as s:
        assert repository.claim(s, job_id, "dead-worker", timedelta(seconds=60)) is not None
    assert run_next(ctx, "live-worker") is False  # lease still valid: hands off
    with session_scope(ctx.engine) as s:
        job = s.get(Job, job_id)
        assert job is not None
        job.lease_until = utcnow() - timedelta(seconds=1)  # the dead worker's lease runs out
        s.add(job)
    assert run_next(ctx, "live-worker") is True
    seg = world.client.get(f"/segments/{r.json()['id']}", headers=world.h("ward_a")).json()
    assert seg["job"]["state"] == "done" and seg["job"]["attempts"] == 2
    assert seg["status"] == "indexed"
