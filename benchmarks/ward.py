"""A ward's first console page (`/ward`) at the brief's scale: 190 cameras, each keeping a
month of one-minute segments (8.2 million), on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.ward                          # 190 cameras, 30 days, both
    .venv/bin/python -m benchmarks.ward --days 7 --engines sqlite --repeat 5

The page shows, for each camera, its latest footage, when footage last arrived, its backlog
of segments waiting to be indexed (`footage.repository.latest_and_backlog`) and the gaps of
the last day (`covered_stretches`). The database is seeded at the schema before this work
(revision 0016), then, on the same data, median of `--repeat` runs each after one untimed run:
- `old latest`, `old stretches`: the two queries as they were before migrations 0017-0018
  (one grouping every segment of the ward's cameras; the stretches through the (camera,
  start) index), kept here as the baseline, on the schema they ran on;
- `migrate`: `alembic upgrade head` on that database (0017-0018 build their indexes), once;
- `latest`, `stretches`: the same figures as the page reads them now (the top of partial
  indexes; the covering span index), which must equal the old ones for every camera;
- `states`: `footage.service.camera_states`, everything the page reads of its cameras;
- `page`: `GET /ward` end to end, in process (httpx's ASGI transport, a ward's console
  session, gzip accepted as browsers do), HTML included.
The last line is the headline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.coverage import SECRET, database, log

PASSWORD = "benchmark password 2026"  # noqa: S105  (a throwaway database)
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
"""The footage runs up to this minute, so that the page (which reads the last day up to the
real now) sees the same day as the timed calls."""
PENDING_MINUTES = 3
"""Each camera's last segments, stored and not yet indexed (its backlog)."""
BEFORE = "0016"
"""The schema the old queries ran on (0017 and 0018 added and widened the indexes)."""

# One statement per engine fills every camera's month: a recursive row per minute, minute by
# minute (as the cameras record: each index grows at its end, not at 190 places at once).
_SEGMENTS = {
    "sqlite": """
INSERT INTO segment (camera_id, start, "end", start_raw, clock_offset_s, start_source,
  duration_s, sha256, size, object_key, container, video_codec, width, height, fps,
  keyframe_interval_s, probe, source, stream, truncated, status, ingested_at)
WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i < :n - 1)
SELECT c.id, strftime('%Y-%m-%d %H:%M:%f000', :t0, '+' || m.i || ' minutes'),
  strftime('%Y-%m-%d %H:%M:%f000', :t0, '+' || (m.i + 1) || ' minutes'),
  strftime('%Y-%m-%d %H:%M:%f000', :t0, '+' || m.i || ' minutes'), 0.0, 'stream', 60.0,
  printf('%032x%032x', c.id, m.i), 4000000, printf('footage/cam%d/%08d.mp4', c.id, m.i),
  'mov,mp4,m4a,3gp,3g2,mj2', 'h264', 704, 576, 25.0, 2.0, '{}', 'record', 'main', 0,
  CASE WHEN m.i >= :n - :pending THEN 'pending' ELSE 'indexed' END,
  strftime('%Y-%m-%d %H:%M:%f000', :t0, '+' || (m.i + 1) || ' minutes', '+2 seconds')
FROM m CROSS JOIN camera c
""",
    "postgres": """
INSERT INTO segment (camera_id, start, "end", start_raw, clock_offset_s, start_source,
  duration_s, sha256, size, object_key, container, video_codec, width, height, fps,
  keyframe_interval_s, probe, source, stream, truncated, status, ingested_at)
SELECT c.id, CAST(:t0 AS timestamp) + m.i * interval '1 minute',
  CAST(:t0 AS timestamp) + (m.i + 1) * interval '1 minute',
  CAST(:t0 AS timestamp) + m.i * interval '1 minute', 0.0, 'stream', 60.0,
  lpad(to_hex(c.id), 32, '0') || lpad(to_hex(m.i), 32, '0'), 4000000,
  'footage/cam' || c.id || '/' || lpad(m.i::text, 8, '0') || '.mp4',
  'mov,mp4,m4a,3gp,3g2,mj2', 'h264', 704, 576, 25.0, 2.0, '{}', 'record', 'main', false,
  CASE WHEN m.i >= :n - :pending THEN 'pending' ELSE 'indexed' END,
  CAST(:t0 AS timestamp) + (m.i + 1) * interval '1 minute' + interval '2 seconds'
FROM generate_series(0, :n - 1) AS m(i) CROSS JOIN camera c ORDER BY m.i, c.id
""",
}


def seed(engine_name: str, url: str, cameras: int, days: int) -> int:
    """A ward, its console user (id returned) and `cameras` cameras recording one-minute
    segments for `days` days up to NOW."""
    from sqlalchemy import text
    from sqlmodel import Session

    from app.cameras.models import Camera, CameraStatus, SharingPolicy
    from app.db import make_engine, run_migrations
    from app.identity.models import Organisation, OrgKind, Role
    from app.identity.schemas import UserCreate
    from app.identity.service import create_user

    engine = make_engine(url, pool=False)
    run_migrations(engine, BEFORE)
    with Session(engine) as s:
        ward = Organisation(name="Ủy ban nhân dân phường Bến Nghé", kind=OrgKind.ward)
        s.add(ward)
        s.flush()
        user, _ = create_user(s, None, UserCreate(username="ward", role=Role.ward, org_id=ward.id))
        for i in range(cameras):
            s.add(Camera(org_id=ward.id or 0, name=f"Camera {i + 1:03d}",
                         latitude=10.77 + i * 1e-4, longitude=106.70 + i * 1e-4,
                         timezone="Asia/Ho_Chi_Minh",
                         sharing_policy=SharingPolicy.owner_approval,
                         status=CameraStatus.active))
        s.commit()
        user_id = user.id or 0
    n = days * 1440
    t0 = (NOW - timedelta(minutes=n)).replace(tzinfo=None).isoformat(sep=" ")
    t = time.perf_counter()
    with engine.begin() as conn:
        if engine_name == "sqlite":  # room for the indexes being filled: minutes, not an hour
            conn.exec_driver_sql("PRAGMA cache_size = -2000000")
        conn.execute(text(_SEGMENTS[engine_name]), {"n": n, "t0": t0, "pending": PENDING_MINUTES})
    _settled(engine)
    log(f"  seeded {cameras * n} segments in {time.perf_counter() - t:.1f} s")
    engine.dispose()
    return user_id


def _settled(engine: Any) -> None:
    """The tables as a running service's would be: statistics gathered, and on PostgreSQL
    vacuumed (autovacuum's work on a table that grows by inserts: the visibility map that
    lets a query read an index alone)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE segment")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def old_latest(session: Any, camera_ids: list[int]) -> dict[int, tuple[Any, Any, int]]:
    """The camera figures as read before migration 0017: every segment grouped."""
    from sqlalchemy import case, func
    from sqlmodel import col, select

    from app.footage.models import Segment, SegmentStatus, SegmentStream
    from app.footage.repository import _utc

    waiting = func.sum(case((col(Segment.status) == SegmentStatus.pending, 1), else_=0))
    rows = session.exec(
        select(Segment.camera_id, func.max(col(Segment.end)), func.max(col(Segment.ingested_at)),
               waiting)
        .where(col(Segment.camera_id).in_(camera_ids), Segment.stream == SegmentStream.main,
               col(Segment.status) != SegmentStatus.deleted)
        .group_by(col(Segment.camera_id))
    ).all()
    return {int(c): (_utc(end), _utc(got), int(n or 0)) for c, end, got, n in rows}


def old_stretches(
    session: Any, camera_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[tuple[Any, Any]]]:
    """The covered stretches as computed before migration 0018 (two windows, every segment
    numbered, grouped by stretch)."""
    from sqlalchemy import case, func, or_
    from sqlalchemy import select as core_select
    from sqlmodel import col

    from app.footage.models import Segment
    from app.footage.repository import _overlap, _utc

    seg = (
        core_select(
            col(Segment.camera_id).label("cam"), col(Segment.start).label("s"),
            col(Segment.end).label("e"),
            func.max(col(Segment.end)).over(
                partition_by=col(Segment.camera_id),
                order_by=(col(Segment.start), col(Segment.id)), rows=(None, -1),
            ).label("before"),
            col(Segment.id).label("sid"),
        )
        .where(*_overlap(camera_ids, start, end))  # type: ignore[arg-type]
        .subquery()
    )
    begins = case((or_(seg.c.before.is_(None), seg.c.s > seg.c.before), 1), else_=0)
    numbered = core_select(
        seg.c.cam, seg.c.s, seg.c.e,
        func.sum(begins).over(partition_by=seg.c.cam, order_by=(seg.c.s, seg.c.sid),
                              rows=(None, 0)).label("stretch"),
    ).subquery()
    rows = session.execute(
        core_select(numbered.c.cam, func.min(numbered.c.s), func.max(numbered.c.e))
        .group_by(numbered.c.cam, numbered.c.stretch)
        .order_by(numbered.c.cam, func.min(numbered.c.s))
    ).all()
    out: dict[int, list[tuple[Any, Any]]] = {}
    for cam, first, last in rows:
        out.setdefault(int(cam), []).append((_utc(first), _utc(last)))
    return out


def timed(fn: Callable[[], Any], engine: Any, repeat: int) -> tuple[float, int, Any]:
    """(median seconds, queries per run, the last result), after one untimed run."""
    from sqlalchemy import event

    fn()
    times, queries, got = [], [0], None

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        queries[0] += not statement.startswith("BEGIN")  # SQLite's transaction, not a query

    event.listen(engine, "before_cursor_execute", note)
    try:
        for _ in range(repeat):
            queries[0] = 0
            t = time.perf_counter()
            got = fn()
            times.append(time.perf_counter() - t)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return statistics.median(times), queries[0], got


def run_engine(
    name: str, url: str, cameras: int, days: int, repeat: int, data_dir: Path
) -> dict[str, tuple[float, int, Any]]:
    import httpx
    from sqlmodel import Session, select

    from app.cameras.models import Camera
    from app.db import make_engine, read_session, run_migrations
    from app.footage import repository, service
    from app.main import create_app
    from app.settings import Settings
    from app.signin import service as signin
    from app.signin.service import SESSION_COOKIE

    log(f"{name}: seeding {cameras} cameras x {days} days of one-minute segments")
    user_id = seed(name, url, cameras, days)
    since = NOW - service.STATE_WINDOW
    out: dict[str, tuple[float, int, Any]] = {}

    engine = make_engine(url, pool=False)
    with read_session(engine) as s:
        ids = [c.id or 0 for c in s.exec(select(Camera)).all()]

    def old_l() -> Any:
        with read_session(engine) as s:
            return old_latest(s, ids)

    def old_s() -> Any:
        with read_session(engine) as s:
            return old_stretches(s, ids, since, NOW)

    out["old latest"] = timed(old_l, engine, repeat)
    out["old stretches"] = timed(old_s, engine, repeat)
    t = time.perf_counter()
    run_migrations(engine)
    out["migrate"] = (time.perf_counter() - t, 0, None)
    _settled(engine)
    engine.dispose()
    log(f"  {name}: old latest {out['old latest'][0] * 1000:.0f} ms, old stretches "
        f"{out['old stretches'][0] * 1000:.0f} ms; migrated in {out['migrate'][0]:.0f} s")

    settings = Settings(data_dir=data_dir, database_url=url,
                        storage_url=f"file://{data_dir / 'objects'}", secret_key=SECRET,
                        job_workers=0)
    app = create_app(settings)
    engine = app.state.ctx.engine
    with read_session(engine) as s:
        cams = list(s.exec(select(Camera)).all())

    def latest() -> Any:
        with read_session(engine) as s:
            return repository.latest_and_backlog(s, ids)

    def stretches() -> Any:
        with read_session(engine) as s:
            return repository.covered_stretches(s, ids, since, NOW)

    def states() -> Any:
        with read_session(engine) as s:
            return service.camera_states(s, cams, now=NOW)

    out["latest"] = timed(latest, engine, repeat)
    out["stretches"] = timed(stretches, engine, repeat)
    out["states"] = timed(states, engine, repeat)
    assert out["latest"][2] == out["old latest"][2], "old and new latest footage disagree"
    assert out["stretches"][2] == out["old stretches"][2], "old and new stretches disagree"
    assert all(v[2] == PENDING_MINUTES for v in out["latest"][2].values())

    with Session(engine) as s:
        signin.set_password(s, user_id, PASSWORD)
        s.commit()
        got = signin.sign_in(s, settings, "ward", PASSWORD, "127.0.0.1")
        s.commit()
    assert got.outcome == "ok" and got.token, got.outcome
    pages: list[float] = []
    sizes: list[int] = []  # the page's HTML, and what crossed the wire (gzip)

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://wardcam.test",
                              cookies={SESSION_COOKIE: got.token or ""}) as client,
        ):
            for i in range(repeat + 1):
                t = time.perf_counter()
                r = await client.get("/ward")
                took = time.perf_counter() - t
                r.raise_for_status()
                assert r.text.count("Camera ") >= cameras, "a camera is missing from the page"
                if i:
                    pages.append(took)
                sizes[:] = [len(r.content), r.num_bytes_downloaded]

    asyncio.run(go())
    out["page"] = (statistics.median(pages), 0, tuple(sizes))
    log(f"  {name}: latest {out['latest'][0] * 1000:.1f} ms, stretches "
        f"{out['stretches'][0] * 1000:.0f} ms, states {out['states'][0] * 1000:.0f} ms, "
        f"page {out['page'][0] * 1000:.0f} ms ({sizes[0] // 1024} KB of HTML, "
        f"{sizes[1] // 1024} KB on the wire)")
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cameras", type=int, default=190)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engines", nargs="+", default=["sqlite", "postgres"])
    args = ap.parse_args()
    os.environ.setdefault("WARDCAM_SECRET_KEY", SECRET)
    results: dict[str, dict[str, tuple[float, int, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="wardcam-bench-ward-") as tmp:
        for name in args.engines:
            data_dir = Path(tmp) / name
            data_dir.mkdir()
            with database(name, data_dir, "wardcam_bench_ward") as url:
                results[name] = run_engine(name, url, args.cameras, args.days, args.repeat,
                                           data_dir)
    total = args.cameras * args.days * 1440
    print(f"a ward of {args.cameras} cameras x {args.days} days ({total} segments), "
          f"median of {args.repeat}:")
    heads = []
    for name, r in results.items():
        ms = {k: v[0] * 1000 for k, v in r.items()}
        print(f"  {name:8} latest/arrival/backlog {ms['latest']:7.1f} ms vs "
              f"{ms['old latest']:7.0f} ms (x{ms['old latest'] / ms['latest']:.0f}); "
              f"stretches of the day {ms['stretches']:5.0f} ms vs {ms['old stretches']:5.0f} ms "
              f"(x{ms['old stretches'] / ms['stretches']:.1f}); camera states "
              f"{ms['states']:.0f} ms; GET /ward {ms['page']:.0f} ms "
              f"({r['page'][2][0] // 1024} KB of HTML, {r['page'][2][1] // 1024} KB sent); "
              f"migration {r['migrate'][0]:.0f} s")
        before = ms["old latest"] + ms["old stretches"]
        heads.append(f"{name} {ms['states']:.0f} ms vs {before:.0f} ms "
                     f"(x{before / ms['states']:.1f}), page {ms['page'] / 1000:.2f} s")
    print(f"HEADLINE ward page's camera states, {args.cameras} cameras x {args.days} days "
          f"(now vs the two old queries): " + "; ".join(heads))


if __name__ == "__main__":
    main()
