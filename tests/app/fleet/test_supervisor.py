"""The recording supervisor with real worker processes and a real RTSP server (gst-rtsp-server
on loopback, Basic auth): every active camera recorded by exactly one worker, a SIGKILLed
worker's cameras taken over within one lease, cameras put in maintenance stopped and cameras
added started within a poll, both streams of a dual-stream camera recorded, health reported,
and no segment stored twice."""

from __future__ import annotations

import collections
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text

from tests.conftest import FOOTAGE, TEST_SECRET, World
from tests.servers.rtsp import Listener, Mount, RtspServer

LEASE_S = 6.0
POLL_S = 1.0
SEGMENT_S = 5
INTERSECTION = FOOTAGE / "intersection_cctv_day.mp4"  # 640x480, 30 fps
MOTO = FOOTAGE / "motorcycles_cctv_day.mp4"  # 640x360, 30 fps


@pytest.fixture(scope="module")
def sub_stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.app.fleet.media import rendition

    return rendition(INTERSECTION, tmp_path_factory.mktemp("sub") / "sub.mp4", 320, last=300)


@pytest.fixture
def rtsp(sub_stream: Path, tmp_path: Path) -> Iterator[RtspServer]:
    mounts = [
        Mount("/Streaming/Channels/101", str(INTERSECTION)),  # hikvision channel 1 main
        Mount("/Streaming/Channels/102", str(sub_stream)),  # ... and its sub-stream
        Mount("/moto", str(MOTO)),
        Mount("/cam3", str(MOTO)),
    ]
    with RtspServer(mounts, [Listener("basic", auth="basic")], workdir=tmp_path / "rtsp") as srv:
        yield srv


def _recorder_env(settings: Any) -> dict[str, str]:
    """The environment of a `wardcam recorders` process of this test's world (short lease,
    poll and segments)."""
    return {
        **os.environ,
        "WARDCAM_DATABASE_URL": settings.database_url,
        "WARDCAM_SECRET_KEY": TEST_SECRET,
        "WARDCAM_DATA_DIR": str(settings.data_dir),
        "WARDCAM_STORAGE_URL": settings.storage_url,
        "WARDCAM_RECORD_LEASE_S": str(LEASE_S),
        "WARDCAM_RECORD_POLL_S": str(POLL_S),
        "WARDCAM_SEGMENT_SECONDS": str(SEGMENT_S),
        "WARDCAM_LOG_FORMAT": "text",
    }


def _worker(settings: Any, log: Path, capacity: int = 8) -> subprocess.Popen[bytes]:
    env = _recorder_env(settings)
    return subprocess.Popen(
        [sys.executable, "-m", "app", "recorders", "--capacity", str(capacity)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def _rows(world: World, sql: str, **params: Any) -> list[Any]:
    engine = world.client.app.state.ctx.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def _leases(world: World) -> dict[tuple[int, str], tuple[str | None, str]]:
    rows = _rows(world, "SELECT camera_id, stream, worker, state FROM camera_stream")
    return {(c, s): (w, st) for c, s, w, st in rows}


def _wait(
    what: str,
    check: Callable[[], Any],
    timeout: float,
    logs: list[Path],
    server: RtspServer | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.25)
    tails = "\n".join(p.read_text(errors="replace")[-3000:] for p in logs if p.exists())
    state = f"\n{server.describe()}" if server is not None else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}{state}")


def _segments(world: World, camera_id: int | None = None) -> list[Any]:
    sql = "SELECT camera_id, stream, start, \"end\", sha256 FROM segment WHERE source = 'record'"
    rows = _rows(
        world, sql + (" AND camera_id = :c" if camera_id else "") + " ORDER BY start", c=camera_id
    )
    return [(c, s, _utc(a), _utc(e), h) for c, s, a, e, h in rows]


def _utc(t: Any) -> datetime:
    if isinstance(t, str):  # SQLite
        t = datetime.fromisoformat(t)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_fleet_recorded_by_one_worker_each_and_taken_over(
    world: World, settings: Any, rtsp: RtspServer, tmp_path: Path
) -> None:
    pw = rtsp.password
    # Camera 1: built from vendor + channel, main and sub-stream, Basic auth.
    port = rtsp.ports["basic"]
    cam1 = world.camera(
        source={
            "vendor": "hikvision",
            "host": "127.0.0.1",
            "port": port,
            "channel": 1,
            "user": rtsp.user,
            "password": pw,
        }
    )
    assert cam1["has_stream"] and cam1["has_detect_stream"] and cam1["vendor"] == "hikvision"
    assert pw not in str(cam1) and quote(pw, safe="") not in str(cam1)
    cam2 = world.camera(stream_url=rtsp.url("basic", "/moto"))
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    a = _worker(settings, logs[0])
    b: subprocess.Popen[bytes] | None = None
    try:
        streams = {(cam1["id"], "main"), (cam1["id"], "detect"), (cam2["id"], "main")}

        def held_by_a() -> str | None:
            ls = _leases(world)
            owners = {ls.get(k, (None, ""))[0] for k in streams}
            return owners.pop() if len(owners) == 1 and None not in owners else None

        worker_a = _wait("worker A to lease every stream", held_by_a, 60, logs, rtsp)

        def recorded(cams: set[tuple[int, str]], since: datetime | None = None) -> bool:
            got = {
                (c, s)
                for c, s, start, _e, _h in _segments(world)
                if since is None or start >= since
            }
            return cams <= got

        _wait("a segment of every stream", lambda: recorded(streams), 60, logs, rtsp)
        b = _worker(settings, logs[1])
        time.sleep(3 * POLL_S)  # B is up and polling: it must take nothing A holds
        assert all(w == worker_a for w, _ in (_leases(world)[k] for k in streams))

        # SIGKILL A: B takes every stream over within one lease (+ a poll).
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        killed = datetime.now(UTC)
        t0 = time.monotonic()

        def taken_over() -> bool:
            ls = _leases(world)
            return all(ls[k][0] not in (None, worker_a) for k in streams)

        _wait("worker B to take over", taken_over, LEASE_S + 3 * POLL_S + 10, logs, rtsp)
        takeover_s = time.monotonic() - t0
        assert takeover_s <= LEASE_S + 2 * POLL_S + 2, takeover_s
        _wait("B's segments of every stream", lambda: recorded(streams, killed), 60, logs, rtsp)
        takeovers = _rows(world, "SELECT sum(takeovers) FROM camera_stream")[0][0]
        assert takeovers >= 3

        # Camera 2 into maintenance: B stops it within a poll; a new camera starts.
        r = world.client.patch(
            f"/cameras/{cam2['id']}", json={"status": "maintenance"}, headers=world.h("ward_a")
        )
        assert r.status_code == 200, r.text
        t1 = time.monotonic()
        _wait(
            "camera 2 to stop",
            lambda: _leases(world)[(cam2["id"], "main")] == (None, "stopped"),
            30,
            logs,
            rtsp,
        )
        assert time.monotonic() - t1 <= 30
        stopped_at = datetime.now(UTC)
        cam3 = world.camera(stream_url=rtsp.url("basic", "/cam3"))
        t2 = time.monotonic()
        _wait("camera 3 to record", lambda: recorded({(cam3["id"], "main")}), 60, logs, rtsp)
        assert time.monotonic() - t2 <= 30 + SEGMENT_S + 5  # started within a poll

        # Health: recording, both streams measured, on the camera list for its owner.
        h = world.client.get(f"/cameras/{cam1['id']}/health", headers=world.h("ward_a"))
        assert h.status_code == 200, h.text
        health = h.json()
        assert health["state"] == "recording" and health["offline_since"] is None
        by = {s["stream"]: s for s in health["streams"]}
        assert set(by) == {"main", "detect"}
        assert by["main"]["measured"]["width"] == 640 and by["main"]["measured"]["height"] == 480
        assert by["detect"]["measured"]["width"] == 320
        assert by["main"]["measured"]["codec"] == "h264"
        assert by["main"]["declared_fps"] == pytest.approx(30, abs=0.1)
        assert by["main"]["measured"]["fps"] == pytest.approx(30, abs=3)
        assert by["main"]["fps_ok"] is True and by["main"]["measured"]["bitrate_bps"] > 100_000
        assert by["main"]["takeovers"] >= 1
        assert health["gaps_24h"]["gaps"] >= 1  # the takeover left a hole
        assert 0 < health["gaps_24h"]["longest_gap_s"] < LEASE_S + 4 * POLL_S + SEGMENT_S + 5
        assert health["index"]["backlog"] >= 1  # nothing indexes in this test
        assert pw not in h.text
        h2 = world.client.get(f"/cameras/{cam2['id']}/health", headers=world.h("ward_a"))
        assert h2.json()["state"] == "inactive"
        listed = world.client.get("/cameras", headers=world.h("ward_a")).json()["items"]
        states = {c["id"]: c["health"]["state"] for c in listed}
        assert states[cam1["id"]] == "recording" and states[cam2["id"]] == "inactive"
        police = world.client.get("/cameras", headers=world.h("officer")).json()["items"]
        assert all(c["health"] is None for c in police)
        assert (
            world.client.get(f"/cameras/{cam1['id']}/health", headers=world.h("ward_b")).status_code
            == 403
        )

        # Prometheus: per camera stream, and the index backlog per camera.
        m = world.client.get("/metrics").text
        assert f'wardcam_camera_up{{camera_id="{cam1["id"]}",stream="main"}} 1.0' in m
        assert f'wardcam_camera_up{{camera_id="{cam1["id"]}",stream="detect"}} 1.0' in m
        assert f'wardcam_camera_up{{camera_id="{cam2["id"]}",stream="main"}} 0.0' in m
        assert re.search(rf'wardcam_camera_index_backlog{{camera_id="{cam1["id"]}"}} [1-9]', m)
        assert re.search(
            rf'wardcam_camera_fps{{camera_id="{cam1["id"]}",stream="main"}} (2[7-9]|3[0-3])\.', m
        )
        assert f'wardcam_camera_index_lag_seconds{{camera_id="{cam1["id"]}"}}' in m

        # SIGTERM B: open segments are stored, leases released.
        b.send_signal(signal.SIGTERM)
        assert b.wait(60) == 0
        ls = _leases(world)
        assert all(ls[k][0] is None for k in ls)
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)

    # No segment stored twice, no overlap within a stream, nothing after maintenance began.
    segs = _segments(world)
    keys = [(c, s, start) for c, s, start, _e, _h in segs]
    assert len(keys) == len(set(keys))
    assert len({h for *_, h in segs}) == len(segs)
    for (c, s), group in itertools.groupby(
        sorted(segs, key=lambda r: (r[0], r[1], r[2])), key=lambda r: (r[0], r[1])
    ):
        spans = [(r[2], r[3]) for r in group]
        for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
            assert s2 >= e1 - timedelta(seconds=0.05), (c, s, e1, s2)
    # Each segment is counted in the transaction that stores it (issue 13: one commit per
    # segment), so the streams' counts are what is stored, even after a SIGKILL.
    counted = {
        (c, s): n
        for c, s, n in _rows(world, "SELECT camera_id, stream, segments FROM camera_stream")
        if n
    }
    assert counted == dict(collections.Counter((c, s) for c, s, *_ in segs))
    late = [r for r in segs if r[0] == cam2["id"] and r[2] > stopped_at]
    assert late == []
    text_logs = "".join(p.read_text(errors="replace") for p in logs)
    assert pw not in text_logs and quote(pw, safe="") not in text_logs
    assert not any((settings.data_dir / "recording").rglob("*.mp4"))


def _supervisors(log: Path) -> list[str]:
    """The worker identities announced in a log (`host:pid:token`), in order."""
    return re.findall(r"^recording supervisor (\S+):", log.read_text(errors="replace"), re.M)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_recorders_in_several_processes(
    world: World, settings: Any, rtsp: RtspServer, tmp_path: Path
) -> None:
    """`wardcam recorders --processes 2`: two workers share the cameras (the capacity split),
    a SIGKILLed child is started again as a new worker and its streams are recorded again,
    SIGTERM stops all of them cleanly (exit 0, leases released), and children whose parent
    was SIGKILLed stop by themselves."""
    cams = [world.camera(stream_url=rtsp.url("basic", p))["id"] for p in ("/moto", "/cam3")]
    cams.append(world.camera(stream_url=rtsp.url("basic", "/Streaming/Channels/101"))["id"])
    streams = {(c, "main") for c in cams}
    log = tmp_path / "pool.log"
    env = _recorder_env(settings)

    def pool() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "recorders", "--capacity", "4", "--processes", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("ab"),
        )

    def holders() -> set[str | None]:
        ls = _leases(world)
        return {ls.get(k, (None, ""))[0] for k in streams}

    def recorded_since(since: datetime) -> bool:
        got = {(c, s) for c, s, start, _e, _h in _segments(world) if start >= since}
        return streams <= got

    parent = pool()
    try:
        _wait("two supervisors", lambda: len(_supervisors(log)) == 2, 60, [log], rtsp)
        first = _supervisors(log)
        assert "2 processes, up to 2+2 streams" in log.read_text()
        # Three streams, two streams at most each: both workers record.
        _wait("both workers to lease", lambda: holders() == set(first), 60, [log], rtsp)
        _wait(
            "a segment of every stream",
            lambda: recorded_since(datetime.min.replace(tzinfo=UTC)),
            60,
            [log],
            rtsp,
        )

        # SIGKILL one child: the parent starts another (a new worker), the streams are
        # recorded again once the dead one's lease runs out.
        victim = first[0]
        os.kill(int(victim.split(":")[1]), signal.SIGKILL)
        killed = datetime.now(UTC)
        _wait("a new supervisor", lambda: len(_supervisors(log)) == 3, 30, [log], rtsp)
        assert "exited with status -9; restarting it" in log.read_text()
        _wait(
            "the streams taken over",
            lambda: victim not in holders() and None not in holders(),
            LEASE_S + 3 * POLL_S + 10,
            [log],
            rtsp,
        )
        _wait("segments after the kill", lambda: recorded_since(killed), 60, [log], rtsp)
        assert parent.poll() is None

        # SIGTERM: every child stores its open segment and releases; the parent exits 0.
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(60) == 0
        assert holders() == {None}
        for w in _supervisors(log):
            pid = int(w.split(":")[1])
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)

        # A SIGKILLed parent: its children notice and stop (releasing their leases).
        parent = pool()
        _wait("two more supervisors", lambda: len(_supervisors(log)) == 5, 60, [log], rtsp)
        _wait("streams leased again", lambda: None not in holders(), 60, [log], rtsp)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        _wait("the orphans to stop", lambda: holders() == {None}, 60, [log], rtsp)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
    keys = [(c, s, start) for c, s, start, _e, _h in _segments(world)]
    assert len(keys) == len(set(keys))
