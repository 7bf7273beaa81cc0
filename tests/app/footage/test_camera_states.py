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
from sqlalchemy import Engine, event
from sqlmodel import Session

from app.cameras.models import Camera, CameraStatus, SharingPolicy
from app.db import make_engine, run_migrations
from app.footage import service
from app.footage.models import Segment, SegmentSource, SegmentStatus, SegmentStream
from app.identity.models import Organisation, OrgKind

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
                  stream=kw.get("stream", SegmentStream.main)))


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

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    with Session(engine) as s:
        cameras = [cam for cid in every if (cam := s.get(Camera, cid)) is not None]
        event.listen(engine, "before_cursor_execute", count)
        try:
            states = service.camera_states(s, cameras, now=NOW)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 2, statements  # the latest footage, and the covered stretches
    for cid in every:
        got = [(g.start, g.end) for g in states[cid].gaps]
        assert got == _walked(kept[cid]), cid
    assert [(g.start, g.end) for g in states[ids["d"]].gaps] == [(DAY_AGO, NOW)]
    assert states[ids["c"]].gaps == [] and states[ids["c"]].gap_seconds == 0
    assert states[ids["b"]].gap_seconds == 23.5 * 3600
    assert len(states[ids["a"]].gaps) == 4
    assert len(states[every[5]].gaps) == 8
