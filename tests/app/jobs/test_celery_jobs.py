"""The at-scale job path: Celery on a real Redis with a real `wardcam worker` process,
plus the job lease rules that keep jobs exactly-once when workers race or die."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from tests.conftest import CLIPS, FOOTAGE, World, ward_world
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
            w = ward_world(client, settings)
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


@pytest.mark.slow
def test_beat_makes_the_celery_workers_sweep_retention(  # type: ignore[no-untyped-def]
    settings, redis_db: str, tmp_path: Path
) -> None:
    """At scale nothing else keeps time: `wardcam beat` beside a `wardcam worker` deletes
    footage past its camera's retention, audited, with no API process involved."""
    from datetime import UTC, datetime

    from app.main import create_app

    settings.broker_url = redis_db
    with TestClient(create_app(settings)) as client:
        w = ward_world(client, settings)
        cam = w.camera("ward", retention_days=7, clock_offset_s=0)
        old = datetime.now(UTC) - timedelta(days=10)
        r = client.post(
            f"/cameras/{cam['id']}/footage",
            content=(FOOTAGE / "driveway_ir_night.mp4").read_bytes(),
            params={"start": old.isoformat()},
            headers=w.h("ward"),
        )
        assert r.status_code == 201, r.text
        seg_id = r.json()["id"]
        assert client.get(f"/segments/{seg_id}", headers=w.h("ward")).json()["status"] != "deleted"
    env = process_env(
        settings,
        WARDCAM_BROKER_URL=redis_db,
        WARDCAM_RETENTION_INTERVAL_S="10",
        WARDCAM_RECORD_CAPACITY="0",
    )
    procs = []
    logs = []
    try:
        for role in ("worker", "beat"):
            log = (tmp_path / f"{role}.log").open("w")
            logs.append(log)
            role_env = {**env, "WARDCAM_DATA_DIR": str(tmp_path / role)}
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app", role],
                    env=role_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        with TestClient(create_app(settings)) as client:
            w2 = World(client)
            w2.keys = w.keys

            def deleted() -> bool:
                seg = client.get(f"/segments/{seg_id}", headers=w2.h("ward")).json()
                return bool(seg["status"] == "deleted")

            wait_for(
                deleted,
                90,
                "beat to send a retention sweep: "
                + (tmp_path / "beat.log").read_text()[-1500:]
                + (tmp_path / "worker.log").read_text()[-1500:],
            )
            assert w2.count("audit_entry", "action = 'retention.delete'") == 1
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()


def test_beat_needs_a_broker(settings) -> None:  # type: ignore[no-untyped-def]
    env = process_env(settings, WARDCAM_BROKER_URL="")
    out = subprocess.run(
        [sys.executable, "-m", "app", "beat"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2
    assert "WARDCAM_BROKER_URL" in out.stderr


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


def _queued(r: redis.Redis, queue: str = "wardcam") -> int:
    """Messages waiting in the broker for the wardcam queue (Celery's Redis transport keeps
    one list per queue and priority step, named after the queue)."""
    keys = [k for k in r.keys(f"{queue}*") if not k.startswith(b"_kombu")]
    return sum(int(r.llen(k)) for k in keys if r.type(k) == b"list")


@pytest.mark.slow
def test_the_sweeper_sends_each_waiting_job_once(  # type: ignore[no-untyped-def]
    settings, redis_db: str, tmp_path: Path
) -> None:
    """Issue 15 item 17: the sweeper in every Celery worker re-sent every due job every 5 s,
    so jobs waiting in a backlog were queued again and again. A real worker whose sweeper
    runs but which consumes another queue (so the jobs stay waiting in the broker) must add
    nothing in three sweeps; a consuming worker then runs each job once."""
    from app.jobs.celery_app import SWEEP_INTERVAL_S
    from app.main import create_app

    settings.broker_url = redis_db
    broker = redis.Redis.from_url(redis_db)
    env = process_env(
        settings, WARDCAM_DATA_DIR=str(tmp_path / "worker"), WARDCAM_BROKER_URL=redis_db
    )
    with TestClient(create_app(settings)) as client:
        w = ward_world(client, settings)
        cam = w.camera("ward")
        ids = []
        for i, clip in enumerate(CLIPS[:3]):
            r = client.post(
                f"/cameras/{cam['id']}/footage",
                content=clip.read_bytes(),
                params={"start": f"2024-05-01T10:0{i}:00Z"},
                headers=w.h("ward"),
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        assert _queued(broker) == 3  # one message per job, sent after each commit

        log_path = tmp_path / "sweeper.log"
        with log_path.open("w") as log:
            sweeper = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "app.jobs.celery_app", "worker",
                 "-Q", "elsewhere", "--pool", "solo", "--loglevel", "INFO"],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_for(lambda: "ready" in log_path.read_text(), 60, "the sweeping worker")
            time.sleep(3 * SWEEP_INTERVAL_S + 1)  # three sweeps
            assert sweeper.poll() is None, log_path.read_text()[-2000:]
            assert _queued(broker) == 3, (
                f"{_queued(broker)} messages for 3 waiting jobs after 3 sweeps"
            )
        finally:
            sweeper.send_signal(signal.SIGTERM)
            try:
                sweeper.wait(timeout=30)
            except subprocess.TimeoutExpired:
                sweeper.kill()

        with (tmp_path / "worker.log").open("w") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "app", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:

            def all_done() -> bool:
                states = [client.get(f"/segments/{i}", headers=w.h("ward")).json() for i in ids]
                return all(s["job"]["state"] == "done" for s in states)

            wait_for(all_done, 180, "the worker: " + (tmp_path / "worker.log").read_text()[-2000:])
            assert w.count("job", "attempts = 1") == 3
            wait_for(lambda: _queued(broker) == 0, 30, "the queue to drain")
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()


def test_a_due_job_is_announced_once_until_the_visibility_timeout(world: World) -> None:
    """The sweeper's choice, on both databases: a retry that came due or an expired lease is
    announced once; a job announced recently is not announced again; one announced longer
    ago than the broker's visibility timeout is (its message may be lost)."""
    from sqlalchemy import update

    from app.db import session_scope, utcnow
    from app.jobs import repository
    from app.jobs.models import Job

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera()
    r = world.client.post(
        f"/cameras/{cam['id']}/footage",
        content=(FOOTAGE / "driveway_ir_night.mp4").read_bytes(),
        params={"start": "2024-05-01T10:00:00Z"},
        headers=world.h("ward_a"),
    )
    job_id = r.json()["job"]["id"]
    resend = timedelta(seconds=90)

    def announce() -> list[int]:
        with session_scope(ctx.engine) as s:
            return repository.to_announce(s, resend)

    def set_job(**values: object) -> None:
        with session_scope(ctx.engine) as s:
            s.execute(update(Job).where(Job.id == job_id).values(**values))  # type: ignore[arg-type]

    assert announce() == []  # announced when its upload committed
    assert announce() == []
    now = utcnow()
    # A retry came due after its last message: announced once.
    set_job(run_after=now - timedelta(seconds=1), announced_at=now - timedelta(seconds=30))
    assert announce() == [job_id] and announce() == []
    # Its worker died: the lease expired after the last message: announced once.
    with session_scope(ctx.engine) as s:
        assert repository.claim(s, job_id, "dead", timedelta(seconds=60)) is not None
    expired = utcnow() - timedelta(seconds=1)
    set_job(lease_until=expired, announced_at=expired - timedelta(seconds=60))
    assert announce() == [job_id] and announce() == []
    # Announced longer ago than the visibility timeout: sent again, once.
    set_job(announced_at=utcnow() - resend - timedelta(seconds=1))
    assert announce() == [job_id] and announce() == []
