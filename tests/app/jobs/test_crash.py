"""Crash safety with real processes: a worker killed mid-job, the API killed mid-upload, the
object store and the database going away while work is in flight."""

from __future__ import annotations

import contextlib
import random
import select as sel
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.app.storage.seaweed import start_seaweedfs
from tests.conftest import FOOTAGE, World, bootstrap_admin, ward_world
from tests.helpers import free_port, healthy, process_env, wait_for


@pytest.mark.slow
def test_worker_killed_mid_job_20_times_loses_and_duplicates_nothing(  # type: ignore[no-untyped-def]
    world: World, settings, tmp_path: Path
) -> None:
    from sqlalchemy import text

    from app.jobs.pool import InProcessPool

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera()
    clip = (FOOTAGE / "driveway_ir_night.mp4").read_bytes()
    base = datetime(2024, 5, 1, tzinfo=UTC)
    segs = []
    for i in range(6):  # distinct bytes per segment: a trailing MP4 `free` box
        data = clip + (16).to_bytes(4, "big") + b"free" + i.to_bytes(8, "big")
        r = world.client.post(
            f"/cameras/{cam['id']}/footage",
            content=data,
            params={"start": (base + timedelta(minutes=i)).isoformat()},
            headers=world.h("ward_a"),
        )
        assert r.status_code == 201
        segs.append(r.json()["id"])
    env = process_env(settings, WARDCAM_JOB_LEASE_SECONDS="2", WARDCAM_JOB_MAX_ATTEMPTS="20")
    worker_tmp = tmp_path / "worker-tmp"  # where the workers copy footage to index it
    worker_tmp.mkdir()
    env["TMPDIR"] = str(worker_tmp)
    left_behind: list[int] = []  # copies left in the temp folder, seen after each kill

    def sql(q: str) -> list:  # type: ignore[type-arg]
        with ctx.engine.connect() as conn:
            rows = list(conn.execute(text(q)).all()) if q.startswith("SELECT") else []
            if not q.startswith("SELECT"):
                conn.execute(text(q))
                conn.commit()
            return rows

    log = (tmp_path / "worker.log").open("w")
    rng = random.Random(20)
    kills = 0
    deadline = time.monotonic() + 600
    while kills < 20 and time.monotonic() < deadline:
        if not sql("SELECT id FROM job WHERE state IN ('pending', 'running')"):
            # Everything got indexed between kills: queue it all again (a re-index must
            # replace events, never add to them) so the next worker has work to die in.
            sql("UPDATE job SET state = 'pending', run_after = created_at, lease_until = NULL")
        sql("UPDATE job SET run_after = created_at WHERE state = 'pending'")  # no backoff
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        started = time.monotonic()
        while time.monotonic() - started < 60:
            if proc.poll() is not None:
                log.close()
                pytest.fail("worker exited: " + (tmp_path / "worker.log").read_text()[-3000:])
            if sql(f"SELECT id FROM job WHERE state = 'running' AND worker LIKE '%:{proc.pid}:%'"):
                break
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.6))
        running = sql(
            f"SELECT id FROM job WHERE state = 'running' AND worker LIKE '%:{proc.pid}:%'"
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if running:
            kills += 1
        left_behind.append(len(list(worker_tmp.glob("wardcam-job-*"))))
    log.close()
    assert kills == 20, (tmp_path / "worker.log").read_text()[-3000:]
    # A killed worker cannot remove its copy of the footage; the next one to start does: at
    # most the last one's copies are there after each kill, never an accumulation.
    assert any(left_behind), left_behind  # some workers really died holding a copy
    assert max(left_behind) <= 1, left_behind
    from app.storage.download import remove_orphaned_copies

    assert remove_orphaned_copies(worker_tmp) == left_behind[-1]
    assert list(worker_tmp.iterdir()) == []
    time.sleep(2.5)  # the last killed worker's lease runs out
    sql("UPDATE job SET run_after = created_at")  # skip retry backoff
    InProcessPool(ctx, 0).run_until_idle()
    states = sql("SELECT state, attempts FROM job ORDER BY id")
    per_seg = dict(sql("SELECT segment_id, count(*) FROM event GROUP BY segment_id"))
    dupes = sql(
        "SELECT count(*) FROM (SELECT segment_id, track_id FROM event "
        "GROUP BY segment_id, track_id HAVING count(*) > 1) d"
    )[0][0]
    assert [s for s, _ in states] == ["done"] * 6, states
    assert any(a > 1 for _, a in states)  # some jobs really were interrupted and re-run
    # Same bytes, same model: every segment has exactly the events of a clean run.
    counts = {per_seg.get(s, 0) for s in segs}
    assert len(counts) == 1 and counts.pop() > 0, per_seg
    assert dupes == 0


@pytest.mark.slow
def test_api_killed_mid_upload_leaves_nothing(world: World, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cam = world.camera()
    data = (FOOTAGE / "intersection_cctv_day.mp4").read_bytes()

    def serve() -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port)],
            env=process_env(settings, WARDCAM_JOB_WORKERS="0"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: healthy(port), 60, "the API to start")
        return proc, port

    proc, port = serve()
    head = (
        f"POST /cameras/{cam['id']}/footage?start=2024-05-01T10:00:00Z HTTP/1.1\r\n"
        f"Host: x\r\nAuthorization: Bearer {world.keys['ward_a']}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(head + data[: len(data) * 2 // 3])
        wait_for(
            lambda: any((settings.data_dir / "spool").glob("upload-*")),
            10,
            "the upload to start spooling",
        )
        proc.send_signal(signal.SIGKILL)  # the API dies with the upload half in
        proc.wait()
    assert world.count("segment") == 0
    objects = Path(settings.storage_url.removeprefix("file://"))
    assert not list(objects.rglob("*.mp4"))
    proc, port = serve()  # restart: the dead process's partial spool is cleaned up
    try:
        assert not list((settings.data_dir / "spool").glob("upload-*"))
        r = httpx.post(
            f"http://127.0.0.1:{port}/cameras/{cam['id']}/footage",
            content=data,
            params={"start": "2024-05-01T10:00:00Z"},
            headers=world.h("ward_a"),
            timeout=60,
        )
        assert r.status_code == 201, r.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert world.count("segment") == 1 and len(list(objects.rglob("*.mp4"))) == 1


@pytest.mark.slow
def test_object_store_outage_gives_503_and_jobs_finish_after(  # type: ignore[no-untyped-def]
    settings, tmp_path: Path
) -> None:
    from app.jobs.runner import run_next
    from app.main import create_app

    server = start_seaweedfs(tmp_path / "s3")
    try:
        settings.storage_url = server.url_for("footage")
        with TestClient(create_app(settings)) as client:
            w = ward_world(client, settings)
            cam = w.camera("ward")
            clip = (FOOTAGE / "driveway_ir_night.mp4").read_bytes()
            r = client.post(
                f"/cameras/{cam['id']}/footage",
                content=clip,
                params={"start": "2024-05-01T10:00:00Z"},
                headers=w.h("ward"),
            )
            assert r.status_code == 201, r.text
            seg = r.json()
            server.stop()  # the S3 server goes away
            r = client.post(
                f"/cameras/{cam['id']}/footage",
                content=clip + b"\0" * 16,
                params={"start": "2024-05-01T11:00:00Z"},
                headers=w.h("ward"),
            )
            assert r.status_code == 503 and r.json()["code"] == "store_unavailable"
            assert client.get("/readyz").status_code == 503
            assert w.count("segment") == 1
            ctx = client.app.state.ctx  # type: ignore[attr-defined]
            assert run_next(ctx, "w1") is True  # the job fails: store down -> retry later
            job = client.get(f"/segments/{seg['id']}", headers=w.h("ward")).json()["job"]
            assert job["state"] == "pending" and job["attempts"] == 1 and job["error"]
            server.start()
            from sqlalchemy import text

            with ctx.engine.connect() as conn:
                conn.execute(text("UPDATE job SET run_after = created_at"))
                conn.commit()
            assert run_next(ctx, "w1") is True
            job = client.get(f"/segments/{seg['id']}", headers=w.h("ward")).json()["job"]
            assert job["state"] == "done" and job["attempts"] == 2
            assert client.get("/readyz").status_code == 200
    finally:
        server.close()


class _Proxy:
    """A loopback TCP proxy in front of PostgreSQL that can be cut, as a network or server
    outage would (the server itself keeps running for the other tests)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while self.up.is_set():
                ready, _, _ = sel.select([a, b], [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def cut(self) -> None:
        self.up.clear()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        self.conns.clear()

    def restore(self) -> None:
        self.up.set()


@pytest.fixture
def pg_proxy(settings) -> Iterator[_Proxy]:  # type: ignore[no-untyped-def]
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the database outage is simulated in front of PostgreSQL")
    proxy = _Proxy(("127.0.0.1", 5432))
    settings.database_url = settings.database_url.replace(
        "127.0.0.1:5432", f"127.0.0.1:{proxy.port}"
    )
    yield proxy
    proxy.sock.close()


@pytest.mark.slow
def test_database_outage_gives_503_then_recovers(settings, pg_proxy: _Proxy) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app

    with TestClient(create_app(settings)) as client:
        w = World(client)
        w.keys["admin"] = bootstrap_admin(settings)
        assert client.get("/users/me", headers=w.h("admin")).status_code == 200
        pg_proxy.cut()
        r = client.get("/users/me", headers=w.h("admin"))
        assert r.status_code == 503 and r.json()["code"] == "database_unavailable"
        assert client.get("/readyz").status_code == 503
        pg_proxy.restore()
        wait_for(
            lambda: client.get("/users/me", headers=w.h("admin")).status_code == 200,
            20,
            "the API to reach the database again",
        )
        r = client.post("/orgs", json={"name": "after", "kind": "ward"}, headers=w.h("admin"))
        assert r.status_code == 201
        assert client.get("/audit/verify", headers=w.h("admin")).json()["ok"]


@pytest.mark.slow
def test_a_killed_workers_job_is_taken_over_within_60_s(  # type: ignore[no-untyped-def]
    world: World, settings, tmp_path: Path
) -> None:
    """Issue 15 item 10: with the default lease (no WARDCAM_JOB_LEASE_SECONDS set), a worker
    process SIGKILLed mid-indexing leaves its job `running` only until its short lease runs
    out; another worker takes it over within 60 s and finishes it. The takeover time is
    measured and printed (run with -s to see it)."""
    from sqlalchemy import text

    from app.settings import Settings

    assert Settings.model_fields["job_lease_seconds"].default <= 30
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera()
    r = world.client.post(
        f"/cameras/{cam['id']}/footage",
        content=(FOOTAGE / "intersection_cctv_day.mp4").read_bytes(),  # 30 s: a long job
        params={"start": "2024-05-01T10:00:00Z"},
        headers=world.h("ward_a"),
    )
    assert r.status_code == 201, r.text
    seg = r.json()["id"]
    env = process_env(settings)
    env.pop("WARDCAM_JOB_LEASE_SECONDS", None)

    def job() -> tuple[str, str | None, int]:
        with ctx.engine.connect() as conn:
            row = conn.execute(
                text("SELECT state, worker, attempts FROM job WHERE segment_id = :s"), {"s": seg}
            ).one()
        return row[0], row[1], row[2]

    def start_worker(name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "app", "worker"], env=env, stdout=out, stderr=out
            )

    def log(name: str) -> str:
        return (tmp_path / f"{name}.log").read_text(errors="replace")[-3000:]

    first = start_worker("first")
    second: subprocess.Popen[bytes] | None = None
    try:
        # Mid-job: running under the first worker (claimed; it dies at once).
        def first_is_working() -> bool:
            assert first.poll() is None, log("first")
            state, worker, _ = job()
            return state == "running" and f":{first.pid}:" in (worker or "")

        wait_for(first_is_working, 120, "the first worker to start the job: " + log("first"))
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed = time.monotonic()
        second = start_worker("second")
        took_over: float | None = None
        while time.monotonic() - killed < 90:
            state, worker, attempts = job()
            if took_over is None and f":{second.pid}:" in (worker or ""):
                took_over = time.monotonic() - killed
            if state in ("done", "failed"):
                break
            assert second.poll() is None, log("second")
            time.sleep(0.2)
        done = time.monotonic() - killed
        print(f"\ntakeover {took_over} s after SIGKILL; job finished {done:.1f} s after it")
        assert took_over is not None and took_over <= 60, (took_over, job(), log("second"))
        state, worker, attempts = job()
        assert state == "done" and attempts == 2, (state, attempts, log("second"))
        assert f":{second.pid}:" in (worker or "")
        page = world.client.get(f"/segments/{seg}", headers=world.h("ward_a")).json()
        assert page["status"] == "indexed" and page["job"]["state"] == "done"
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def test_the_lease_is_renewed_while_a_handler_runs(world: World) -> None:
    """A handler busy for three leases without reporting progress keeps its job: the runner's
    heartbeat renews the lease every third of it, and another worker cannot claim the job."""
    from app.db import session_scope
    from app.jobs import repository
    from app.jobs.runner import heartbeat

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera()
    r = world.client.post(
        f"/cameras/{cam['id']}/footage",
        content=(FOOTAGE / "driveway_ir_night.mp4").read_bytes(),
        params={"start": "2024-05-01T10:00:00Z"},
        headers=world.h("ward_a"),
    )
    job_id = r.json()["job"]["id"]
    lease = timedelta(seconds=1.5)
    with session_scope(ctx.engine) as s:
        assert repository.claim(s, job_id, "busy-worker", lease) is not None
    with heartbeat(ctx, job_id, "busy-worker", lease):
        for _ in range(9):  # 4.5 s: three leases
            time.sleep(0.5)
            with session_scope(ctx.engine) as s:
                assert repository.claim(s, job_id, "thief", lease) is None
    time.sleep(2.0)  # no heartbeat any more: the lease runs out, as when a worker dies
    with session_scope(ctx.engine) as s:
        taken = repository.claim(s, job_id, "next-worker", lease)
    assert taken is not None and taken.worker == "next-worker" and taken.attempts == 2
