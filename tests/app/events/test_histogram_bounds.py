"""Histogram buckets follow the search rule `[from, to)` exactly (issue 15 item 8): an event
that starts on a bucket's first microsecond is in that bucket, never in the one before, on
SQLite and on PostgreSQL, for any bucket size and any `from` (to the microsecond)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import FOOTAGE, World

PURPOSE = "histogram boundary check"


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_an_event_starting_on_a_boundary_is_in_that_bucket(world: World) -> None:
    from app.jobs.pool import InProcessPool

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera()
    r = world.client.post(
        f"/cameras/{cam['id']}/footage",
        content=(FOOTAGE / "street_crossing_day.mp4").read_bytes(),
        params={"start": "2024-05-01T10:00:00.123456Z"},
        headers=world.h("ward_a"),
    )
    assert r.status_code == 201, r.text
    InProcessPool(ctx, 0).run_until_idle()
    officer = world.h("officer")
    r = world.client.get(
        "/events",
        params={
            "from": "2024-05-01T09:00:00Z",
            "to": "2024-05-01T11:00:00Z",
            "purpose": PURPOSE,
            "limit": 500,
        },
        headers=officer,
    )
    assert r.status_code == 200, r.text
    starts = sorted({datetime.fromisoformat(e["start"]) for e in r.json()["items"]})
    assert len(starts) >= 3, starts  # the clip has cars, a bus, motorbikes and people
    checked = 0
    for start in starts:
        for bucket, size in (
            ("1m", timedelta(minutes=1)),
            ("7m", timedelta(minutes=7)),
            ("15m", timedelta(minutes=15)),
            ("1h", timedelta(hours=1)),
        ):
            for nudge in (timedelta(0), timedelta(microseconds=1)):
                # The window starts a whole number of buckets before this event: it must be
                # counted in bucket 3 exactly as search counts it (by start, in [from, to)); a
                # window a microsecond later has it in bucket 2, on its last microsecond.
                lo = start - 3 * size + nudge
                hi = start + 2 * size
                h = world.client.get(
                    "/events/histogram",
                    params={"from": _z(lo), "to": _z(hi), "bucket": bucket, "purpose": PURPOSE},
                    headers=officer,
                )
                assert h.status_code == 200, h.text
                got = h.json()["cameras"][0]["counts"]
                want = [0] * 5
                for s in starts_all(r.json()["items"]):
                    if lo <= s < hi:
                        want[(s - lo) // size] += 1
                assert got == want, (bucket, _z(lo), got, want)
                assert (got[3] if not nudge else got[2]) >= 1
                checked += 1
    assert checked == 8 * len(starts)


def starts_all(items: list[dict]) -> list[datetime]:  # type: ignore[type-arg]
    return [datetime.fromisoformat(e["start"]) for e in items]
