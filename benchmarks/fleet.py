"""The recording fleet on one node: how many cameras the recording supervisor records with no
segment lost or duplicated below a CPU budget while keeping up, the memory per camera, and
how long another worker takes to take the cameras over when the first is SIGKILLed.

N simulated cameras are served on loopback by the tests' real RTSP server (gst-rtsp-server,
Digest auth; each mount a 720p H.264 rendition of a shared clip at about 3 Mbit/s with a 2 s
GOP, looped at real time, one pipeline per client). The cameras are registered in a fresh
PostgreSQL database with encrypted stream URLs; worker A (`wardcam recorders`, a separate
process) records them by stream copy into segments stored in a local object store. The number
of cameras grows step by step (`--steps`); at each step, once every camera has stored a
segment, A's CPU (user + system, over `--seconds`) and RSS are measured and every stream's
record over the window is checked: a hole of more than 0.5 s between segments, or a stream
that stored nothing, is a *lost* segment; two segments of one stream that overlap, or share a
start, are *duplicated* (an overlap of a frame or two is not: see `OVERLAP_S`); a step passes
only if the worker keeps up too (segments stored, p95, within one segment length of their
end). Then worker B is started, A is SIGKILLed, and the
time until B holds every stream (and has stored a segment of each) is the take-over time.
With `--processes N` each worker is `wardcam recorders --processes N` (N supervisor processes
under one parent, the capacity split evenly: `--steps`' largest count in all, and each step's
cameras split evenly: a fair share each); its CPU and RSS
are those of the whole process tree, and killing a worker kills the tree (a node lost).

    nice -n 10 .venv/bin/python -m benchmarks.fleet [--steps 8,16,32,64] [--seconds 40]
        [--processes 1]

CPU % is of the whole node (all its cores); the RTSP server's own CPU (the cameras) is
reported apart, as is the load average (the machine may be shared). The last line names the
camera count and the lost/duplicated segment counts.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import psycopg
from sqlalchemy import text

from benchmarks._common import FOOTAGE, stop_on_signals
from benchmarks.renditions import Recipe, _height, make
from tests.servers.rtsp import Listener, Mount, RtspServer

PG_ADMIN = os.environ.get("WARDCAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
HOLE_S = 0.5
#: Two segments of one stream that overlap by more than this are *duplicated* footage. Up to it
#: is a source's timestamps at a cut: a camera (or the test server looping its file) that gives
#: the first frame after a jump the previous frame's timestamp makes the segment before the
#: cut end a frame or two after the next one starts (its file's frames run that long), while
#: every packet is still in one segment only. The same tolerance as the product's own
#: contiguity test (`tests/app/footage/test_import_record.py`).
OVERLAP_S = 0.2


def _db(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        from app.context import AppContext
        from app.db import run_migrations
        from app.settings import Settings

        self.args = args
        self.work = work
        self.dbname = f"wardcam_bench_fleet_{uuid.uuid4().hex[:8]}"
        _admin(f'CREATE DATABASE "{self.dbname}"')
        # the node's temp files (the index jobs' copies of footage) inside the work folder: a
        # worker stopped mid-job leaves them, and they go with the rest of the run
        (work / "tmp").mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "TMPDIR": str(work / "tmp"),
            "WARDCAM_DATABASE_URL": _db(self.dbname),
            "WARDCAM_SECRET_KEY": secrets.token_urlsafe(48),
            "WARDCAM_DATA_DIR": str(work / "data"),
            "WARDCAM_STORAGE_URL": f"file://{work / 'objects'}",
            "WARDCAM_SEGMENT_SECONDS": str(args.segment),
            "WARDCAM_RECORD_LEASE_S": str(args.lease),
            "WARDCAM_RECORD_POLL_S": str(args.poll),
            "WARDCAM_LOG_FORMAT": "text",
        }
        settings = Settings(
            data_dir=work / "data",
            database_url=self.env["WARDCAM_DATABASE_URL"],
            storage_url=self.env["WARDCAM_STORAGE_URL"],
            secret_key=self.env["WARDCAM_SECRET_KEY"],
        )
        self.ctx = AppContext.from_settings(settings)
        run_migrations(self.ctx.engine)
        self.org_id = self._org()
        self.cameras: list[int] = []
        self.procs: list[subprocess.Popen[bytes]] = []

    def _org(self) -> int:
        from app.identity.models import Organisation, OrgKind

        with self.ctx.transaction() as session:
            org = Organisation(name="bench ward", kind=OrgKind.ward)
            session.add(org)
            session.flush()
            assert org.id is not None
            return org.id

    def add_cameras(self, urls: list[str], detect_urls: list[str] | None = None) -> None:
        """Register cameras with these stream URLs (and these detect sub-stream URLs)."""
        from app.cameras.models import Camera, CameraStatus, SharingPolicy

        subs: list[str | None] = list(detect_urls) if detect_urls else [None] * len(urls)
        with self.ctx.transaction() as session:
            for url, sub in zip(urls, subs, strict=True):
                cam = Camera(
                    org_id=self.org_id,
                    name=f"bench {len(self.cameras)}",
                    latitude=21.03,
                    longitude=105.85,
                    timezone="Asia/Ho_Chi_Minh",
                    stream_url_encrypted=self.ctx.secret_box.encrypt(url),
                    detect_url_encrypted=self.ctx.secret_box.encrypt(sub) if sub else None,
                    sharing_policy=SharingPolicy.owner_approval,
                    status=CameraStatus.active,
                )
                session.add(cam)
                session.flush()
                assert cam.id is not None
                self.cameras.append(cam.id)

    def worker(self, name: str) -> psutil.Process:
        log = (self.work / f"{name}.log").open("ab")
        n = self.args.processes
        # One process: no limit. Several: the largest step in all, split between them (each
        # also claims only a fair share of the cameras it sees new: an even split per step).
        capacity = 100000 if n == 1 else max(int(x) for x in self.args.steps.split(","))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "recorders",
                "--capacity",
                str(capacity),
                "--processes",
                str(n),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        self.procs.append(proc)
        return psutil.Process(proc.pid)

    def worker_ids(self, name: str) -> set[str]:
        """The supervisors' identities a worker (all its processes) announced."""
        ids = {
            line.split()[2].rstrip(":")
            for line in (self.work / f"{name}.log").read_text(errors="replace").splitlines()
            if line.startswith("recording supervisor ")
        }
        if not ids:
            raise RuntimeError(f"worker {name} did not say who it is")
        return ids

    def started(self, name: str) -> bool:
        """Every supervisor process of the worker is up."""
        log = (self.work / f"{name}.log").read_text(errors="replace")
        return log.count("recording supervisor ") >= self.args.processes

    def q(self, sql: str, **params: Any) -> list[Any]:
        with self.ctx.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def holders(self) -> dict[int, str | None]:
        rows = self.q("SELECT camera_id, worker FROM camera_stream WHERE stream = 'main'")
        return {c: w for c, w in rows}

    def stored_since(self, since: datetime) -> set[int]:
        rows = self.q(
            "SELECT DISTINCT camera_id FROM segment WHERE source = 'record' AND start >= :t",
            t=since.replace(tzinfo=None),
        )
        return {r[0] for r in rows}

    def spans(self) -> dict[int, list[tuple[datetime, datetime]]]:
        out: dict[int, list[tuple[datetime, datetime]]] = {c: [] for c in self.cameras}
        for c, a, b in self.q(
            "SELECT camera_id, start, \"end\" FROM segment WHERE source = 'record' "
            "AND stream = 'main' ORDER BY camera_id, start"
        ):
            out.setdefault(c, []).append((a.replace(tzinfo=UTC), b.replace(tzinfo=UTC)))
        return out

    def settle(self, t1: datetime, quiet_s: float) -> None:
        """Wait until no more segments starting before `t1` arrive (the worker caught up)."""
        last, since = -1, time.monotonic()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            n = self.q("SELECT count(*) FROM segment WHERE start < :t", t=t1.replace(tzinfo=None))[
                0
            ][0]
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(1)

    def store_lag(self, t0: datetime, t1: datetime) -> float:
        """p95 of how long after its end a segment ending in [t0, t1] was stored."""
        rows = self.q(
            'SELECT ingested_at, "end" FROM segment WHERE "end" >= :a AND "end" <= :b',
            a=t0.replace(tzinfo=None),
            b=t1.replace(tzinfo=None),
        )
        lags = sorted((i - e).total_seconds() for i, e in rows)
        return lags[int(0.95 * (len(lags) - 1))] if lags else float("nan")

    def handover_lag(self) -> float:
        """p95 over the streams of how long after its end their last segment was handed to
        the store (`camera_stream.lag_s`): the recorders' part of `store_lag`."""
        lags = sorted(
            float(x) for (x,) in self.q("SELECT lag_s FROM camera_stream") if x is not None
        )
        return lags[int(0.95 * (len(lags) - 1))] if lags else float("nan")

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                for q in tree(psutil.Process(p.pid)):  # and its recorder processes
                    with contextlib.suppress(psutil.NoSuchProcess):
                        q.kill()
                p.wait(30)
        self.ctx.close()
        _admin(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')


def check(
    spans: dict[int, list[tuple[datetime, datetime]]], t0: datetime, t1: datetime, slack_s: float
) -> tuple[int, int]:
    """(lost, duplicated) segments of every stream over [t0, t1]: holes, missing edges,
    overlaps. `slack_s`: a segment plus a GOP (the edges of the window)."""
    lost = dup = 0
    for cam, all_spans in spans.items():
        keys = [a for a, _ in all_spans]
        dup += len(keys) - len(set(keys))
        inside = [(a, b) for a, b in all_spans if b > t0 and a < t1]
        if not inside:
            lost += 1
            continue
        if (inside[0][0] - t0).total_seconds() > slack_s:
            lost += 1
        if (t1 - inside[-1][1]).total_seconds() > slack_s:
            lost += 1
        for (_a1, b1), (a2, _b2) in itertools.pairwise(inside):
            gap = (a2 - b1).total_seconds()
            if gap > HOLE_S:
                lost += max(1, round(gap / 10))
            elif gap < -OVERLAP_S:
                dup += 1
        del cam
    return lost, dup


def passed(r: dict[str, Any], args: argparse.Namespace) -> bool:
    """No segment lost or duplicated, under the CPU budget, and keeping up: segments stored
    (p95) within one segment length of their end (a worker falling behind builds a backlog
    that a crash would lose, whatever its CPU figure says)."""
    return (
        not r["lost"] and not r["dup"] and r["cpu"] < args.max_cpu and r["lag_p95"] <= args.segment
    )


def tree(p: psutil.Process) -> list[psutil.Process]:
    try:
        return [p, *p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return [p]


def cpu_s(procs: list[psutil.Process]) -> float:
    """User + system CPU seconds of these processes (those gone count for nothing)."""
    total = 0.0
    for q in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += sum(q.cpu_times()[:2])
    return total


def rss(p: psutil.Process) -> int:
    total = 0
    for q in tree(p):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += q.memory_info().rss
    return total


def wait_for(what: str, cond: Any, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(0.5)
    raise TimeoutError(what)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", default="8,16,32,64", help="camera counts, in order")
    ap.add_argument("--seconds", type=float, default=40, help="measurement window per step")
    ap.add_argument("--segment", type=int, default=10, help="segment seconds (>= 5)")
    ap.add_argument("--lease", type=float, default=30.0, help="WARDCAM_RECORD_LEASE_S")
    ap.add_argument("--poll", type=float, default=5.0, help="WARDCAM_RECORD_POLL_S")
    ap.add_argument("--max-cpu", type=float, default=70.0, help="node CPU %% budget")
    ap.add_argument("--clip", default="intersection_cctv_day.mp4")
    ap.add_argument("--bitrate", type=int, default=3_000_000)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--processes", type=int, default=1, help="recorder processes per worker")
    ap.add_argument("--keep-logs", type=Path, help="copy the workers' logs into this folder")
    args = ap.parse_args()
    stop_on_signals()
    steps = [int(x) for x in args.steps.split(",")]
    ncpu = psutil.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="wardcam-fleet-bench-"))
    src = make(
        FOOTAGE / args.clip,
        Recipe(
            f"fleet{args.height}-{args.bitrate // 1000}k",
            size=_height(args.height),
            bit_rate=args.bitrate,
            gop_s=2.0,
        ),
    )
    import av

    with av.open(str(src)) as c:
        v = c.streams.video[0]
        mbps = src.stat().st_size * 8 / (c.duration / 1e6) / 1e6
        desc = f"{v.codec_context.width}x{v.codec_context.height} {mbps:.1f} Mbit/s"
    print(f"cameras: {src.name} ({desc}, GOP 2 s), gst-rtsp-server, Digest auth, looped")
    print(
        f"node: {ncpu} CPUs; load average at start {os.getloadavg()}; "
        f"segment {args.segment} s, lease {args.lease} s, poll {args.poll} s, "
        f"{args.processes} recorder process(es) per worker",
        flush=True,
    )
    mounts = [Mount(f"/cam{i}", str(src)) for i in range(max(steps))]
    bench = Bench(args, work)
    results: list[dict[str, Any]] = []
    takeover: dict[str, Any] = {}
    try:
        with RtspServer(mounts, [Listener("digest", auth="digest")], workdir=work / "srv") as srv:
            server = psutil.Process(srv.pid)
            a = bench.worker("a")
            wait_for("worker A to start", lambda: bench.started("a"), 120)
            time.sleep(args.poll * 2 + 1)  # its first polls done: the idle footprint
            rss_idle = rss(a)
            for n in steps:
                add = [srv.url("digest", f"/cam{i}") for i in range(len(bench.cameras), n)]
                started = datetime.now(UTC)
                bench.add_cameras(add)
                try:
                    ramp = wait_for(
                        f"{n} cameras recording",
                        lambda started=started, k=len(add), n=n: (
                            len(bench.stored_since(started)) >= k
                            and sum(1 for w in bench.holders().values() if w) >= n
                        ),
                        args.segment * 3 + args.poll + 60,
                    )
                except TimeoutError:
                    print(f"{n:4d} cameras: not all recording within the time allowed; stop")
                    break
                procs = tree(a)
                c0 = cpu_s(procs)
                s0 = sum(server.cpu_times()[:2])
                t0 = datetime.now(UTC)
                w0 = time.monotonic()
                rss_seen: list[int] = []
                while time.monotonic() - w0 < args.seconds:
                    time.sleep(1)
                    rss_seen.append(rss(a))
                wall = time.monotonic() - w0
                t1 = datetime.now(UTC)
                handover = bench.handover_lag()
                cpu = 100 * (cpu_s(procs) - c0) / wall / ncpu
                srv_cpu = 100 * (sum(server.cpu_times()[:2]) - s0) / wall / ncpu
                bench.settle(t1, args.segment + 5)  # the window's last segments are stored
                lost, dup = check(bench.spans(), t0, t1, args.segment + 2.5)
                lag = bench.store_lag(t0, t1)
                r = {
                    "n": n,
                    "cpu": cpu,
                    "server_cpu": srv_cpu,
                    "rss_per_cam_mib": (statistics.median(rss_seen) - rss_idle) / n / 2**20,
                    "lost": lost,
                    "dup": dup,
                    "ramp_s": ramp,
                    "load": os.getloadavg()[0],
                    "lag_p95": lag,
                    "handover_p95": handover,
                }
                results.append(r)
                print(
                    f"{n:4d} cameras: worker CPU {cpu:5.1f}% of the node, RTSP server "
                    f"{srv_cpu:5.1f}%, RSS {r['rss_per_cam_mib']:.2f} MiB/camera, lost {lost}, "
                    f"duplicated {dup}, stored p95 {lag:.1f} s after their end (handed over p95 "
                    f"{handover:.1f} s), "
                    f"all recording after {ramp:.0f} s, "
                    f"load {r['load']:.1f}",
                    flush=True,
                )
                if not passed(r, args):
                    break
            # Take-over: B is up, A is killed.
            b = bench.worker("b")
            wait_for("worker B to start", lambda: bench.started("b"), 120)
            time.sleep(args.poll * 2 + 1)  # B polls: it must take nothing while A lives
            a_name = bench.worker_ids("a")
            for q in tree(a):  # the parent first: it would restart a child killed before it
                q.send_signal(signal.SIGKILL)
            killed = datetime.now(UTC)
            try:
                held = wait_for(
                    "B holds every stream",
                    lambda: all(w and w not in a_name for w in bench.holders().values()),
                    args.lease + args.poll + 120,
                )
                stored = wait_for(
                    "B stored a segment of every stream",
                    lambda: len(bench.stored_since(killed)) >= len(bench.cameras),
                    args.segment * 3 + 120,
                )
                takeover = {"held_s": held, "stored_s": held + stored}
            except TimeoutError as exc:
                takeover = {"error": str(exc)}
            time.sleep(args.segment * 2 + 3)
            spans = bench.spans()
            gaps = []
            for cam_spans in spans.values():
                around = [
                    (a2 - b1).total_seconds()
                    for (_a1, b1), (a2, _b2) in itertools.pairwise(cam_spans)
                    if b1 <= killed + timedelta(seconds=args.segment) and a2 >= killed
                ]
                gaps.append(max(around, default=0.0))
            keys = [(c, a0) for c, ss in spans.items() for a0, _ in ss]
            takeover["dup_total"] = len(keys) - len(set(keys))
            takeover["gap_max_s"] = max(gaps, default=0.0)
            takeover["n"] = len(bench.cameras)
            b.send_signal(signal.SIGTERM)
            b.wait(120)
    finally:
        try:
            bench.close()
        finally:  # the recorded footage: gigabytes a run, and a full disk stops PostgreSQL
            if args.keep_logs:
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for f in work.glob("*.log"):
                    shutil.copy(f, args.keep_logs / f.name)
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(
        "| cameras | worker CPU (node %) | RTSP server CPU | RSS / camera | lost "
        "| duplicated | stored p95 after end | handed over p95 | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['n']} | {r['cpu']:.1f} | {r['server_cpu']:.1f} | "
            f"{r['rss_per_cam_mib']:.2f} MiB | {r['lost']} | {r['dup']} | "
            f"{r['lag_p95']:.1f} s | {r['handover_p95']:.1f} s | {r['load']:.1f} |"
        )
    print(f"take-over after SIGKILL ({takeover.get('n')} cameras): {takeover}")
    ok = [r for r in results if passed(r, args)]
    best = max(ok, key=lambda r: r["n"]) if ok else None
    if best is None:
        print("fleet: no step passed (0 cameras recorded without loss under the CPU budget)")
        return
    print(
        f"fleet: {best['n']} cameras recorded with {best['lost']} lost / {best['dup']} duplicated "
        f"segments at {best['cpu']:.1f}% of {ncpu} CPUs (budget {args.max_cpu:.0f}%), stored "
        f"p95 {best['lag_p95']:.1f} s after their end, "
        f"{best['rss_per_cam_mib']:.2f} MiB RSS/camera; take-over "
        f"{takeover.get('held_s', float('nan')):.1f} s (first segments "
        f"{takeover.get('stored_s', float('nan')):.1f} s), "
        f"{takeover.get('dup_total', '?')} duplicated overall"
    )


if __name__ == "__main__":
    main()
