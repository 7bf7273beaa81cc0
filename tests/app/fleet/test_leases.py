"""The lease on a camera stream: one holder at a time, taken over only once it ran out, the
fence refuses a worker that lost it, and only active cameras with a URL are wanted."""

from __future__ import annotations

from datetime import timedelta

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
