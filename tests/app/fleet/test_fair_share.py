"""The processes of `wardcam recorders --processes N` split the cameras evenly: a supervisor
claims a stream newly free only up to a fair share of the wanted streams, and a stream still
free a poll later (a sibling without room, a dead worker's) up to its capacity; and a stored
segment renews its stream's lease."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.app.fleet.media import recorded_segment
from tests.conftest import FOOTAGE, World


class _FakeRecorder:
    """Stands for a CameraRecorder: this test is about who claims what, not recording."""

    alive = True

    def __init__(self) -> None:
        import threading

        self.stop_event = threading.Event()


def _supervisor(ctx: Any, worker: str, capacity: int, pool: int) -> Any:
    from app.fleet.supervisor import Supervisor, _Running

    sup = Supervisor(ctx, capacity, worker=worker, pool=pool)

    def start(w: Any) -> None:  # claimed: held, as a running recorder would be
        sup.running[w.row_id] = _Running(w, _FakeRecorder())  # type: ignore[arg-type]

    sup._start = start  # type: ignore[method-assign]
    return sup


def _holders(ctx: Any) -> Counter[str | None]:
    with ctx.engine.connect() as c:
        return Counter(w for (w,) in c.execute(text("SELECT worker FROM camera_stream")))


@pytest.mark.parametrize(
    ("capacity", "held", "wanted", "pool", "limits"),
    [
        (100, 0, 160, 1, (100, 100)),  # alone: the room left
        (100, 0, 160, 2, (100, 80)),  # two processes: half of the new ones
        (100, 70, 160, 2, (30, 10)),
        (100, 90, 160, 2, (10, 0)),  # over its share already: only streams left over
        (100, 100, 160, 2, (0, 0)),
        (64, 0, 201, 3, (64, 64)),  # the share is above the capacity
    ],
)
def test_claim_limits(
    capacity: int, held: int, wanted: int, pool: int, limits: tuple[int, int]
) -> None:
    from app.fleet.supervisor import claim_limits

    assert claim_limits(capacity, held, wanted, pool) == limits


def test_two_processes_split_evenly_and_still_take_over(world: World) -> None:
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    for i in range(10):
        world.camera(name=f"cam {i}", stream_url=f"rtsp://10.0.0.{i + 1}/main")
    a = _supervisor(ctx, "A", capacity=8, pool=2)
    b = _supervisor(ctx, "B", capacity=8, pool=2)
    try:
        a.tick()  # the first to poll no longer takes 8 of 10
        assert len(a.running) == 5
        b.tick()
        assert len(b.running) == 5
        assert _holders(ctx) == {"A": 5, "B": 5}
        a.tick()  # nothing free: nothing changes
        assert len(a.running) == 5
        # B dies: once its leases run out, A takes its streams as soon as it sees them free
        # (they were not new: fairness must not slow a take-over), up to its capacity.
        b.engine.dispose()
        with ctx.engine.begin() as c:
            c.execute(
                text("UPDATE camera_stream SET lease_until = :t WHERE worker = 'B'"),
                {"t": "2000-01-01 00:00:00"},
            )
        a.tick()
        assert len(a.running) == 8
        assert _holders(ctx) == {"A": 8, "B": 2}
        # Two cameras more, while A is full: a new supervisor (B restarted) takes what is
        # left over, its share and no more than what is free.
        world.camera(name="cam 10", stream_url="rtsp://10.0.0.11/main")
        b2 = _supervisor(ctx, "B2", capacity=8, pool=2)
        try:
            b2.tick()
            assert len(b2.running) == 3  # 2 left by B, 1 new
        finally:
            b2.engine.dispose()
    finally:
        a.engine.dispose()


def test_a_new_stream_no_sibling_takes_is_claimed_a_poll_later(world: World) -> None:
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    for i in range(4):
        world.camera(name=f"cam {i}", stream_url=f"rtsp://10.0.0.{i + 1}/main")
    a = _supervisor(ctx, "A", capacity=4, pool=2)  # its sibling never polls (starting)
    try:
        a.tick()
        assert len(a.running) == 2  # its share of the new streams
        a.tick()
        assert len(a.running) == 4  # still free a poll later: claimed up to its capacity
    finally:
        a.engine.dispose()


def test_a_stored_segment_renews_the_lease(world: World, tmp_path: Path) -> None:
    """A store can wait long on the audit chain's lock holding its stream's row, and the
    poll's renewal waits behind it: the store itself renews the lease."""
    from datetime import UTC, datetime, timedelta

    import app.fleet.supervisor as supervisor_module

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    world.camera(name="cam", stream_url="rtsp://10.0.0.1/main")
    captured: dict[str, Any] = {}

    class Recorder(_FakeRecorder):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__()
            captured.update(kwargs)
            self.name = kwargs["name"]

        def start(self) -> Recorder:
            return self

    sup = supervisor_module.Supervisor(ctx, 4, worker="A")
    real = supervisor_module.CameraRecorder
    supervisor_module.CameraRecorder = Recorder  # type: ignore[misc,assignment]
    try:
        sup.tick()
        assert len(sup.running) == 1
        with ctx.engine.begin() as c:  # the lease is about to run out
            c.execute(text("UPDATE camera_stream SET lease_until = :t"), {"t": "2000-01-01"})
        start = datetime.now(UTC) - timedelta(minutes=5)
        clip = FOOTAGE / "intersection_cctv_day.mp4"
        captured["on_segment"](recorded_segment(clip, tmp_path / "seg.mp4", start, 30.0))
    finally:
        supervisor_module.CameraRecorder = real  # type: ignore[misc]
        sup.engine.dispose()
    with ctx.engine.connect() as c:
        ((until, segments),) = c.execute(text("SELECT lease_until, segments FROM camera_stream"))
        stored = c.execute(text("SELECT count(*) FROM segment WHERE source = 'record'")).scalar()
    assert stored == 1 and segments == 1
    until = until if isinstance(until, datetime) else datetime.fromisoformat(until)
    assert until.replace(tzinfo=None) > datetime.now(UTC).replace(tzinfo=None)
