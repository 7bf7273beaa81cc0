"""Event search at scale: a synthetic index of one city, bulk-loaded into SQLite and
PostgreSQL, then a realistic query mix through the repository, through the HTTP API (in-process
client) and through an OFFSET-paginated, unindexed baseline.

    .venv/bin/python -m benchmarks.search                       # 10 M events, both engines
    .venv/bin/python -m benchmarks.search --events 1000000
    .venv/bin/python -m benchmarks.search --events 100000000 --engines postgres

The city: 1 000 cameras in 32 wards (clustered around ward centres within ~6 km of the city
centre), activity per camera log-normal (a few busy main-road cameras, many quiet lanes),
30 days with a diurnal curve (rush hours, quiet nights) and weekends quieter, labels and
colours in street-like shares. One 24 h segment per camera per day; events never span it.

Queries: 1 h to 7 d windows; places are near+radius (100 m to 5 km, log-uniform), bboxes and
ward polygons; 40 % filter by label, 20 % by colour, 5 % by camera id, 10 % by confidence;
30 % newest first; page sizes 50 (30 %), 100 (60 %) and 500 (10 %); 60 % first pages, 40 %
deep pages (page 2 to 10 via the cursor; only the deep page is timed). Before timing, the
database files are read once (the OS cache holds them, as on a server whose index fits in RAM)
and 20 untimed queries warm the connections. The baseline runs the same filters with no
usable index and LIMIT/OFFSET
on a sample of the queries (a full scan each).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("WARDCAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "Qm7yH0v2cXkR9pLw3sTn8dVb4Gz1JfAe6UoK5iYh"  # noqa: S105  (fixed; for benchmarks)

CENTRE = (27.7172, 85.3240)
EPOCH = datetime(2024, 4, 1, tzinfo=UTC)  # day 0, a Monday
DAYS = 30
WARDS = 32
LABELS = ["person", "car", "motorcycle", "bicycle", "truck", "bus"]
LABEL_P = [0.45, 0.28, 0.17, 0.04, 0.04, 0.02]
COLORS = ["white", "black", "grey", "red", "blue", "green", "yellow", "brown", "unknown"]
COLOR_P = [0.24, 0.20, 0.17, 0.08, 0.08, 0.03, 0.03, 0.03, 0.14]
# Share of a day's events in each hour (local time is UTC+5:45; close enough for traffic).
DIURNAL = np.array(
    [
        1,
        0.6,
        0.4,
        0.4,
        0.6,
        1.5,
        3,
        5,
        7,
        7,
        6,
        5.5,
        5.5,
        5.5,
        5.5,
        6,
        7,
        8,
        8,
        6.5,
        5,
        3.5,
        2.5,
        1.5,
    ]
)
DIURNAL = DIURNAL / DIURNAL.sum()
M_PER_DEG_LAT = 111_195.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ----------------------------------------------------------------------------------------------
# The city


@dataclass
class City:
    lat: np.ndarray
    lon: np.ndarray
    ward: np.ndarray
    weight: np.ndarray
    ward_centre: list[tuple[float, float]]
    ward_radius_m: list[float]


def make_city(rng: np.random.Generator, n_cams: int = 1000) -> City:
    m_per_deg_lon = M_PER_DEG_LAT * math.cos(math.radians(CENTRE[0]))
    r = 6000 * np.sqrt(rng.random(WARDS))
    a = rng.random(WARDS) * 2 * math.pi
    centres = [
        (
            CENTRE[0] + (ri * math.sin(ai)) / M_PER_DEG_LAT,
            CENTRE[1] + (ri * math.cos(ai)) / m_per_deg_lon,
        )
        for ri, ai in zip(r, a, strict=True)
    ]
    share = rng.dirichlet(np.full(WARDS, 3.0))
    ward = rng.choice(WARDS, size=n_cams, p=share)
    spread = rng.uniform(250, 600, WARDS)
    lat = np.empty(n_cams)
    lon = np.empty(n_cams)
    for i, w in enumerate(ward):
        dy, dx = rng.normal(0, spread[w], 2)
        lat[i] = centres[w][0] + dy / M_PER_DEG_LAT
        lon[i] = centres[w][1] + dx / m_per_deg_lon
    weight = rng.lognormal(0, 1.1, n_cams)
    return City(lat, lon, ward, weight / weight.sum(), centres, [2.2 * s for s in spread])


# ----------------------------------------------------------------------------------------------
# Events, one day at a time (rows in time order, as indexing produces them)


def day_events(
    rng: np.random.Generator, city: City, day: int, n: int, cam_ids: list[int]
) -> dict[str, Any]:
    cam_idx = rng.choice(len(cam_ids), size=n, p=city.weight)
    hour = rng.choice(24, size=n, p=DIURNAL)
    tod_us = hour.astype(np.int64) * 3_600_000_000 + rng.integers(0, 3_600_000_000, n)
    order = np.argsort(tod_us, kind="stable")
    cam_idx, tod_us = cam_idx[order], tod_us[order]
    dur_us = (np.clip(rng.lognormal(1.0, 0.9, n), 0.2, 120.0) * 1e6).astype(np.int64)
    day_us = 86_400_000_000
    dur_us = np.minimum(dur_us, day_us - 1 - tod_us)  # events never span a segment
    base = np.datetime64(EPOCH.replace(tzinfo=None)) + np.timedelta64(day, "D")
    start = base + tod_us.astype("timedelta64[us]")
    end = start + dur_us.astype("timedelta64[us]")
    best = start + (dur_us // 2).astype("timedelta64[us]")
    label = rng.choice(len(LABELS), size=n, p=LABEL_P)
    color = rng.choice(len(COLORS), size=n, p=COLOR_P)
    conf = np.round(0.25 + 0.74 * rng.beta(5, 2, n), 4)
    x1 = rng.random(n) * 0.8
    y1 = rng.random(n) * 0.8
    return {
        "cam_idx": cam_idx,
        "start": start,
        "end": end,
        "best": best,
        "label": label,
        "color": color,
        "conf": conf,
        "x1": x1,
        "y1": y1,
        "x2": x1 + 0.05 + rng.random(n) * 0.15,
        "y2": y1 + 0.05 + rng.random(n) * 0.15,
    }


def day_sizes(rng: np.random.Generator, total: int) -> list[int]:
    w = np.array([0.8 if (d % 7) in (5, 6) else 1.0 for d in range(DAYS)]) * rng.uniform(
        0.9, 1.1, DAYS
    )
    sizes = np.floor(w / w.sum() * total).astype(int)
    sizes[-1] += total - sizes.sum()
    return [int(s) for s in sizes]


def ts_text(arr: np.ndarray, sep: str) -> list[str]:
    s = np.datetime_as_string(arr, unit="us")
    if sep != "T":
        s = np.char.replace(s, "T", sep)
    return s.tolist()  # type: ignore[no-any-return]


def rows_for(
    ev: dict[str, Any], day: int, cam_ids: list[int], seg_base: int, sep: str
) -> Iterator[tuple[Any, ...]]:
    cams = np.array(cam_ids)[ev["cam_idx"]].tolist()
    segs = (seg_base + ev["cam_idx"] * DAYS + day).tolist()
    starts, ends, bests = (
        ts_text(ev["start"], sep),
        ts_text(ev["end"], sep),
        ts_text(ev["best"], sep),
    )
    labels = [LABELS[i] for i in ev["label"].tolist()]
    colors = [
        None if lb == "person" else COLORS[c]
        for lb, c in zip(labels, ev["color"].tolist(), strict=True)
    ]
    conf, x1, y1, x2, y2 = (ev[k].tolist() for k in ("conf", "x1", "y1", "x2", "y2"))
    for i in range(len(cams)):
        yield (
            cams[i],
            segs[i],
            i,
            labels[i],
            colors[i],
            starts[i],
            ends[i],
            bests[i],
            conf[i],
            x1[i],
            y1[i],
            x2[i],
            y2[i],
            f"thumbs/cam{cams[i]}/seg{segs[i]}/{i:06d}.jpg",
            ends[i],
        )


EVENT_COLS = (
    'camera_id, segment_id, track_id, label, color, start, "end", best_at, confidence, '
    "box_x1, box_y1, box_x2, box_y2, thumbnail_key, created_at"
)


# ----------------------------------------------------------------------------------------------
# Databases


def migration_module() -> Any:
    path = ROOT / "app" / "migrations" / "versions" / "0006_search_indexes.py"
    spec = importlib.util.spec_from_file_location("wardcam_mig_0006", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


INDEX_DDL = [
    "CREATE INDEX ix_event_camera_start ON event "
    '(camera_id, start, "end", label, color, confidence){include}',
    'CREATE INDEX ix_event_start ON event (start, camera_id, "end", label, color, confidence)'
    "{include}",
    "CREATE INDEX ix_event_label_camera_start ON event "
    '(label, camera_id, start, "end", color, confidence){include}',
    "CREATE INDEX ix_event_segment ON event (segment_id)",
]
"""As migrations 0006 and 0007 leave them."""


def build_indexes(execute: Callable[[Any], Any], engine: str, parts: dict[str, float]) -> None:
    """The event indexes, after the bulk insert (PostgreSQL's carry the id, SQLite's the
    rowid), each timed into `parts`."""
    include = " INCLUDE (id)" if engine == "postgres" else ""
    for ddl in INDEX_DDL:
        name = ddl.split()[2]
        t = time.perf_counter()
        execute(ddl.format(include=include))
        parts[name] = time.perf_counter() - t
        log(f"  {engine}: {name} built in {parts[name]:.0f} s")


def seed_registry(url: str, city: City) -> tuple[list[int], int, str]:
    """Organisations, an officer with an API key, cameras and their segments."""
    from sqlmodel import Session

    from app.cameras.models import Camera, CameraStatus, SharingPolicy
    from app.db import make_engine, run_migrations
    from app.identity.models import Organisation, OrgKind, Role
    from app.identity.schemas import UserCreate
    from app.identity.service import create_user

    engine = make_engine(url, pool=False)
    run_migrations(engine)
    with Session(engine) as s:
        police = Organisation(name="police", kind=OrgKind.police)
        wards = [Organisation(name=f"ward {w + 1}", kind=OrgKind.ward) for w in range(WARDS)]
        s.add_all([police, *wards])
        s.flush()
        officer, token = create_user(
            s, None, UserCreate(username="officer", role=Role.officer, org_id=police.id)
        )
        cams = [
            Camera(
                org_id=wards[int(w)].id or 0,
                name=f"ward {int(w) + 1} cam {i}",
                latitude=float(la),
                longitude=float(lo),
                timezone="Asia/Kathmandu",
                sharing_policy=SharingPolicy.owner_approval,
                status=CameraStatus.active,
            )
            for i, (la, lo, w) in enumerate(zip(city.lat, city.lon, city.ward, strict=True))
        ]
        s.add_all(cams)
        s.commit()
        cam_ids = [c.id or 0 for c in cams]
        user_id = officer.id or 0
    engine.dispose()
    return cam_ids, user_id, token


def segment_rows(
    cam_ids: list[int], user_id: int, seg_base: int, sep: str
) -> Iterator[tuple[Any, ...]]:
    for ci, cam in enumerate(cam_ids):
        for d in range(DAYS):
            start = EPOCH + timedelta(days=d)
            s = start.strftime(f"%Y-%m-%d{sep}%H:%M:%S.%f")
            e = (start + timedelta(days=1)).strftime(f"%Y-%m-%d{sep}%H:%M:%S.%f")
            sid = seg_base + ci * DAYS + d
            yield (
                sid,
                cam,
                s,
                e,
                s,
                0.0,
                "stream",
                86400.0,
                f"{sid:064x}",
                1,
                f"footage/{sid}.mp4",
                "mp4",
                "h264",
                1920,
                1080,
                "{}",
                "record",
                False,
                "indexed",
                user_id,
                e,
            )


SEG_COLS = (
    'id, camera_id, start, "end", start_raw, clock_offset_s, start_source, duration_s, sha256, '
    "size, object_key, container, video_codec, width, height, probe, source, truncated, status, "
    "ingested_by, ingested_at"
)


@dataclass
class Loaded:
    url: str
    cam_ids: list[int]
    user_id: int
    token: str
    load_s: float
    parts: dict[str, float]
    size_bytes: int
    cleanup: Callable[[], None]


def load_sqlite(city: City, n_events: int, seed: int) -> Loaded:
    tmp = Path(tempfile.mkdtemp(prefix="wardcam_bench_"))
    path = tmp / "wardcam.db"
    url = f"sqlite:///{path}"
    cam_ids, user_id, token = seed_registry(url, city)
    mig = migration_module()
    t0 = time.perf_counter()
    parts: dict[str, float] = {}
    con = sqlite3.connect(path, isolation_level=None)
    for p in (
        "journal_mode=OFF",
        "synchronous=OFF",
        "cache_size=-1000000",
        "temp_store=MEMORY",
        "foreign_keys=OFF",
    ):
        con.execute(f"PRAGMA {p}")
    for name in (
        "ix_event_camera_start",
        "ix_event_start",
        "ix_event_label_camera_start",
        "ix_event_segment",
    ):
        con.execute(f"DROP INDEX {name}")
    con.execute("DROP TRIGGER event_ai_search")
    con.execute("DROP TRIGGER event_ad_search")
    seg_base = 1
    con.execute("BEGIN")
    con.executemany(
        f"INSERT INTO segment ({SEG_COLS}) VALUES ({','.join('?' * 21)})",
        segment_rows(cam_ids, user_id, seg_base, " "),
    )
    con.execute("COMMIT")
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    done = 0
    for day, n in enumerate(day_sizes(rng, n_events)):
        ev = day_events(rng, city, day, n, cam_ids)
        con.execute("BEGIN")
        con.executemany(
            f"INSERT INTO event ({EVENT_COLS}) VALUES ({','.join('?' * 15)})",
            rows_for(ev, day, cam_ids, seg_base, " "),
        )
        con.execute("COMMIT")
        done += n
        if day % 5 == 4:
            log(f"  sqlite: {done:,} events inserted ({time.perf_counter() - t:.0f} s)")
    parts["insert"] = time.perf_counter() - t
    build_indexes(con.execute, "sqlite", parts)
    t = time.perf_counter()
    for sql in mig.SQLITE_BACKFILL + mig.SQLITE_TRIGGERS:
        con.execute(sql)
    parts["rollups"] = time.perf_counter() - t
    t = time.perf_counter()
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode=WAL")
    parts["analyze"] = time.perf_counter() - t
    con.close()
    load_s = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in tmp.iterdir())
    return Loaded(
        url, cam_ids, user_id, token, load_s, parts, size, lambda: shutil.rmtree(tmp, True)
    )


def load_postgres(city: City, n_events: int, seed: int) -> Loaded:
    name = f"wardcam_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    dsn = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]

    try:
        cam_ids, user_id, token = seed_registry(url, city)
    except BaseException:
        drop()
        raise
    mig = migration_module()
    t0 = time.perf_counter()
    parts: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as con:
        for ix in (
            "ix_event_camera_start",
            "ix_event_start",
            "ix_event_label_camera_start",
            "ix_event_segment",
        ):
            con.execute(f"DROP INDEX {ix}")  # type: ignore[arg-type]
        # Bulk load: no per-row triggers (foreign keys, roll-ups); roll-ups are rebuilt after.
        con.execute("SET session_replication_role = replica")
        seg_base = 1
        with con.cursor() as cur, cur.copy(f"COPY segment ({SEG_COLS}) FROM STDIN") as cp:  # type: ignore[arg-type]
            for row in segment_rows(cam_ids, user_id, seg_base, "T"):
                cp.write_row(row)
        rng = np.random.default_rng(seed)
        t = time.perf_counter()
        done = 0
        for day, n in enumerate(day_sizes(rng, n_events)):
            ev = day_events(rng, city, day, n, cam_ids)
            with con.cursor() as cur, cur.copy(f"COPY event ({EVENT_COLS}) FROM STDIN") as cp:  # type: ignore[arg-type]
                for row in rows_for(ev, day, cam_ids, seg_base, "T"):
                    cp.write_row(row)
            done += n
            if day % 5 == 4:
                log(f"  postgres: {done:,} events copied ({time.perf_counter() - t:.0f} s)")
        parts["copy"] = time.perf_counter() - t
        con.execute("SET session_replication_role = origin")
        con.execute("SET maintenance_work_mem = '1GB'")
        con.execute(
            "SELECT setval(pg_get_serial_sequence('segment', 'id'), (SELECT max(id) FROM segment))"
        )
        build_indexes(con.execute, "postgres", parts)
        t = time.perf_counter()
        for sql in mig.PG_BACKFILL:
            con.execute(sql)
        parts["rollups"] = time.perf_counter() - t
        t = time.perf_counter()
        con.execute("VACUUM (ANALYZE) event")
        con.execute("VACUUM (ANALYZE)")
        parts["vacuum_analyze"] = time.perf_counter() - t
        # Write out the load's dirty pages now, not while the queries are being timed.
        t = time.perf_counter()
        con.execute("CHECKPOINT")
        parts["checkpoint"] = time.perf_counter() - t
        size = int(con.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]
    load_s = time.perf_counter() - t0
    return Loaded(url, cam_ids, user_id, token, load_s, parts, size, drop)


# ----------------------------------------------------------------------------------------------
# Queries


@dataclass
class Spec:
    start: datetime
    end: datetime
    place: dict[str, Any]
    labels: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    camera_ids: list[int] = field(default_factory=list)
    min_confidence: float | None = None
    order: str = "asc"
    limit: int = 100
    page: int = 1

    def params(self) -> dict[str, Any]:
        p: dict[str, Any] = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            **self.place,
        }
        p.update(label=self.labels, color=self.colors, camera_id=self.camera_ids)
        if self.min_confidence is not None:
            p["min_confidence"] = self.min_confidence
        p.update(order=self.order, limit=self.limit, purpose="benchmark: routine patrol review")
        return p


def ward_polygon(city: City, w: int, sides: int = 10) -> dict[str, Any]:
    lat0, lon0 = city.ward_centre[w]
    r = city.ward_radius_m[w]
    m_per_deg_lon = M_PER_DEG_LAT * math.cos(math.radians(lat0))
    ring = [
        [
            lon0 + r * math.cos(2 * math.pi * k / sides) / m_per_deg_lon,
            lat0 + r * math.sin(2 * math.pi * k / sides) / M_PER_DEG_LAT,
        ]
        for k in range(sides)
    ]
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def make_specs(rng: np.random.Generator, city: City, cam_ids: list[int], n: int) -> list[Spec]:
    specs = []
    windows = [
        timedelta(hours=1),
        timedelta(hours=3),
        timedelta(hours=12),
        timedelta(days=1),
        timedelta(days=3),
        timedelta(days=7),
    ]
    wp = [0.25, 0.2, 0.15, 0.15, 0.1, 0.15]
    for _ in range(n):
        win = windows[rng.choice(len(windows), p=wp)]
        latest = EPOCH + timedelta(days=DAYS) - win
        start = EPOCH + (latest - EPOCH) * float(rng.random())
        start = start.replace(second=0, microsecond=0)
        kind = rng.choice(3, p=[0.6, 0.2, 0.2])
        w = int(rng.integers(WARDS))
        if kind == 0:
            c = int(rng.integers(len(cam_ids)))
            radius = float(math.exp(rng.uniform(math.log(100), math.log(5000))))
            place: dict[str, Any] = {
                "near": f"{city.lat[c]:.6f},{city.lon[c]:.6f}",
                "radius_m": round(radius),
            }
        elif kind == 1:
            lat0, lon0 = city.ward_centre[w]
            half = float(rng.uniform(500, 2500))
            dlat = half / M_PER_DEG_LAT
            dlon = half / (M_PER_DEG_LAT * math.cos(math.radians(lat0)))
            place = {
                "bbox": f"{lon0 - dlon:.6f},{lat0 - dlat:.6f},{lon0 + dlon:.6f},{lat0 + dlat:.6f}"
            }
        else:
            place = {"polygon": json.dumps(ward_polygon(city, w))}
        spec = Spec(start, start + win, place)
        if rng.random() < 0.4:
            spec.labels = sorted(
                set(rng.choice(LABELS, size=int(rng.integers(1, 3)), p=LABEL_P).tolist())
            )
        if rng.random() < 0.2:
            spec.colors = sorted(set(rng.choice(COLORS[:8], size=int(rng.integers(1, 3))).tolist()))
        if rng.random() < 0.05:
            spec.camera_ids = sorted({cam_ids[int(i)] for i in rng.integers(0, len(cam_ids), 3)})
            spec.place = {}
        if rng.random() < 0.1:
            spec.min_confidence = 0.6
        if rng.random() < 0.3:
            spec.order = "desc"
        spec.limit = int(rng.choice([50, 50, 50, 100, 100, 100, 100, 100, 100, 500]))
        if rng.random() < 0.4:
            spec.page = int(rng.integers(2, 11))
        specs.append(spec)
    return specs


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = (len(s) - 1) * p / 100
    f = math.floor(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def summary(xs: list[float]) -> str:
    p50, p95, p99 = pct(xs, 50), pct(xs, 95), pct(xs, 99)
    return f"n={len(xs):5d}  p50 {p50:8.2f}  p95 {p95:8.2f}  p99 {p99:8.2f}  ms"


def run_repository(
    url: str, user_id: int, specs: list[Spec]
) -> tuple[list[float], list[float], list[float], list[int]]:
    from sqlmodel import Session

    from app.auth.principal import Principal
    from app.cameras import repository as cameras
    from app.db import make_engine
    from app.events import repository as repo
    from app.events.cursor import Position
    from app.geo import parse_bbox, parse_near, parse_polygon
    from app.identity.models import Role

    engine = make_engine(url)
    who = Principal(user_id=user_id, username="officer", role=Role.officer, org_id=None)
    times, first, deep, counts = [], [], [], []

    def page(session: Session, spec: Spec, after: Position | None) -> list[Any]:
        pl = spec.place
        cams, _ = cameras.resolve_place(
            session,
            who,
            near=parse_near(pl["near"]) if "near" in pl else None,
            radius_m=pl.get("radius_m"),
            bbox=parse_bbox(pl["bbox"]) if "bbox" in pl else None,
            polygon=parse_polygon(pl["polygon"]) if "polygon" in pl else None,
            camera_ids=spec.camera_ids,
        )
        q = repo.EventQuery(
            cams,
            spec.start,
            spec.end,
            spec.labels,
            spec.colors,
            spec.min_confidence,
            spec.order == "desc",
            spec.limit,
            after,
        )
        return repo.search_events(session, q)

    for i, spec in enumerate(specs):
        with Session(engine) as session:
            after = None
            for _ in range(spec.page - 1):
                rows = page(session, spec, after)
                if len(rows) < spec.limit:
                    break
                after = Position(rows[-1].start, rows[-1].id)
            session.commit()
            # The connection is checked out (PostgreSQL: pinged) before the clock starts, for
            # first pages as for deep ones: the repository's statements are what is timed.
            session.connection()
            t = time.perf_counter()
            rows = page(session, spec, after)
            session.commit()
            ms = (time.perf_counter() - t) * 1000
        times.append(ms)
        (deep if spec.page > 1 else first).append(ms)
        counts.append(len(rows))
        if (i + 1) % 250 == 0:
            log(f"    repository: {i + 1} queries, p95 so far {pct(times, 95):.2f} ms")
    engine.dispose()
    return times, first, deep, counts


def run_api(url: str, token: str, specs: list[Spec], data_dir: Path) -> list[float]:
    """Each query as an HTTP request to the app in this process (httpx's ASGI transport, on
    the app's own event loop: Starlette's TestClient would add a thread hand-off per message,
    about 3 ms a request that a real server does not pay)."""
    import asyncio

    import httpx

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        storage_url=f"file://{data_dir / 'objects'}",
        secret_key=SECRET,
        job_workers=0,
    )
    app = create_app(settings)
    h = {"Authorization": f"Bearer {token}"}

    async def run() -> list[float]:
        times = []
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://wardcam") as client,
        ):
            for i, spec in enumerate(specs):
                params = spec.params()
                for _ in range(spec.page - 1):
                    r = await client.get("/events", params=params, headers=h)
                    assert r.status_code == 200, r.text
                    cur = r.json()["next_cursor"]
                    if cur is None:
                        break
                    params["cursor"] = cur
                t = time.perf_counter()
                r = await client.get("/events", params=params, headers=h)
                body = r.content
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, body[:500]
                if (i + 1) % 250 == 0:
                    log(f"    api: {i + 1} queries, p95 so far {pct(times, 95):.2f} ms")
        return times

    return asyncio.run(run())


def run_baseline(url: str, user_id: int, specs: list[Spec]) -> list[float]:
    """Same filters, LIMIT/OFFSET, and no index the query could use (a full scan each)."""
    from sqlalchemy import text
    from sqlmodel import Session

    from app.auth.principal import Principal
    from app.cameras import repository as cameras
    from app.db import make_engine
    from app.events import repository as repo
    from app.geo import parse_bbox, parse_near, parse_polygon
    from app.identity.models import Role

    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    who = Principal(user_id=user_id, username="officer", role=Role.officer, org_id=None)
    times = []
    for spec in specs:
        with Session(engine) as s:
            pl = spec.place
            cams, _ = cameras.resolve_place(
                s,
                who,
                near=parse_near(pl["near"]) if "near" in pl else None,
                radius_m=pl.get("radius_m"),
                bbox=parse_bbox(pl["bbox"]) if "bbox" in pl else None,
                polygon=parse_polygon(pl["polygon"]) if "polygon" in pl else None,
                camera_ids=spec.camera_ids,
            )
            where = [
                f"camera_id IN ({','.join(map(str, cams or [-1]))})",
                "start < :to",
                '"end" >= :from',
            ]
            if spec.labels:
                where.append("label IN (" + ",".join(f"'{x}'" for x in spec.labels) + ")")
            if spec.colors:
                where.append("color IN (" + ",".join(f"'{x}'" for x in spec.colors) + ")")
            if spec.min_confidence is not None:
                where.append(f"confidence >= {spec.min_confidence}")
            d = "DESC" if spec.order == "desc" else "ASC"
            sql = (
                f"SELECT {repo.EVENT_COLUMNS} FROM event{'' if pg else ' NOT INDEXED'} "
                f"WHERE {' AND '.join(where)} ORDER BY start {d}, id {d} "
                f"LIMIT {spec.limit} OFFSET {(spec.page - 1) * spec.limit}"
            )
            sep = "T" if pg else " "
            params = {
                "from": spec.start.strftime(f"%Y-%m-%d{sep}%H:%M:%S.%f"),
                "to": spec.end.strftime(f"%Y-%m-%d{sep}%H:%M:%S.%f"),
            }
            if pg:
                for k in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
                    s.execute(text(f"SET LOCAL {k} = off"))
            t = time.perf_counter()
            s.execute(text(sql), params).all()
            times.append((time.perf_counter() - t) * 1000)
            s.rollback()
    engine.dispose()
    return times


def run_histograms(
    url: str, user_id: int, city: City, rng: np.random.Generator, n: int, colors: bool
) -> list[float]:
    from sqlmodel import Session

    from app.auth.principal import Principal
    from app.cameras import repository as cameras
    from app.db import make_engine
    from app.events import repository as repo
    from app.identity.models import Role

    engine = make_engine(url)
    who = Principal(user_id=user_id, username="officer", role=Role.officer, org_id=None)
    times = []
    for i in range(n):
        w = int(rng.integers(WARDS))
        day = int(rng.integers(0, DAYS - 7))
        start = EPOCH + timedelta(days=day, hours=int(rng.integers(24)))
        labels = [LABELS[int(rng.integers(6))]] if i % 3 == 1 else []
        with Session(engine) as s:
            t = time.perf_counter()
            cams, _ = cameras.resolve_place(s, who, near=city.ward_centre[w], radius_m=5000)
            q = repo.HistogramQuery(
                cams,
                start,
                start + timedelta(days=7),
                timedelta(hours=1),
                labels,
                ["red"] if colors else [],
            )
            repo.histogram(s, q)
            times.append((time.perf_counter() - t) * 1000)
    engine.dispose()
    return times


# ----------------------------------------------------------------------------------------------


def warm(loaded: Loaded) -> None:
    """Read the database once so the OS cache holds it, as on a server whose working set fits
    in RAM. When the database is larger than half the RAM (100 M events here), only what
    search reads first (the search indexes and the roll-up) is read; the table pages then
    come from disk as queries need them, and the figures include that."""
    t = time.perf_counter()
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    fits = loaded.size_bytes < ram / 2
    if loaded.url.startswith("sqlite"):
        path = Path(loaded.url.split("///", 1)[1])
        for p in path.parent.iterdir() if fits else []:
            with p.open("rb") as fh:
                while fh.read(1 << 24):
                    pass
    else:
        dsn = loaded.url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(dsn, autocommit=True) as con:
            con.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            rels = ["event"] if fits else []
            rels += [
                "ix_event_camera_start",
                "ix_event_start",
                "ix_event_label_camera_start",
                "ix_event_hourly_cover",
            ]
            for rel in rels:
                con.execute("SELECT pg_prewarm(%s::regclass, 'read')", (rel,))
    what = "everything" if fits else "the search indexes only (larger than half the RAM)"
    log(f"  warmed the OS cache ({what}) in {time.perf_counter() - t:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--engines", default="sqlite,postgres")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--api-queries", type=int, default=None, help="default: --queries")
    ap.add_argument("--baseline-queries", type=int, default=30)
    ap.add_argument("--histograms", type=int, default=100)
    ap.add_argument("--cameras", type=int, default=1000, help="cameras in the city")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the databases (prints where)")
    ap.add_argument("--dump", type=Path, help="write per-query timings (JSON lines) here")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    log(
        f"wardcam search benchmark: {args.events:,} events, {args.cameras} cameras, "
        f"{args.queries} queries, "
        f"engines {engines}; "
        f"{os.cpu_count()} CPUs, load {load_avg()}"
    )
    city = make_city(np.random.default_rng(args.seed), args.cameras)
    final: dict[str, tuple[float, float]] = {}
    report: list[str] = []
    for engine in engines:
        log(f"{engine}: loading {args.events:,} events")
        loaded = (load_sqlite if engine == "sqlite" else load_postgres)(
            city, args.events, args.seed
        )
        try:
            parts = ", ".join(f"{k} {v:.0f} s" for k, v in loaded.parts.items())
            line = (
                f"{engine}: loaded {args.events:,} events in {loaded.load_s:.0f} s ({parts}); "
                f"size on disk {loaded.size_bytes / 2**30:.2f} GiB"
            )
            log(line)
            report.append(line)
            warm(loaded)
            specs = make_specs(
                np.random.default_rng(args.seed + 1), city, loaded.cam_ids, args.queries
            )
            log(f"{engine}: {len(specs)} queries through the repository (load {load_avg()})")
            warm_specs = make_specs(np.random.default_rng(args.seed + 9), city, loaded.cam_ids, 20)
            rt, _, _, counts = run_repository(loaded.url, loaded.user_id, warm_specs + specs)
            rt, counts = rt[20:], counts[20:]
            first = [t for t, s in zip(rt, specs, strict=True) if s.page == 1]
            deep = [t for t, s in zip(rt, specs, strict=True) if s.page > 1]
            report.append(
                f"{engine} repository (all)     {summary(rt)}  "
                f"(mean rows {statistics.mean(counts):.0f})"
            )
            report.append(f"{engine} repository first pg  {summary(first)}")
            report.append(f"{engine} repository deep pg   {summary(deep)}")
            for label, sel in (
                ("1h-3h windows", lambda s: s.end - s.start <= timedelta(hours=3)),
                ("7d windows", lambda s: s.end - s.start >= timedelta(days=7)),
                ("with label/colour", lambda s: bool(s.labels or s.colors)),
                ("limit 50/100", lambda s: s.limit <= 100),
                ("limit 500", lambda s: s.limit == 500),
            ):
                sub = [t for t, s in zip(rt, specs, strict=True) if sel(s)]
                report.append(f"{engine} repository {label:<17s} {summary(sub)}")
            n_api = args.api_queries if args.api_queries is not None else len(specs)
            log(f"{engine}: {n_api} queries through the API (load {load_avg()})")
            api_dir = Path(tempfile.mkdtemp(prefix="wardcam_bench_api_"))
            try:
                at = run_api(loaded.url, loaded.token, warm_specs + specs[:n_api], api_dir)[20:]
            finally:
                shutil.rmtree(api_dir, ignore_errors=True)
            report.append(f"{engine} api (all)            {summary(at)}")
            nb = min(args.baseline_queries, len(specs))
            log(f"{engine}: {nb} baseline queries (full scan + OFFSET; load {load_avg()})")
            bt = run_baseline(loaded.url, loaded.user_id, specs[:nb])
            same = rt[:nb]
            report.append(f"{engine} baseline (offset, no index) {summary(bt)}")
            report.append(
                f"{engine} indexed, same {nb} queries   {summary(same)}  "
                f"-> p50 ratio {pct(bt, 50) / pct(same, 50):.0f}x, "
                f"p95 ratio {pct(bt, 95) / pct(same, 95):.0f}x"
            )
            log(f"{engine}: histograms 7 d x 5 km, bucket 1 h (load {load_avg()})")
            ht = run_histograms(
                loaded.url,
                loaded.user_id,
                city,
                np.random.default_rng(args.seed + 2),
                args.histograms,
                False,
            )
            report.append(f"{engine} histogram 7d/5km/1h        {summary(ht)}")
            hc = run_histograms(
                loaded.url,
                loaded.user_id,
                city,
                np.random.default_rng(args.seed + 3),
                max(5, args.histograms // 10),
                True,
            )
            report.append(f"{engine} histogram +colour (raw)    {summary(hc)}")
            final[engine] = (pct(rt, 95), pct(at, 95))
            for line in report[-14:]:
                print("  " + line, flush=True)
        finally:
            if args.keep:
                log(f"{engine}: kept at {loaded.url}")
            else:
                loaded.cleanup()
    print()
    print(f"load average at the end: {load_avg()}")
    for line in report:
        print(line)
    print(
        f"p95 at {args.events / 1e6:g} M events: "
        + "; ".join(f"{e} repository {r:.2f} ms, api {a:.2f} ms" for e, (r, a) in final.items())
    )


if __name__ == "__main__":
    main()
