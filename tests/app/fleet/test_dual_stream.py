"""Dual-stream cameras: the index of a recorded main segment is made from the detect
(sub-)stream segments that cover it, with boxes in the main frame's proportions and times on
the main segment's clock; it waits while the sub-stream is still being recorded and falls
back to the main segment when the sub-stream never comes. Real footage: the shared
intersection clip as the main stream, a 480-wide rendition of it (made here with PyAV, in
two parts like two recorded segments) as the sub-stream."""

from __future__ import annotations

import hashlib
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import FOOTAGE, World

MAIN = FOOTAGE / "intersection_cctv_day.mp4"  # 640x480, 30 fps, 909 frames
SPLIT = 450  # the sub-stream's first segment: frames [0, 450) = 15.0 s


@pytest.fixture(scope="module")
def sub_parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from tests.app.fleet.media import rendition

    d = tmp_path_factory.mktemp("sub")
    return [
        rendition(MAIN, d / "sub_a.mp4", 480, last=SPLIT),
        rendition(MAIN, d / "sub_b.mp4", 480, first=SPLIT),
    ]


def _store(ctx: Any, camera_id: int, path: Path, start: datetime, stream: str) -> Any:
    from app.cameras import repository as cameras
    from app.footage.models import SegmentSource, SegmentStream
    from app.footage.service import store_segment
    from ingest.hashing import Spooled
    from ingest.probe import probe

    data = path.read_bytes()
    spooled = Spooled(path, hashlib.sha256(data).hexdigest(), len(data))
    with ctx.transaction() as session:
        cam = cameras.get(session, camera_id)
        seg, job, _ = store_segment(
            session,
            ctx.store,
            None,
            cam,
            spooled,
            probe(path),
            start_raw=start,
            start_source="stream",
            source=SegmentSource.record,
            camera_clock=False,
            stream=SegmentStream(stream),
        )
        return seg.id, seg.end, (job.id if job else None)


def _job(world: World, job_id: int) -> tuple[str, int, str | None]:
    engine = world.client.app.state.ctx.engine  # type: ignore[attr-defined]
    with engine.connect() as c:
        row = c.execute(
            text("SELECT state, attempts, error FROM job WHERE id = :i"), {"i": job_id}
        ).one()
    return row[0], row[1], row[2]


def _make_due(world: World, job_id: int) -> None:
    engine = world.client.app.state.ctx.engine  # type: ignore[attr-defined]
    with engine.begin() as c:
        c.execute(
            text("UPDATE job SET run_after = :t WHERE id = :i"),
            {"t": datetime(2000, 1, 1), "i": job_id},
        )


def _events(world: World, segment_id: int) -> list[Any]:
    engine = world.client.app.state.ctx.engine  # type: ignore[attr-defined]
    with engine.connect() as c:
        return list(
            c.execute(
                text(
                    "SELECT label, start, box_x1, box_y1, box_x2, box_y2 FROM event "
                    "WHERE segment_id = :s ORDER BY start"
                ),
                {"s": segment_id},
            ).all()
        )


def _utc(t: Any) -> datetime:
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_detect_stream_indexes_the_main_segment(world: World, sub_parts: list[Path]) -> None:
    from app.jobs.pool import InProcessPool
    from detectors import PipelineConfig, run_pipeline

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera(
        stream_url="rtsp://cam.example:554/main", detect_stream_url="rtsp://cam.example:554/sub"
    )
    assert cam["has_detect_stream"]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=40)
    main_id, main_end, job_id = _store(ctx, cam["id"], MAIN, start, "main")
    pool = InProcessPool(ctx, 0)

    # The sub-stream is not stored yet: the job waits, its attempt not counted.
    assert pool.run_until_idle() == 1
    state, attempts, error = _job(world, job_id)
    assert state == "pending" and attempts == 0 and "detect stream" in (error or "")

    _a_id, a_end, a_job = _store(ctx, cam["id"], sub_parts[0], start, "detect")
    _store(ctx, cam["id"], sub_parts[1], a_end, "detect")
    assert a_job is None  # detect segments have no index job of their own
    _make_due(world, job_id)
    assert pool.run_until_idle() == 1
    assert _job(world, job_id)[0] == "done"
    dual = _events(world, main_id)
    assert len(dual) >= 5
    times = [(_utc(e[1]) - start).total_seconds() for e in dual]
    assert all(0 <= t < (main_end - start).total_seconds() for t in times)
    assert any(t < 15 for t in times) and any(t >= 15 for t in times)  # both parts, in place
    # Coverage lists footage only: the main segment, not the sub-stream's.
    r = world.client.get(
        f"/cameras/{cam['id']}/footage",
        params={"from": start.isoformat(), "to": (start + timedelta(minutes=2)).isoformat()},
        headers=world.h("ward_a"),
    )
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()["segments"]] == [main_id]
    assert r.json()["segments"][0]["stream"] == "main"

    # The same detector on the main file itself: boxes fall where the dual-stream ones do
    # (the detect boxes were scaled to the main frame, not left in sub-stream pixels).
    base = run_pipeline(MAIN, ctx.detectors.get(), PipelineConfig()).events
    assert base

    def centre(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float]:
        return (
            statistics.mean((b[0] + b[2]) / 2 for b in boxes),
            statistics.mean((b[1] + b[3]) / 2 for b in boxes),
        )

    base_boxes = [
        (
            e.box[0] / e.frame_width,
            e.box[1] / e.frame_height,
            e.box[2] / e.frame_width,
            e.box[3] / e.frame_height,
        )
        for e in base
    ]
    dual_boxes = [(e[2], e[3], e[4], e[5]) for e in dual]
    (bx, by), (dx, dy) = centre(base_boxes), centre(dual_boxes)
    assert abs(bx - dx) < 0.1 and abs(by - dy) < 0.1, ((bx, by), (dx, dy))
    assert max(b[2] for b in dual_boxes) > 0.6  # would be <= 0.75 * ... if unscaled
    assert max(b[2] for b in dual_boxes) == pytest.approx(max(b[2] for b in base_boxes), abs=0.1)
    base_labels = {e.label for e in base}
    assert {e[0] for e in dual} <= base_labels | {"person", "car", "motorcycle", "bicycle"}
    common = [lbl for lbl in base_labels if sum(e.label == lbl for e in base) >= 3]
    assert all(any(e[0] == lbl for e in dual) for lbl in common), (common, dual)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_without_the_detect_stream_the_main_segment_is_indexed(world: World) -> None:
    from app.jobs.pool import InProcessPool

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera(
        stream_url="rtsp://cam.example:554/main", detect_stream_url="rtsp://cam.example:554/sub"
    )
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    main_id, _end, job_id = _store(
        ctx, cam["id"], FOOTAGE / "street_crossing_day.mp4", start, "main"
    )
    assert InProcessPool(ctx, 0).run_until_idle() == 1  # waited long enough: no postponing
    assert _job(world, job_id)[0] == "done"
    assert len(_events(world, main_id)) >= 1


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_main_segment_cut_elsewhere_needs_only_its_part_of_the_detect_stream(
    world: World, sub_parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two streams are cut at different moments: a main segment covering 10-25 s of the
    clip takes 5-15 s of the first detect segment (its last 5 s, plus a warm-up) and 0-10 s
    of the second. The job decodes those parts only, and keeps what lies within it: what
    was in the picture before the segment's start and still is, from its start (the cars
    waiting at the intersection), as the main segment's own index would."""
    from app.jobs.pool import InProcessPool
    from detectors import run_pipeline
    from tests.app.fleet.media import rendition

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera(
        stream_url="rtsp://cam.example:554/main", detect_stream_url="rtsp://cam.example:554/sub"
    )
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60)
    main_part = rendition(MAIN, tmp_path / "main_10_25.mp4", 640, first=300, last=750)
    a_id, a_end, _ = _store(ctx, cam["id"], sub_parts[0], start, "detect")
    _store(ctx, cam["id"], sub_parts[1], a_end, "detect")
    main_id, main_end, job_id = _store(
        ctx, cam["id"], main_part, start + timedelta(seconds=10), "main"
    )

    detector = ctx.detectors.get()
    decoded: list[int] = []
    real = run_pipeline

    def counting(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        decoded.append(result.decode.packets_decoded)
        return result

    monkeypatch.setattr("app.events.jobs.run_pipeline", counting)  # the real one, counted
    assert InProcessPool(ctx, 0).run_until_idle() == 1
    assert _job(world, job_id)[0] == "done"
    # the first detect segment from 5 s (a 2 s GOP boundary) to its end at 15 s, the second
    # from its start to 11.5 s (1.5 s past the main segment's end) and less than a GOP more:
    # 20-22 s of 30 fps at most, not their 30.3 s (measured: 241 + 280 frames decoded
    # against 326 + 358 for the whole files)
    assert len(decoded) == 2 and 10 * 30 <= sum(decoded) <= 22 * 30, decoded
    alone = [real(p, detector) for p in sub_parts]  # each detect segment indexed whole
    whole = [r.decode.packets_decoded for r in alone]
    assert sum(decoded) < 0.8 * sum(whole), (decoded, whole)

    dual = _events(world, main_id)
    assert dual
    length = (main_end - (start + timedelta(seconds=10))).total_seconds()
    times = [(_utc(e[1]) - start).total_seconds() - 10 for e in dual]
    assert all(0 <= t < length for t in times), times
    assert any(t < 5 for t in times) and any(t >= 5 for t in times)  # both parts, in place
    # What the first detect segment on its own tracks from before 9 s to after 11 s (the
    # main segment's start at 10 s) is on the main segment from its start.
    across = {e.label for e in alone[0].events if e.start_s < 9.0 and e.end_s > 11.0}
    at_start = {e[0] for e, t in zip(dual, times, strict=True) if t < 0.5}
    assert across and across <= at_start, (across, at_start, dual)
    del a_id
