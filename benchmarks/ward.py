"""A ward's first console page (`/ward`) at the brief's scale: 190 cameras, each keeping a
month of one-minute segments (8.2 million), on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.ward                          # 190 cameras, 30 days, both
    .venv/bin/python -m benchmarks.ward --days 7 --engines sqlite --repeat 5

The page shows, for each camera, its latest footage, when footage last arrived, its backlog
of segments waiting to be indexed (`footage.repository.latest_and_backlog`) and the gaps of
the last day (`covered_stretches`). Timed in the same run, on the same database, median of
`--repeat` runs each after one untimed run:
- `old`: the latest footage, arrival and backlog as read before migration 0017 (one query
  grouping every segment of the ward's cameras), kept here as the baseline;
- `new`: `latest_and_backlog` as the page reads it now (the top of partial indexes);
- `states`: `footage.service.camera_states`, everything the page reads of its cameras;
- `page`: `GET /ward` end to end, in process (httpx's ASGI transport, a ward's console
  session), HTML included.
Old and new must give the same figures for every camera. The last line is the headline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.coverage import PG_ADMIN, SECRET, log

PASSWORD = "benchmark password 2026"  # noqa: S105  (a throwaway database)
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
"""The footage runs up to this minute, so that the page (which reads the last day up to the
real now) sees the same day as the timed calls."""
PENDING_MINUTES = 3
"""Each camera's last segments, stored and not yet indexed (its backlog)."""

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
    run_migrations(engine)
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
        conn.execute(text(_SEGMENTS[engine_name]), {"n": n, "t0": t0, "pending": PENDING_MINUTES})
        if engine_name == "postgres":
            conn.exec_driver_sql("ANALYZE segment")
        else:
            conn.exec_driver_sql("ANALYZE")
    log(f"  seeded {cameras * n} segments in {time.perf_counter() - t:.1f} s")
    engine.dispose()
    return user_id


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
    name: str,
    url: str,
    cameras: int,
    days: int,
    repeat: int,
    data_dir: Path,
    kept_user: int | None = None,
) -> dict[str, tuple[float, int, Any]]:
    import httpx
    from sqlmodel import select

    from app.cameras.models import Camera
    from app.db import read_session
    from app.footage import repository, service
    from app.main import create_app
    from app.settings import Settings
    from app.signin import service as signin
    from app.signin.service import SESSION_COOKIE

    if kept_user is None:
        log(f"{name}: seeding {cameras} cameras x {days} days of one-minute segments")
        user_id = seed(name, url, cameras, days)
    else:
        user_id = kept_user
    settings = Settings(data_dir=data_dir, database_url=url,
                        storage_url=f"file://{data_dir / 'objects'}", secret_key=SECRET,
                        job_workers=0)
    app = create_app(settings)
    engine = app.state.ctx.engine
    with read_session(engine) as s:
        cams = list(s.exec(select(Camera)).all())
    ids = [c.id or 0 for c in cams]

    def new() -> Any:
        with read_session(engine) as s:
            return repository.latest_and_backlog(s, ids)

    def old() -> Any:
        with read_session(engine) as s:
            return old_latest(s, ids)

    def states() -> Any:
        with read_session(engine) as s:
            return service.camera_states(s, cams, now=NOW)

    out = {"new": timed(new, engine, repeat), "old": timed(old, engine, repeat),
           "states": timed(states, engine, repeat)}
    assert out["new"][2] == out["old"][2], "old and new disagree"
    assert all(v[2] == PENDING_MINUTES for v in out["new"][2].values())

    from sqlmodel import Session

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
    (s_new, q_new, _), (s_old, q_old, _) = out["new"], out["old"]
    log(f"  {name}: new {s_new * 1000:.1f} ms in {q_new} statements; old {s_old * 1000:.0f} ms "
        f"in {q_old} (x{s_old / s_new:.0f}); states {out['states'][0] * 1000:.0f} ms; "
        f"page {out['page'][0] * 1000:.0f} ms, {sizes[0] // 1024} KB of HTML, "
        f"{sizes[1] // 1024} KB on the wire")
    engine.dispose()
    return out


def _kept_user(path: Path) -> int:
    """The ward user of a database an earlier run seeded."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT id FROM user_account WHERE username = 'ward'").fetchone()
    return int(row[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cameras", type=int, default=190)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engines", nargs="+", default=["sqlite", "postgres"])
    ap.add_argument("--db", type=Path,
                    help="SQLite: keep the database here, or use the one an earlier run kept")
    args = ap.parse_args()
    os.environ.setdefault("WARDCAM_SECRET_KEY", SECRET)
    results: dict[str, dict[str, tuple[float, int, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="wardcam-bench-ward-") as tmp:
        for name in args.engines:
            data_dir = Path(tmp) / name
            data_dir.mkdir()
            if name == "sqlite":
                path = args.db or data_dir / "wardcam.db"
                kept = _kept_user(path) if path.exists() else None
                if kept is not None:
                    log(f"sqlite: {path} kept from an earlier run (its own cameras and days)")
                results[name] = run_engine(name, f"sqlite:///{path}", args.cameras, args.days,
                                           args.repeat, data_dir, kept)
                continue
            db = f"wardcam_bench_ward_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db}"')
            try:
                base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
                results[name] = run_engine(name, f"{base}/{db}", args.cameras, args.days,
                                           args.repeat, data_dir)
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    total = args.cameras * args.days * 1440
    print(f"a ward of {args.cameras} cameras x {args.days} days ({total} segments), "
          f"median of {args.repeat}:")
    heads = []
    for name, r in results.items():
        (s_new, q_new, _), (s_old, _, _) = r["new"], r["old"]
        print(f"  {name:8} latest/arrival/backlog {s_new * 1000:8.1f} ms ({q_new} query) "
              f"vs grouping every segment {s_old * 1000:8.1f} ms (x{s_old / s_new:.0f}); "
              f"camera states {r['states'][0] * 1000:.0f} ms; "
              f"GET /ward {r['page'][0] * 1000:.0f} ms ({r['page'][2][0] // 1024} KB of HTML, "
              f"{r['page'][2][1] // 1024} KB sent)")
        heads.append(f"{name} {s_new * 1000:.1f} ms vs {s_old * 1000:.0f} ms "
                     f"(x{s_old / s_new:.0f}), page {r['page'][0]:.2f} s")
    print(f"HEADLINE ward page, {args.cameras} cameras x {args.days} days: " + "; ".join(heads))


if __name__ == "__main__":
    main()
