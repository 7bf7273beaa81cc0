"""Footage coverage (`GET /cameras/{id}/footage`) over a month of one-minute segments: the
real pipeline (segments and their index jobs in one query) beside the old per-segment
approach (the segments, then one query per segment for its job), in the same run, on the same
database, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.coverage                     # 31 days, both engines
    .venv/bin/python -m benchmarks.coverage --days 7 --engines sqlite --repeat 5

On the shared 2-core machine the per-segment way takes minutes at 31 days, so the default is
one timed run each.

One camera recorded in one-minute segments for `--days` days (31: 44 640 segments, each with
its `index_segment` job), bulk-loaded. Timed, median of `--repeat` runs each, warm (one
untimed run first, except for the old way, which runs after the new one on the same pages),
for a 1-day and a `--days` window:
- `service`: `app.footage.service.coverage` as a request runs it, in a read transaction, by
  the owning ward (the real pipeline, without HTTP);
- `old`: the same result built as the code before issue 15 item 17 built it (the segments,
  then `jobs.for_segment` once per segment);
- `http`: the real endpoint end to end (the app in-process over ASGI, JSON included).
Statements are counted on the engine for each. The last line is the headline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event, insert

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("WARDCAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "Qm7yH0v2cXkR9pLw3sTn8dVb4Gz1JfAe6UoK5iYh"  # noqa: S105  (fixed; for benchmarks)
EPOCH = datetime(2024, 5, 1, tzinfo=UTC)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextmanager
def database(engine: str, data_dir: Path, prefix: str) -> Iterator[str]:
    """The URL of a new, empty database: SQLite in `data_dir`, or a PostgreSQL database
    named `prefix`_<random> on the benchmark's server, dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite:///{data_dir / 'wardcam.db'}"
        return
    db = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        yield f"{base}/{db}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@contextmanager
def counted(engine: Any) -> Iterator[list[int]]:
    n = [0]

    def note(*_: Any) -> None:
        n[0] += 1

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield n
    finally:
        event.remove(engine, "before_cursor_execute", note)


def seed(url: str, days: int) -> tuple[int, str]:
    """A ward, its user, one camera and `days` of one-minute segments with done jobs."""
    from sqlmodel import Session

    from app.cameras.models import Camera, CameraStatus, SharingPolicy
    from app.db import make_engine, run_migrations
    from app.footage.models import Segment, SegmentSource, SegmentStatus
    from app.identity.models import Organisation, OrgKind, Role
    from app.identity.schemas import UserCreate
    from app.identity.service import create_user
    from app.jobs.models import Job, JobState

    engine = make_engine(url, pool=False)
    run_migrations(engine)
    with Session(engine) as s:
        ward = Organisation(name="Ủy ban nhân dân phường Bến Nghé", kind=OrgKind.ward)
        s.add(ward)
        s.flush()
        _, token = create_user(s, None, UserCreate(username="ward", role=Role.ward, org_id=ward.id))
        cam = Camera(
            org_id=ward.id or 0,
            name="Ngã tư Lê Lợi - Nguyễn Huệ",
            latitude=10.77362,
            longitude=106.70183,
            timezone="Asia/Ho_Chi_Minh",
            sharing_policy=SharingPolicy.owner_approval,
            status=CameraStatus.active,
        )
        s.add(cam)
        s.commit()
        cam_id = cam.id or 0
    n = days * 1440
    t = time.perf_counter()
    with engine.begin() as conn:
        for lo in range(0, n, 5000):
            segs = []
            for i in range(lo, min(n, lo + 5000)):
                start = EPOCH + timedelta(minutes=i)
                segs.append(
                    {
                        "id": i + 1,
                        "camera_id": cam_id,
                        "start": start,
                        "end": start + timedelta(minutes=1),
                        "start_raw": start,
                        "clock_offset_s": 0.0,
                        "start_source": "stream",
                        "duration_s": 60.0,
                        "sha256": f"{i:064x}",
                        "size": 4_000_000,
                        "object_key": f"footage/cam{cam_id}/{i:08d}.mp4",
                        "container": "mov,mp4,m4a,3gp,3g2,mj2",
                        "video_codec": "h264",
                        "width": 1280,
                        "height": 720,
                        "fps": 20.0,
                        "keyframe_interval_s": 2.0,
                        "probe": "{}",
                        "source": SegmentSource.record,
                        "truncated": False,
                        "status": SegmentStatus.indexed,
                        "ingested_at": start + timedelta(minutes=1),
                    }
                )
            conn.execute(insert(Segment), segs)
            conn.execute(
                insert(Job),
                [
                    {
                        "kind": "index_segment",
                        "segment_id": seg["id"],
                        "state": JobState.done,
                        "attempts": 1,
                        "max_attempts": 3,
                        "run_after": seg["ingested_at"],
                        "announced_at": seg["ingested_at"],
                        "progress_done": 1200,
                        "progress_total": 1200,
                        "created_at": seg["ingested_at"],
                        "started_at": seg["ingested_at"],
                        "finished_at": seg["ingested_at"],
                    }
                    for seg in segs
                ],
            )
    log(f"  seeded {n} segments and jobs in {time.perf_counter() - t:.1f} s")
    engine.dispose()
    return cam_id, token


def old_coverage(session: Any, camera_id: int, start: datetime, end: datetime) -> list[Any]:
    """The segment list as it was built before: one job query per segment."""
    from app.footage import repository
    from app.footage.service import INDEX_JOB, to_public
    from app.jobs import repository as jobs

    return [
        to_public(s, jobs.for_segment(session, s.id or 0, INDEX_JOB))
        for s in repository.overlapping(session, camera_id, start, end)
    ]


def timed(
    fn: Callable[[], int], engine: Any, repeat: int, warm: bool = True
) -> tuple[float, int, int]:
    """(median seconds, statements per run, segments), after one untimed run if `warm`."""
    if warm:
        fn()
    times, stmts, size = [], 0, 0
    for _ in range(repeat):
        with counted(engine) as n:
            t = time.perf_counter()
            size = fn()
            times.append(time.perf_counter() - t)
        stmts = n[0]
    return statistics.median(times), stmts, size


def run_engine(name: str, url: str, days: int, repeat: int, data_dir: Path) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from app.auth.deps import authenticate
    from app.db import read_session
    from app.footage import service
    from app.main import create_app
    from app.settings import Settings

    log(f"{name}: seeding {days} days of one-minute segments")
    cam_id, token = seed(url, days)
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        storage_url=f"file://{data_dir / 'objects'}",
        secret_key=SECRET,
        job_workers=0,
    )
    app = create_app(settings)
    out: dict[str, Any] = {}
    with TestClient(app) as client:
        engine = app.state.ctx.engine
        with read_session(engine) as s:
            principal = authenticate(s, token)
        assert principal is not None
        for label, span in (("1 day", timedelta(days=1)), (f"{days} days", timedelta(days=days))):
            start, end = EPOCH, EPOCH + span

            def new(start: datetime = start, end: datetime = end) -> int:
                with read_session(engine) as s:
                    return len(service.coverage(s, principal, cam_id, start, end).segments)

            def old(start: datetime = start, end: datetime = end) -> int:
                with read_session(engine) as s:
                    return len(old_coverage(s, cam_id, start, end))

            def http(start: datetime = start, end: datetime = end) -> int:
                r = client.get(
                    f"/cameras/{cam_id}/footage",
                    params={"from": start.isoformat(), "to": end.isoformat()},
                    headers={"Authorization": f"Bearer {token}"},
                )
                r.raise_for_status()
                return len(r.json()["segments"])

            # The old way runs after the new one has warmed the same pages (no warm-up of
            # its own: at 31 days it takes minutes).
            res = {"service": timed(new, engine, repeat), "old": timed(old, engine, repeat, False)}
            res["http"] = timed(http, engine, repeat)
            sizes = {v[2] for v in res.values()}
            assert len(sizes) == 1, sizes
            out[label] = res
            s_new, q_new, n = res["service"]
            s_old, q_old, _ = res["old"]
            log(
                f"  {name} {label} ({n} segments): service {s_new * 1000:.0f} ms in {q_new} "
                f"statements; old {s_old * 1000:.0f} ms in {q_old}; x{s_old / s_new:.1f}; "
                f"http {res['http'][0] * 1000:.0f} ms"
            )
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--days", type=int, default=31)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--engines", nargs="+", default=["sqlite", "postgres"])
    args = ap.parse_args()
    os.environ.setdefault("WARDCAM_SECRET_KEY", SECRET)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="wardcam-bench-coverage-") as tmp:
        for name in args.engines:
            data_dir = Path(tmp) / name
            data_dir.mkdir()
            with database(name, data_dir, "wardcam_bench_cov") as url:
                results[name] = run_engine(name, url, args.days, args.repeat, data_dir)
    label = f"{args.days} days"
    print(f"coverage of {label} of one-minute segments (median of {args.repeat}):")
    for name, res in results.items():
        for window, r in res.items():
            (s_new, q_new, n), (s_old, q_old, _) = r["service"], r["old"]
            print(
                f"  {name:8} {window:8} {n:6} segments: {q_new} statements, "
                f"{s_new * 1000:8.1f} ms vs per-segment {q_old} statements, "
                f"{s_old * 1000:8.1f} ms (x{s_old / s_new:.1f}); HTTP {r['http'][0] * 1000:.0f} ms"
            )
    heads = []
    for name, res in results.items():
        (s_new, q_new, n), (s_old, q_old, _) = res[label]["service"], res[label]["old"]
        heads.append(
            f"{name} {s_new * 1000:.0f} ms in {q_new} queries vs {s_old * 1000:.0f} ms in "
            f"{q_old} (x{s_old / s_new:.1f})"
        )
    print(f"HEADLINE coverage, {label} ({n} segments): " + "; ".join(heads))


if __name__ == "__main__":
    main()
