"""The lease on a camera stream: one holder at a time, taken over only once it ran out, the
fence refuses a worker that lost it, and only active cameras with a URL are wanted."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import World

LEASE = timedelta(seconds=30)


def test_one_holder_takeover_and_fence(world: World) -> None:
    from app.fleet import repository as fleet

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera(stream_url="rtsp://10.0.0.5/main", detect_stream_url="rtsp://10.0.0.5/s")
    world.camera()  # no stream: nothing to record
    with ctx.transaction() as s:
        fleet.sync(s)
        fleet.sync(s)  # idempotent
        want = fleet.wanted(s)
    assert sorted((w.camera_id, w.stream) for w in want.values()) == [
        (cam["id"], "detect"),
        (cam["id"], "main"),
    ]
    ids = list(want)
    with ctx.transaction() as s:
        won_a = fleet.claim(s, "A", LEASE, 1, ids)
    assert len(won_a) == 1 and won_a[0][1] is False  # capacity 1: one stream
    with ctx.transaction() as s:
        won_b = fleet.claim(s, "B", LEASE, 10, ids)
    assert [r for r, _ in won_b] == [i for i in ids if i != won_a[0][0]]  # only the free one
    row = won_a[0][0]
    with ctx.transaction() as s:
        assert fleet.claim(s, "B", LEASE, 10, [row]) == []  # A holds it
        assert fleet.renew(s, "A", [row], LEASE) == {row}
        assert fleet.count_segment(s, "A", row)
    # A stalls: its lease runs out; B takes the stream over; A's renewal and fence fail.
    with ctx.engine.begin() as c:
        c.execute(
            text("UPDATE camera_stream SET lease_until = :t WHERE id = :i"),
            {"t": "2000-01-01 00:00:00", "i": row},
        )
    with ctx.transaction() as s:
        assert fleet.claim(s, "B", LEASE, 10, [row]) == [(row, True)]
    with ctx.transaction() as s:
        assert fleet.renew(s, "A", [row], LEASE) == set()
        assert not fleet.count_segment(s, "A", row)
        assert fleet.count_segment(s, "B", row)
        fleet.release(s, "A", row)  # not A's any more: no effect
        assert fleet.count_segment(s, "B", row)
    # Maintenance: not wanted any more.
    r = world.client.patch(
        f"/cameras/{cam['id']}", json={"status": "maintenance"}, headers=world.h("ward_a")
    )
    assert r.status_code == 200
    with ctx.transaction() as s:
        assert fleet.wanted(s) == {}


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_renewal_and_a_store_batch_lock_the_streams_in_one_order(world: World) -> None:
    """A store-queue transaction holds the rows of the streams whose segments it stores
    (the fence) until it commits, taking them by camera; the lease renewal of all of a
    worker's streams must take them in that order too, or each waits for the other (a
    deadlock, seen with 30 cameras recorded and indexed on one node). Here the later
    camera's row lies first in the table, where a plain UPDATE of both found it first."""
    from app.fleet import repository as fleet

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cams = [world.camera(stream_url=f"rtsp://10.0.0.{i}/main")["id"] for i in (1, 2)]
    with ctx.transaction() as s:
        fleet.sync(s)
        rows = {w.camera_id: r for r, w in fleet.wanted(s).items()}
        assert len(fleet.claim(s, "A", LEASE, 10, list(rows.values()))) == 2
    first, second = rows[cams[0]], rows[cams[1]]
    with ctx.transaction() as s:  # a new version of the first camera's row: now last
        assert fleet.count_segment(s, "A", first)
    with ctx.engine.connect() as c:
        order = [r for (r,) in c.execute(text("SELECT id FROM camera_stream ORDER BY ctid"))]
    assert order.index(second) < order.index(first)

    renewed: list[set[int]] = []
    with ctx.transaction() as batch:
        batch.execute(text("SET LOCAL lock_timeout = '5s'"))
        assert fleet.count_segment(batch, "A", first)  # the batch's first segment
        renewal = threading.Thread(
            target=lambda: renewed.append(_renew(ctx, [first, second])), daemon=True
        )
        renewal.start()
        time.sleep(1.0)  # the renewal waits for the first row, holding no other
        assert renewal.is_alive()
        assert fleet.count_segment(batch, "A", second)  # not held by the renewal
    renewal.join(10)
    assert renewed == [{first, second}]


def _renew(ctx: Any, ids: list[int]) -> set[int]:
    from app.fleet import repository as fleet

    with ctx.transaction() as s:
        return fleet.renew(s, "A", ids, LEASE)
