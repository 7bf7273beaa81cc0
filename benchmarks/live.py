"""Live dual-stream cameras on one node: recorded from the main stream, indexed from the
sub-stream, and whether the node keeps up.

N simulated cameras are served on loopback by the tests' real RTSP server (gst-rtsp-server,
Digest auth), each with two streams of the same shared clip, looped at real time: a main
stream (720p H.264, about 2 Mbit/s) and a detect sub-stream (360p H.264, about 0.5 Mbit/s),
both with a 2 s GOP; the cameras take the shared clips in turn, so the node sees every kind
of scene at once, busy ones included. They are registered in a fresh PostgreSQL database
with both stream URLs. One node process, ``wardcam worker --concurrency C`` (the in-process
job pool), records both streams of every camera by stream copy and runs the index jobs:
each recorded main segment is indexed from the detect segments that cover it (the part of
them it needs) with the real detector.

After a warm-up (every camera has an indexed segment), over ``--seconds`` it measures the
worker's CPU and, for every main segment ending in the window, when its index was done: the
*index lag* (done - the segment's end) includes the wait for the detect stream to be stored
(the job looks again a few seconds later when it is not yet) and any queue. The node keeps
up when every such segment is indexed, the p95 lag is at most two segments plus that retry
delay, and the lag of the window's last third is no worse than that of its first (no
backlog growing). Recording is checked as in ``benchmarks/fleet.py`` (no segment lost or
duplicated).

    nice -n 10 .venv/bin/python -m benchmarks.live [--cameras 30] [--seconds 300]
        [--segment 60] [--concurrency 3]

The detector is ``WARDCAM_DETECTOR_MODEL`` (the shared yolo11n INT8 OpenVINO export by
default). The last line says how many cameras, the index lag, and whether the node kept up.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from app.events.jobs import NOT_READY_DELAY_S as RETRY_S
from benchmarks._common import FOOTAGE, offline_yolo, stop_on_signals
from benchmarks.fleet import OVERLAP_S, Bench, check, cpu_s, tree, wait_for
from benchmarks.renditions import Recipe, _height, make
from tests.servers.rtsp import Listener, Mount, RtspServer

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT.parent / "shared" / "assets" / "models" / "yolo11n_int8_openvino_model"


class Node(Bench):
    """The fleet benchmark's database and camera registry, with dual-stream cameras and a
    node that records and indexes."""

    def node(self, concurrency: int, recorders_apart: bool = False) -> list[psutil.Process]:
        """The node's processes: one worker that records and indexes, or (``recorders_apart``)
        a worker that only indexes beside a `wardcam recorders` process that only records."""
        log = (self.work / "node.log").open("ab")
        capacity = "0" if recorders_apart else "2000"
        commands = [["worker", "--concurrency", str(concurrency), "--record-capacity", capacity]]
        if recorders_apart:
            commands.append(["recorders", "--capacity", "2000"])
        out = []
        for command in commands:
            proc = subprocess.Popen(
                [sys.executable, "-m", "app", *command], env=self.env, stdout=log, stderr=log
            )
            self.procs.append(proc)
            out.append(psutil.Process(proc.pid))
        return out

    def indexed(self) -> dict[int, int]:
        """Per camera, main segments whose index is done."""
        rows = self.q(
            "SELECT s.camera_id, count(*) FROM segment s JOIN job j ON j.segment_id = s.id "
            "WHERE j.kind = 'index_segment' AND j.state = 'done' GROUP BY s.camera_id"
        )
        return {c: n for c, n in rows}

    def index_lags(self, t0: datetime, t1: datetime) -> list[tuple[datetime, float | None]]:
        """(end, done - end in seconds, None while not done) of every main segment ending in
        [t0, t1]."""
        rows = self.q(
            'SELECT s."end", j.state, j.finished_at FROM segment s '
            "LEFT JOIN job j ON j.segment_id = s.id AND j.kind = 'index_segment' "
            "WHERE s.stream = 'main' AND s.source = 'record' "
            'AND s."end" >= :a AND s."end" <= :b',
            a=t0.replace(tzinfo=None),
            b=t1.replace(tzinfo=None),
        )
        return [
            (e, (f - e).total_seconds() if state == "done" and f is not None else None)
            for e, state, f in rows
        ]

    def waiting(self) -> int:
        return int(
            self.q(
                "SELECT count(*) FROM job WHERE kind = 'index_segment' "
                "AND state IN ('pending', 'running')"
            )[0][0]
        )

    def events(self, t0: datetime, t1: datetime) -> int:
        return int(
            self.q(
                'SELECT count(*) FROM event e JOIN segment s ON s.id = e.segment_id '
                'WHERE s."end" >= :a AND s."end" <= :b',
                a=t0.replace(tzinfo=None),
                b=t1.replace(tzinfo=None),
            )[0][0]
        )


def p95(values: list[float]) -> float:
    v = sorted(values)
    return v[int(0.95 * (len(v) - 1))] if v else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cameras", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=300, help="measurement window")
    ap.add_argument("--segment", type=int, default=60, help="segment seconds (the default)")
    ap.add_argument("--concurrency", type=int, default=3,
                    help="index jobs at once (one more than the 2-core node's cores)")
    ap.add_argument("--clips", default="", help="comma-separated shared clips (default: all)")
    ap.add_argument("--lease", type=float, default=30.0)
    ap.add_argument("--poll", type=float, default=5.0)
    ap.add_argument("--keep-logs", type=Path, help="copy the node's log into this folder")
    ap.add_argument("--recorders-apart", action="store_true",
                    help="record in a `wardcam recorders` process beside the worker, which "
                    "then only indexes (`--record-capacity 0`)")
    args = ap.parse_args()
    if args.seconds < 3 * args.segment:
        # the growth check compares segments ending in the first and the last third
        ap.error(f"--seconds {args.seconds:g} is too short to tell whether the lag grows: "
                 f"at least 3 segments ({3 * args.segment} s with --segment {args.segment})")
    stop_on_signals()
    args.processes, args.steps = 1, str(args.cameras)  # what Bench reads
    os.environ.setdefault("WARDCAM_DETECTOR_MODEL", str(DEFAULT_MODEL))
    os.environ.setdefault("WARDCAM_DETECTOR_DEVICE", "cpu")
    offline_yolo()  # the worker inherits it; its settings folder is removed at exit
    clips = [c for c in args.clips.split(",") if c] or sorted(p.name for p in FOOTAGE.glob("*.mp4"))
    main_r = Recipe("live-main720", size=_height(720), bit_rate=2_000_000, gop_s=2.0)
    sub_r = Recipe("live-sub360", size=_height(360), bit_rate=500_000, gop_s=2.0)
    mounts: list[Mount] = []
    for k, clip in enumerate(clips):
        mounts.append(Mount(f"/main{k}", str(make(FOOTAGE / clip, main_r))))
        mounts.append(Mount(f"/sub{k}", str(make(FOOTAGE / clip, sub_r))))
    ncpu = psutil.cpu_count() or 1
    topology = (
        f"`wardcam worker --concurrency {args.concurrency} --record-capacity 0` indexes, "
        "`wardcam recorders` records"
        if args.recorders_apart
        else f"one `wardcam worker --concurrency {args.concurrency}` records and indexes"
    )
    print(
        f"cameras: {args.cameras}, each a 720p main stream (2 Mbit/s) and a 360p sub-stream "
        f"(0.5 Mbit/s) of one of {len(clips)} shared clips, H.264, GOP 2 s, looped, "
        "gst-rtsp-server, Digest auth",
    )
    print(
        f"node: {ncpu} CPUs, load average at start {os.getloadavg()}; {topology}; "
        f"segment {args.segment} s; "
        f"model {os.environ['WARDCAM_DETECTOR_MODEL']}",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="wardcam-live-bench-"))
    node = Node(args, work)
    try:
        with RtspServer(mounts, [Listener("digest", auth="digest")], workdir=work / "srv") as srv:
            server = psutil.Process(srv.pid)
            node_procs = node.node(args.concurrency, args.recorders_apart)
            wait_for(
                "the node to start",
                lambda: "in-process worker" in (work / "node.log").read_text(errors="replace"),
                180,
            )
            k = len(clips)
            node.add_cameras(
                [srv.url("digest", f"/main{i % k}") for i in range(args.cameras)],
                [srv.url("digest", f"/sub{i % k}") for i in range(args.cameras)],
            )
            warm = wait_for(
                "every camera indexed once",
                lambda: len(node.indexed()) >= args.cameras,
                args.segment * 4 + RETRY_S + 240,
            )
            print(f"warm-up: every camera had an indexed segment after {warm:.0f} s", flush=True)
            procs = [p for root in node_procs for p in tree(root)]
            c0, s0 = cpu_s(procs), sum(server.cpu_times()[:2])
            q0 = node.waiting()
            t0, w0 = datetime.now(UTC), time.monotonic()
            queue_seen: list[int] = []
            while time.monotonic() - w0 < args.seconds:
                time.sleep(5)
                queue_seen.append(node.waiting())
            wall = time.monotonic() - w0
            t1 = datetime.now(UTC)
            cpu = 100 * (cpu_s(procs) - c0) / wall / ncpu
            srv_cpu = 100 * (sum(server.cpu_times()[:2]) - s0) / wall / ncpu
            q1 = node.waiting()
            bound = 2 * args.segment + RETRY_S
            # the window's segments get the time the bound gives them to be indexed
            deadline = time.monotonic() + bound + args.segment
            while time.monotonic() < deadline:
                if all(lag is not None for _, lag in node.index_lags(t0, t1)):
                    break
                time.sleep(2)
            rows = node.index_lags(t0, t1)
            n_events = node.events(t0, t1)
            node.settle(t1, args.segment + 5)
            spans = node.spans()
            lost, dup = check(spans, t0, t1, args.segment + 2.5)
            small: list[float] = []  # overlaps of a frame or two (not counted), in ms
            small_cams: set[int] = set()
            for cam, seen in spans.items():  # the duplicates in full, the rest summed up
                for (a1, b1), (a2, b2) in itertools.pairwise(seen):
                    over = (b1 - a2).total_seconds()
                    if a2 == a1 or over > OVERLAP_S:
                        print(f"  camera {cam}: {a1}..{b1} and {a2}..{b2} overlap by "
                              f"{over * 1000:.0f} ms (duplicated)")
                    elif over > 0.01:
                        small.append(over * 1000)
                        small_cams.add(cam)
            if small:
                print(f"  {len(small)} overlaps of {min(small):.0f}-{max(small):.0f} ms on "
                      f"{len(small_cams)} cameras (a frame or two at a cut: not counted)")
    finally:
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            log = work / "node.log"
            if log.exists():
                (args.keep_logs / "node.log").write_bytes(log.read_bytes())
        try:
            node.close()
        finally:  # the recorded footage: about 9 GB in 10 minutes at 30 cameras
            shutil.rmtree(work, ignore_errors=True)
    who = "worker and recorders" if args.recorders_apart else "worker"
    done = [lag for _, lag in rows if lag is not None]
    missing = sum(1 for _, lag in rows if lag is None)
    third = (t1 - t0) / 3
    first = [lag for e, lag in rows if lag is not None and e.replace(tzinfo=UTC) < t0 + third]
    last = [lag for e, lag in rows if lag is not None and e.replace(tzinfo=UTC) >= t1 - third]
    lag95 = p95(done)
    first_med = statistics.median(first) if first else float("nan")
    last_med = statistics.median(last) if last else float("nan")
    kept_up = (
        bool(rows)
        and not missing
        and lag95 <= bound
        and last_med <= first_med + args.segment / 2
        and not lost
        and not dup
    )
    print(
        f"window {wall:.0f} s: {len(rows)} main segments ended, {len(done)} indexed within "
        f"{bound + args.segment:.0f} s of the window's end, {missing} not; index lag p50 "
        f"{statistics.median(done) if done else float('nan'):.1f} s, p95 {lag95:.1f} s, max "
        f"{max(done) if done else float('nan'):.1f} s (median of the first third "
        f"{first_med:.1f} s, of the last {last_med:.1f} s); index jobs waiting at start "
        f"{q0}, at end {q1}, most seen {max(queue_seen, default=0)}; {n_events} events; "
        f"{who} CPU {cpu:.1f}% of the node, RTSP server (the cameras) {srv_cpu:.1f}%; "
        f"recording lost {lost}, duplicated {dup}; load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"live: {args.cameras} dual-stream cameras recorded and indexed on one {ncpu}-CPU node "
        f"({args.concurrency} index jobs at once"
        f"{', recorders in a process apart' if args.recorders_apart else ''}): index lag p95 "
        f"{lag95:.1f} s (bound {bound:.0f} s), {who} {cpu:.1f}% of the node, "
        f"{'kept up' if kept_up else 'did NOT keep up'}"
    )
    sys.exit(0 if kept_up else 1)


if __name__ == "__main__":
    main()
