"""Load: 8 concurrent uploaders of the shared footage and 32 concurrent searchers for 60 s
against a served instance (uvicorn on loopback), first on the embedded default (SQLite,
local store, in-process jobs), then at scale (PostgreSQL + Redis/Celery + SeaweedFS).
Reports requests/s, p50/p95/p99 per endpoint and errors, then waits until every uploaded
segment is indexed. Bounded in time and count; loopback only.

    .venv/bin/python -m benchmarks.load [--seconds 60] [--uploaders 8] [--searchers 32]
                                        [--configs embedded,scale]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import psycopg

from benchmarks._common import FOOTAGE, ROOT, Served, served

MODEL = ROOT.parent / "shared" / "assets" / "models" / "yolo11n_int8_openvino_model"
PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def setup_world(s: Served, uploaders: int) -> tuple[list[str], list[int], str]:
    org = httpx.post(
        f"{s.base}/orgs", json={"name": "load ward", "kind": "ward"}, headers=s.h()
    ).json()
    police = httpx.post(
        f"{s.base}/orgs", json={"name": "load police", "kind": "police"}, headers=s.h()
    ).json()
    ward = httpx.post(
        f"{s.base}/users",
        json={"username": "loadward", "role": "ward", "org_id": org["id"]},
        headers=s.h(),
    ).json()["api_key"]
    officer = httpx.post(
        f"{s.base}/users",
        json={"username": "loadofficer", "role": "officer", "org_id": police["id"]},
        headers=s.h(),
    ).json()["api_key"]
    cams = []
    for i in range(uploaders):
        cams.append(
            httpx.post(
                f"{s.base}/cameras",
                headers=s.h(ward),
                json={
                    "name": f"load {i}",
                    "latitude": 27.70 + i * 0.002,
                    "longitude": 85.32,
                    "timezone": "UTC",
                },
            ).json()["id"]
        )
    return [ward] * uploaders, cams, officer


def run(s: Served, seconds: float, uploaders: int, searchers: int) -> dict[str, object]:
    wards, cams, officer = setup_world(s, uploaders)
    clips = [p.read_bytes() for p in sorted(FOOTAGE.glob("*.mp4"))]
    lat: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    uploaded: list[int] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    base = datetime(2024, 5, 1, tzinfo=UTC)

    def uploader(i: int) -> None:
        n = 0
        with httpx.Client(base_url=s.base, timeout=120) as c:
            while time.monotonic() < stop_at and n < 500:
                data = (
                    clips[n % len(clips)]
                    + (16).to_bytes(4, "big")
                    + b"free"
                    + (i * 1000 + n).to_bytes(8, "big")
                )
                start = base + timedelta(minutes=n)
                t0 = time.perf_counter()
                r = c.post(
                    f"/cameras/{cams[i]}/footage",
                    content=data,
                    params={"start": start.isoformat()},
                    headers=s.h(wards[i]),
                )
                with lock:
                    lat["POST /cameras/{id}/footage"].append(time.perf_counter() - t0)
                    if r.status_code != 201:
                        errors["POST /cameras/{id}/footage"] += 1
                    else:
                        uploaded.append(r.json()["id"])
                n += 1

    def searcher(i: int) -> None:
        rng = random.Random(i)
        n = 0
        with httpx.Client(base_url=s.base, timeout=60) as c:
            while time.monotonic() < stop_at and n < 5000:
                start = base + timedelta(minutes=rng.randint(0, 120))
                params = {
                    "from": start.isoformat(),
                    "to": (start + timedelta(hours=rng.choice([1, 6, 24]))).isoformat(),
                    "near": f"{27.70 + rng.random() * 0.02},85.32",
                    "radius_m": rng.choice([100, 500, 2000]),
                    "purpose": "load test of the search endpoint",
                }
                if rng.random() < 0.5:
                    params["label"] = rng.choice(["car", "person", "motorcycle"])
                t0 = time.perf_counter()
                r = c.get("/events", params=params, headers=s.h(officer))
                with lock:
                    lat["GET /events"].append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        errors["GET /events"] += 1
                n += 1

    threads = [threading.Thread(target=uploader, args=(i,)) for i in range(uploaders)]
    threads += [threading.Thread(target=searcher, args=(i,)) for i in range(searchers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    # Every uploaded segment must get indexed (bounded wait).
    deadline = time.monotonic() + 900
    pending = set(uploaded)
    with httpx.Client(base_url=s.base, timeout=30) as c:
        while pending and time.monotonic() < deadline:
            for seg in list(pending):
                j = c.get(f"/segments/{seg}", headers=s.h(wards[0])).json()["job"]
                if j["state"] == "done":
                    pending.discard(seg)
                elif j["state"] == "failed":
                    errors["indexing failed"] += 1
                    pending.discard(seg)
            time.sleep(1)
    index_wait = time.monotonic() - (deadline - 900)
    total = sum(len(v) for v in lat.values())
    return {
        "wall": wall,
        "lat": lat,
        "errors": dict(errors),
        "uploaded": len(uploaded),
        "unindexed": len(pending),
        "rps": total / wall,
        "index_wait": index_wait,
    }


def report(name: str, res: dict[str, object]) -> None:
    lat = res["lat"]
    assert isinstance(lat, dict)
    print(
        f"\n[{name}] {res['rps']:.1f} requests/s over {res['wall']:.1f} s; "
        f"errors {sum(res['errors'].values()) if res['errors'] else 0} {res['errors']}"
    )  # type: ignore[union-attr]
    for ep, values in sorted(lat.items()):
        print(
            f"  {ep:<28} n={len(values):5d}  p50 {pct(values, 50) * 1000:7.1f} ms  "
            f"p95 {pct(values, 95) * 1000:7.1f} ms  p99 {pct(values, 99) * 1000:7.1f} ms  "
            f"mean {statistics.fmean(values) * 1000:7.1f} ms"
        )
    print(
        f"  uploaded segments: {res['uploaded']}, not indexed after wait: {res['unindexed']} "
        f"(all indexed {res['index_wait']:.0f} s after the load ended)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--uploaders", type=int, default=8)
    ap.add_argument("--searchers", type=int, default=32)
    ap.add_argument("--configs", default="embedded,scale")
    args = ap.parse_args()
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("WARDCAM_DETECTOR_MODEL", str(MODEL))
    print(f"load average {psutil.getloadavg()}; {os.cpu_count()} CPUs")
    results = {}
    for config in args.configs.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"wardcam-load-{config}-"))
        with ExitStack() as stack:
            env: dict[str, str] = {"WARDCAM_JOB_WORKERS": "1"}
            if config == "scale":
                sys.path.insert(0, str(ROOT))
                from tests.storage.seaweed import start_seaweedfs

                s3 = stack.enter_context(start_seaweedfs(work / "s3"))
                db = f"wardcam_load_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(PG, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{db}"')  # type: ignore[arg-type]
                stack.callback(_drop, db)
                redis_db = str(random.randint(1, 15))
                env = {
                    "WARDCAM_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
                    "WARDCAM_STORAGE_URL": s3.url_for("load"),
                    "WARDCAM_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
                }
            s = stack.enter_context(served(work / "data", env))
            if config == "scale":
                worker = subprocess.Popen(
                    [sys.executable, "-m", "app", "worker"],
                    env=s.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                stack.callback(_stop, worker)
            results[config] = run(s, args.seconds, args.uploaders, args.searchers)
            report(config, results[config])
        shutil.rmtree(work, ignore_errors=True)
    parts = []
    for name, res in results.items():
        lat = res["lat"]
        assert isinstance(lat, dict)
        errs = sum(res["errors"].values())  # type: ignore[union-attr]
        parts.append(
            f"{name}: {res['rps']:.0f} req/s, search p95 "
            f"{pct(lat['GET /events'], 95) * 1000:.0f} ms, upload p95 "
            f"{pct(lat['POST /cameras/{id}/footage'], 95) * 1000:.0f} ms, "
            f"{errs} errors, {res['unindexed']} unindexed"
        )
    print("; ".join(parts))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(30)


def _drop(db: str) -> None:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
