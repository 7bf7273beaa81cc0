"""The search queries use the search indexes on both databases: no full scan of `event`.

A few tens of thousands of synthetic events (so that the planners have a real choice), then
the exact statements the repository runs (captured from the connection) are explained.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from app.auth.principal import Principal
from app.cameras.models import Camera, CameraStatus, SharingPolicy
from app.db import make_engine, run_migrations
from app.events import repository as repo
from app.footage.models import Segment, SegmentSource, SegmentStatus
from app.identity.models import Organisation, OrgKind, Role
from detectors import LABELS

T0 = datetime(2024, 5, 1, tzinfo=UTC)
DAYS = 10
CAMS = 60
EVENTS = 30_000
SEARCH_INDEXES = {"ix_event_camera_start", "ix_event_start", "ix_event_label_camera_start"}
PK = "primary key"  # the page's rows are fetched by id
OFFICER = Principal(user_id=1, username="officer", role=Role.officer, org_id=None)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("plans") / "wardcam.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_templates").fresh()
    eng = make_engine(url, pool=False)
    run_migrations(eng)
    rnd = random.Random(7)
    with Session(eng) as s:
        org = Organisation(name="ward 1", kind=OrgKind.ward)
        s.add(org)
        s.flush()
        cams = [
            Camera(
                org_id=org.id or 0,
                name=f"cam {i}",
                latitude=27.70 + rnd.random() * 0.05,
                longitude=85.30 + rnd.random() * 0.05,
                timezone="Asia/Kathmandu",
                sharing_policy=SharingPolicy.auto,
                status=CameraStatus.active,
            )
            for i in range(CAMS)
        ]
        s.add_all(cams)
        s.flush()
        segs = {}
        for cam in cams:
            for d in range(DAYS):
                seg = Segment(
                    camera_id=cam.id or 0,
                    start=T0 + timedelta(days=d),
                    end=T0 + timedelta(days=d + 1),
                    start_raw=T0 + timedelta(days=d),
                    start_source="stream",
                    duration_s=86400,
                    sha256=f"{cam.id:032x}{d:032x}",
                    size=1,
                    object_key=f"f/{cam.id}/{d}",
                    container="mp4",
                    video_codec="h264",
                    width=1,
                    height=1,
                    source=SegmentSource.record,
                    status=SegmentStatus.indexed,
                )
                s.add(seg)
                segs[(cam.id, d)] = seg
        s.flush()
        rows = []
        for i in range(EVENTS):
            cam = rnd.choice(cams)
            start = T0 + timedelta(seconds=rnd.random() * DAYS * 86400 - 60)
            start = max(start, T0)
            day = int((start - T0) / timedelta(days=1))
            rows.append(
                {
                    "camera_id": cam.id,
                    "segment_id": segs[(cam.id, day)].id,
                    "track_id": i,
                    "label": rnd.choice(LABELS),
                    "color": rnd.choice(["white", "red", "black", None]),
                    "start": start,
                    "end": start + timedelta(seconds=rnd.random() * 30),
                    "best_at": start,
                    "confidence": rnd.random(),
                    "box_x1": 0.1,
                    "box_y1": 0.1,
                    "box_x2": 0.2,
                    "box_y2": 0.2,
                    "thumbnail_key": None,
                    "created_at": start,
                }
            )
        from app.events.models import Event

        s.execute(Event.__table__.insert(), rows)  # type: ignore[attr-defined]
        s.commit()
    with eng.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    yield eng
    eng.dispose()


def _captured(engine: Engine, run: Any, table: str = "event") -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if re.search(rf"FROM {table}\b(?!_)", statement) and not statement.lstrip().startswith(
            "EXPLAIN"
        ):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with Session(engine) as s:
            run(s)
            s.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert seen
    return seen


def _check_plan(engine: Engine, statement: str, params: Any) -> list[str]:
    """Returns the index names the plan reads `event` through; fails on a full scan."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            details = [str(r[-1]) for r in plan]
            used = [ix for ix in SEARCH_INDEXES if any(ix in d for d in details)]
            used += [PK for d in details if "USING INTEGER PRIMARY KEY" in d]
            scans = [d for d in details if re.match(r"SCAN event\b(?!_)", d) and "INDEX" not in d]
            assert not scans, details
            assert used, details
            return used
        raw = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar_one()
        plan = raw if isinstance(raw, list) else json.loads(raw)
        nodes: list[dict[str, Any]] = []

        def walk(node: dict[str, Any]) -> None:
            nodes.append(node)
            for child in node.get("Plans", []):
                walk(child)

        walk(plan[0]["Plan"])
        on_event = [n for n in nodes if n.get("Relation Name") == "event"]
        assert on_event, plan
        assert not [n for n in on_event if n["Node Type"] == "Seq Scan"], plan
        used = [n["Index Name"] for n in nodes if n.get("Index Name") in SEARCH_INDEXES]
        used += [PK for n in nodes if n.get("Index Name") == "event_pkey"]
        assert used, json.dumps(plan, indent=1)
        return used


CASES = [
    # (window hours, number of cameras, labels, colors, index forced or None)
    (1, 3, (), (), None),
    (24, 3, ("car",), ("red",), None),
    (24 * 7, 2, ("bus",), (), None),
    (1, CAMS, (), (), None),
    (6, 20, ("person",), (), "ix_event_camera_start"),
    (6, CAMS, (), (), "ix_event_start"),
]


@pytest.mark.parametrize(("hours", "n_cams", "labels", "colors", "index"), CASES)
def test_search_reads_event_through_an_index(
    engine: Engine,
    hours: int,
    n_cams: int,
    labels: tuple[str, ...],
    colors: tuple[str, ...],
    index: str | None,
) -> None:
    cams = list(range(1, n_cams + 1))
    start = T0 + timedelta(days=3, hours=5)
    for descending in (False, True):
        q = repo.EventQuery(
            cams, start, start + timedelta(hours=hours), labels, colors, None, descending, 100
        )
        statements = _captured(engine, lambda s, q=q: repo.search_events(s, q, index=index))
        used = set()
        for statement, params in statements:
            used |= set(_check_plan(engine, statement, params))
        assert used & SEARCH_INDEXES, used
        if index is not None and engine.dialect.name == "sqlite":
            assert used - {PK} == {index}


def test_histogram_reads_the_rollup_or_an_index(engine: Engine) -> None:
    start = T0 + timedelta(days=2)
    cams = list(range(1, 21))
    # Hour buckets, no colour filter: the roll-up table, by its primary key.
    q = repo.HistogramQuery(cams, start, start + timedelta(days=7), timedelta(hours=1))
    assert repo.can_use_rollup(q)
    with Session(engine) as s:
        assert sum(map(sum, repo.histogram(s, q).values())) > 0
    with pytest.raises(AssertionError):  # nothing read from the events themselves
        _captured(engine, lambda s: repo.histogram(s, q))
    # The roll-up is read by (camera, hour), counts included: SQLite's WITHOUT ROWID primary
    # key, PostgreSQL's covering index.
    rollup = (
        "SELECT camera_id, hour, n_all FROM event_hourly "
        "WHERE camera_id IN (1,2,3) AND hour >= 475000 AND hour < 475168"
    )
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + rollup)
            )
            assert "USING PRIMARY KEY" in plan, plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # the table is tiny here
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + rollup))
            assert "Index Only Scan using ix_event_hourly_cover" in plan, plan
    # A colour filter counts raw events, through the per-camera index.
    q = repo.HistogramQuery(
        cams, start, start + timedelta(days=2), timedelta(hours=1), colors=["red"]
    )
    for statement, params in _captured(engine, lambda s: repo.histogram(s, q)):
        assert _check_plan(engine, statement, params) == ["ix_event_camera_start"]


def test_repository_results_do_not_depend_on_the_index(engine: Engine) -> None:
    """Both access paths return the same page (the choice is about speed only)."""
    start = T0 + timedelta(days=4)
    for labels in ((), ("car", "bus")):
        q = repo.EventQuery(list(range(1, 31)), start, start + timedelta(hours=12), labels)
        with Session(engine) as s:
            a = [r.id for r in repo.search_events(s, q, index="ix_event_camera_start")]
            b = [r.id for r in repo.search_events(s, q, index="ix_event_start")]
        assert a == b and len(a) == 100
