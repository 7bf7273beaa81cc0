"""A ward's camera states (its console's first page): the gaps of the last day, on both
databases, computed by the database in one statement for all cameras.

A ward of 190 cameras recording one-minute segments holds 270 000 segments a day; loading
each camera's to find its gaps made the page take 11-14 s (measured on the demo's data with
that many added), and the gaps must come out as the segment-by-segment walk found them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.cameras.models import Camera, CameraStatus, SharingPolicy
from app.db import make_engine, run_migrations
from app.footage import repository, service
from app.footage.models import Segment, SegmentSource, SegmentStatus, SegmentStream
from app.identity.models import Organisation, OrgKind
from tests.plans import plan, statements

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
DAY_AGO = NOW - timedelta(hours=24)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url, pool=False)
    run_migrations(eng)
    yield eng
    eng.dispose()


def _camera(s: Session, org: Organisation, name: str) -> Camera:
    cam = Camera(org_id=org.id or 0, name=name, latitude=10.77, longitude=106.70,
                 timezone="Asia/Ho_Chi_Minh", sharing_policy=SharingPolicy.owner_approval,
                 status=CameraStatus.active)
    s.add(cam)
    s.flush()
    return cam


def _segment(s: Session, cam: Camera, start: datetime, seconds: float, **kw: Any) -> None:
    n = s.info.setdefault("n", 0) + 1
    s.info["n"] = n
    s.add(Segment(camera_id=cam.id or 0, start=start, end=start + timedelta(seconds=seconds),
                  start_raw=start, start_source="stream", duration_s=seconds,
                  sha256=f"{n:064x}", size=1, object_key=f"f/{n}", container="mp4",
                  video_codec="h264", width=1, height=1, source=SegmentSource.upload,
                  status=kw.get("status", SegmentStatus.indexed),
                  stream=kw.get("stream", SegmentStream.main),
                  ingested_at=kw.get("ingested_at", start + timedelta(seconds=seconds))))


def _walked(segments: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The gaps as the segment-by-segment walk finds them (what the page showed before)."""
    gaps, cursor = [], DAY_AGO
    for start, end in sorted(segments):
        if start > cursor:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < NOW:
        gaps.append((cursor, NOW))
    return gaps


def test_gaps_of_a_day_for_every_camera_in_one_statement(engine: Engine) -> None:
    h = timedelta(hours=1)
    with Session(engine) as s:
        org = Organisation(name="Phường Sài Gòn", kind=OrgKind.ward)
        s.add(org)
        s.flush()
        cams = [_camera(s, org, f"cam {i}") for i in range(12)]
        a, b, c = cams[:3]
        kept: dict[int, list[tuple[datetime, datetime]]] = {cam.id or 0: [] for cam in cams}

        def seg(cam: Camera, start: datetime, seconds: float, **kw: Any) -> None:
            _segment(s, cam, start, seconds, **kw)
            if kw.get("status") is None and kw.get("stream") is None:
                kept[cam.id or 0].append((start, start + timedelta(seconds=seconds)))

        # a: begun before the window, one-minute segments touching, an hour's gap, overlaps,
        # one inside another, the last one ending before now
        seg(a, DAY_AGO - 30 * 60 * timedelta(seconds=1), 3600)
        for m in range(60):
            seg(a, DAY_AGO + h + m * timedelta(minutes=1), 60)
        seg(a, DAY_AGO + 3 * h, 600)
        seg(a, DAY_AGO + 3 * h + timedelta(minutes=5), 600)
        seg(a, DAY_AGO + 3 * h + timedelta(minutes=6), 60)
        seg(a, DAY_AGO + 20 * h, 3 * 3600)
        # b: what does not count: a deleted segment, the detect stream, a segment of last week
        seg(b, DAY_AGO + 2 * h, 3600, status=SegmentStatus.deleted)
        seg(b, DAY_AGO + 4 * h, 3600, stream=SegmentStream.detect)
        _segment(s, b, DAY_AGO - 7 * 24 * h, 3600)
        seg(b, DAY_AGO + 5 * h, 1800)
        # c: covered all day by one long segment running past now; d: nothing at all
        seg(c, DAY_AGO - h, 26 * 3600)
        # the others: a day of one-minute segments with a gap every 200 minutes
        for cam in cams[4:]:
            for m in range(0, 24 * 60, 1):
                if m % 200 != 7:
                    seg(cam, DAY_AGO + timedelta(minutes=m), 60)
        s.commit()
        ids = {name: cam.id or 0 for name, cam in zip("abcd", cams, strict=False)}
        every = [cam.id or 0 for cam in cams]

    with Session(engine) as s:
        cameras = [found for cid in every if (found := s.get(Camera, cid)) is not None]
        with statements(engine) as seen:
            states = service.camera_states(s, cameras, now=NOW)
    assert len(seen) == 2, seen  # the latest footage, and the covered stretches
    # the stretches are read from the index alone (the table's rows lie scattered, as the
    # cameras' segments arrive interleaved)
    with engine.connect() as conn:
        stretches = plan(conn, *seen[1])
    if engine.dialect.name == "sqlite":
        assert "COVERING INDEX ix_segment_camera_span" in stretches, stretches
    assert "ix_segment_camera_span" in stretches, stretches
    for cid in every:
        got = [(g.start, g.end) for g in states[cid].gaps]
        assert got == _walked(kept[cid]), cid
    assert [(g.start, g.end) for g in states[ids["d"]].gaps] == [(DAY_AGO, NOW)]
    assert states[ids["c"]].gaps == [] and states[ids["c"]].gap_seconds == 0
    assert states[ids["b"]].gap_seconds == 23.5 * 3600
    assert len(states[ids["a"]].gaps) == 4
    assert len(states[every[5]].gaps) == 8


def test_latest_footage_arrival_and_backlog_read_from_their_indexes(engine: Engine) -> None:
    """What the page shows of each camera beside its gaps, as a reading of every segment
    gives it, from a statement that reads the top of the partial indexes (a month of
    one-minute segments is 43 000 a camera; grouping all of a ward's took 11 s)."""
    m = timedelta(minutes=1)
    rows: list[tuple[int, datetime, datetime, SegmentStatus, SegmentStream]] = []
    with Session(engine) as s:
        org = Organisation(name="Phường Bến Thành", kind=OrgKind.ward)
        s.add(org)
        s.flush()
        a, b, c, d = (_camera(s, org, f"cam {i}") for i in range(4))

        def seg(cam: Camera, start: datetime, seconds: float, **kw: Any) -> None:
            _segment(s, cam, start, seconds, **kw)
            got = kw.get("ingested_at", start + timedelta(seconds=seconds))
            rows.append((cam.id or 0, start + timedelta(seconds=seconds), got,
                         kw.get("status", SegmentStatus.indexed),
                         kw.get("stream", SegmentStream.main)))

        for n in range(300):  # a's recording, indexed, the last ten pending
            seg(a, DAY_AGO + n * m, 60,
                status=SegmentStatus.pending if n >= 290 else SegmentStatus.indexed)
        # an upload that began earlier and ends later, received before the recording's end
        seg(a, DAY_AGO + 100 * m, 6 * 3600, ingested_at=DAY_AGO + 50 * m)
        # an NVR export of last week, received last of all (when footage last arrived)
        seg(a, DAY_AGO - 7 * 24 * 60 * m, 3600, ingested_at=NOW - m,
            status=SegmentStatus.pending)
        # what is not footage: removed, or the detect stream, each later than the rest
        seg(a, NOW, 3600, status=SegmentStatus.deleted, ingested_at=NOW)
        seg(a, NOW, 3600, stream=SegmentStream.detect, ingested_at=NOW,
            status=SegmentStatus.pending)
        for n in range(50):  # b: every segment removed by retention
            seg(b, DAY_AGO + n * m, 60, status=SegmentStatus.deleted)
        seg(c, DAY_AGO, 60, status=SegmentStatus.failed)  # c: one, failed to index; d: none
        s.commit()
        ids = [cam.id or 0 for cam in (a, b, c, d)]

    def expected(cid: int) -> tuple[datetime | None, datetime | None, int]:
        mine = [r for r in rows if r[0] == cid and r[4] == SegmentStream.main
                and r[3] != SegmentStatus.deleted]
        return (max((r[1] for r in mine), default=None), max((r[2] for r in mine), default=None),
                sum(r[3] == SegmentStatus.pending for r in mine))

    with Session(engine) as s:
        with statements(engine) as seen:
            got = repository.latest_and_backlog(s, ids)
        assert len(seen) == 1
        for cid in ids:
            assert got.get(cid, (None, None, 0)) == expected(cid), cid
        assert got[ids[0]] == (DAY_AGO + 100 * m + timedelta(hours=6), NOW - m, 11)
        assert got.get(ids[1], (None, None, 0)) == (None, None, 0)
        read = plan(s.connection(), *seen[0])
    for index in ("ix_segment_footage_end", "ix_segment_footage_ingested",
                  "ix_segment_footage_pending"):
        assert index in read, read
    assert "SCAN segment" not in read and "Seq Scan on segment" not in read, read
