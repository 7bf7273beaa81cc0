"""Recorded segments of many recorders stored together (`app.footage.store_queue`): one
transaction, one lock of the audit chain's head, and a segment dropped in a batch (fenced
out, or stored already) takes none of the others with it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from tests.app.fleet.media import recorded_segment
from tests.conftest import FOOTAGE, World


def _recorded(tmp_path: Path, name: str, clip: str, start: datetime) -> Any:
    return recorded_segment(FOOTAGE / clip, tmp_path / f"{name}.mp4", start)


@pytest.mark.parametrize("conflict", [False, True])
def test_segments_waiting_together_are_stored_in_one_transaction(
    world: World, tmp_path: Path, conflict: bool
) -> None:
    """Five segments wait while the first is stored, and are stored together. With one of
    them stored already (`conflict`: the same camera and start as another), the batch fails
    and each is stored alone: the same outcome, one transaction a segment."""
    from app.audit.service import verify_chain
    from app.footage.store_queue import StoreQueue

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cams = [world.camera(name=f"cam {i}")["id"] for i in range(4)]
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    with ctx.engine.connect() as c:
        audit_before = c.execute(text("SELECT max(seq) FROM audit_entry")).scalar()

    holding, release = threading.Event(), threading.Event()

    def hold(session: Session) -> bool:  # keeps the storing thread in its first batch
        holding.set()
        return release.wait(30)

    jobs: list[tuple[str, int, Any, dict[str, Any]]] = [
        ("first", cams[0], _recorded(tmp_path, "first", "intersection_cctv_day.mp4", t0), {}),
        ("a", cams[1], _recorded(tmp_path, "a", "intersection_cctv_day.mp4", t0), {}),
        ("b", cams[2], _recorded(tmp_path, "b", "motorcycles_cctv_day.mp4", t0), {}),
        (
            "late",
            cams[1],
            _recorded(tmp_path, "late", "street_crossing_day.mp4", t0 + timedelta(seconds=10)),
            {},
        ),
        # the same camera and start as "a", other bytes: one of the two is dropped
        ("again", cams[1], _recorded(tmp_path, "again", "motorcycles_cctv_day.mp4", t0), {}),
        # a recorder whose lease is gone
        (
            "fenced",
            cams[3],
            _recorded(tmp_path, "fenced", "intersection_cctv_day.mp4", t0),
            {"fence": lambda s: False},
        ),
    ]
    if not conflict:
        jobs = [j for j in jobs if j[0] != "again"]
    results: dict[str, Any] = {}
    queue = StoreQueue(ctx, threads=1).start()

    def store(name: str, camera_id: int, rec: Any, kw: dict[str, Any]) -> None:
        results[name] = queue.store(camera_id, rec, **kw)

    first = threading.Thread(
        target=store, args=(jobs[0][0], jobs[0][1], jobs[0][2], {"fence": hold})
    )
    first.start()
    assert holding.wait(30)
    rest = [threading.Thread(target=store, args=job) for job in jobs[1:]]
    for t in rest:
        t.start()
        time.sleep(0.05)  # in this order: "a" is queued before "again"
    deadline = time.monotonic() + 30
    while queue._queue.qsize() < len(rest) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queue._queue.qsize() == len(rest)
    release.set()
    for t in [first, *rest]:
        t.join(60)
    queue.close()

    if conflict:  # the first alone; the five behind it failed together, then stored alone
        assert (queue.batches, queue.stored) == (1, 1)
    else:  # the first alone, the four that waited behind it together
        assert (queue.batches, queue.stored) == (2, 4)
    stored = {name for name, seg in results.items() if seg is not None}
    assert stored == {"first", "a", "b", "late"}, results
    assert results.get("again") is None and results["fenced"] is None
    assert not any(rec.path.exists() for _, _, rec, _ in jobs)  # stored or dropped: no leftovers

    with ctx.engine.connect() as c:
        rows = c.execute(
            text("SELECT camera_id, sha256 FROM segment WHERE source = 'record' ORDER BY id")
        ).all()
        entries = c.execute(
            text(
                "SELECT seq, target_id FROM audit_entry WHERE action = 'footage.record' "
                "AND seq > :s ORDER BY seq"
            ),
            {"s": audit_before},
        ).all()
        jobs_made = c.execute(
            text("SELECT count(*) FROM job WHERE kind = 'index_segment'")
        ).scalar()
    # a batch is stored by camera and stream (the order the lease renewal locks their rows
    # in: `app.fleet.repository.LOCK_ORDER`), whatever order its segments came in
    order = ["first", *sorted(("a", "b", "late"), key=lambda n: (
        results[n].camera_id, results[n].stream.value
    ))]
    assert [(r.camera_id, r.sha256) for r in rows] == [
        (results[n].camera_id, results[n].sha256) for n in order
    ]
    # one audit entry per stored segment, consecutive in the chain, and the chain whole
    assert [e.target_id for e in entries] == [str(results[n].id) for n in order]
    assert [e.seq for e in entries] == list(range(entries[0].seq, entries[0].seq + 4))
    assert jobs_made == 4
    with Session(ctx.engine) as session:
        report = verify_chain(session)
    assert report.ok, report


def test_a_batch_that_fails_is_stored_one_by_one(world: World, tmp_path: Path) -> None:
    """A transaction that fails as a whole loses nothing: each segment is tried alone."""
    from app.footage.store_queue import StoreQueue

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera(name="cam")["id"]
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    queue = StoreQueue(ctx, threads=1)
    calls: list[int] = []

    def flaky(session: Session) -> bool:  # a fence that fails the first time: in the batch
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away for a moment")
        return True

    from app.footage import recording
    from app.footage.models import SegmentStream
    from app.footage.store_queue import _Item

    recs = [
        (_recorded(tmp_path, "x", "intersection_cctv_day.mp4", t0), flaky),
        (_recorded(tmp_path, "y", "motorcycles_cctv_day.mp4", t0 + timedelta(seconds=10)), None),
    ]
    batch = [
        _Item(cam, rec, recording.facts(cam, rec), SegmentStream.main, fence) for rec, fence in recs
    ]
    queue._store(batch)
    assert all(it.done.is_set() and it.error is None and it.segment is not None for it in batch)
    assert len(calls) == 2  # once in the failed batch, once alone
    with ctx.engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM segment WHERE source = 'record'")).scalar()
    assert n == 2


def test_several_storing_threads_store_every_segment_once(world: World, tmp_path: Path) -> None:
    """Twelve recorders storing at once through three threads: each segment stored once,
    with its audit entry, and the chain never forks."""
    from app.audit.service import verify_chain
    from app.footage.store_queue import StoreQueue

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cams = [world.camera(name=f"cam {i}")["id"] for i in range(12)]
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    recs = [
        _recorded(tmp_path, f"r{i}", "intersection_cctv_day.mp4", t0 + timedelta(seconds=10 * i))
        for i in range(12)
    ]
    queue = StoreQueue(ctx, threads=3).start()
    results: dict[int, Any] = {}
    go = threading.Barrier(12)

    def store(i: int) -> None:
        go.wait()
        results[i] = queue.store(cams[i], recs[i])

    threads = [threading.Thread(target=store, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    queue.close()
    assert all(results[i] is not None and results[i].camera_id == cams[i] for i in range(12))
    assert queue.stored == 12 and 1 <= queue.batches <= 12
    with ctx.engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM segment WHERE source = 'record'")).scalar()
        audited = c.execute(
            text("SELECT count(*) FROM audit_entry WHERE action = 'footage.record'")
        ).scalar()
    assert n == 12 and audited == 12
    with Session(ctx.engine) as session:
        assert verify_chain(session).ok
