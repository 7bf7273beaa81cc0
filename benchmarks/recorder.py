"""CPU and memory per recorded camera: N cameras served by the real RTSP server of the tests
(gst-rtsp-server, each mount the shared footage looped at real time, Digest auth), recorded by
one process with one ``CameraRecorder`` thread each (stream copy into MP4 segments, SHA-256),
beside a baseline in the same run: the same N streams only received and demuxed by PyAV (no
segment files, no hashing) - the cost of getting the packets at all.

    .venv/bin/python -m benchmarks.recorder [--cameras 20] [--seconds 60] [--segment 10]

CPU is this process's own (user + system), so the server's share is reported apart.  The last
line is the headline: CPU per camera, its ratio to the baseline, and lost/duplicated segments.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import psutil

from benchmarks._common import FOOTAGE
from ingest.recorder import CameraRecorder, RecordedSegment
from tests.servers.rtsp import Listener, Mount, RtspServer


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(run: Callable[[threading.Event], None], n: int, seconds: float, warm: float) -> dict:
    """Start ``n`` threads of ``run``, let them warm up, measure CPU over ``seconds``."""
    stop = threading.Event()
    threads = [threading.Thread(target=run, args=(stop,), daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    time.sleep(warm)
    c0, w0 = cpu_s(), time.monotonic()
    rss = []
    end = w0 + seconds
    while time.monotonic() < end:
        time.sleep(min(1.0, end - time.monotonic()))
        rss.append(psutil.Process().memory_info().rss)
    cpu, wall = cpu_s() - c0, time.monotonic() - w0
    stop.set()
    for t in threads:
        t.join(30)
    return {"cpu_s": cpu, "wall_s": wall, "rss_max": max(rss), "load": os.getloadavg()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cameras", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--segment", type=float, default=10)
    ap.add_argument("--warm", type=float, default=8)
    ap.add_argument("--clip", default="vn_intersection_saigon_day.mp4")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    n = args.cameras
    work = Path(args.workdir or tempfile.mkdtemp(prefix="wardcam-rec-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    clip = FOOTAGE / args.clip
    with av.open(str(clip)) as c:
        has_aac = any(s.codec_context.name == "aac" for s in c.streams.audio)
        v = c.streams.video[0]
        size = (v.width, v.height)
        mbps = clip.stat().st_size * 8 / (c.duration / 1e6) / 1e6
    mounts = [Mount(f"/cam{i}", str(clip), audio="aac" if has_aac else None) for i in range(n)]
    print(
        f"{n} cameras: {clip.name} {size[0]}x{size[1]} ~{mbps:.1f} Mbit/s"
        f"{' + AAC' if has_aac else ''}, looped at real time by gst-rtsp-server (Digest); "
        f"{os.cpu_count()} CPUs; load average before {os.getloadavg()}"
    )
    with RtspServer(mounts, [Listener("digest", auth="digest")], workdir=work / "srv") as srv:
        server = psutil.Process(srv.pid)
        urls = [srv.url("digest", m.path) for m in mounts]

        # Baseline: receive and demux only.
        it = iter(urls)
        lock = threading.Lock()
        packets = [0]

        def demux_only(stop: threading.Event) -> None:
            with lock:
                url = next(it)
            with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(10, 10)) as c:
                for pkt in c.demux():
                    if stop.is_set():
                        return
                    if pkt.size:
                        packets[0] += 1

        s0 = sum(server.cpu_times()[:2])
        base = measure(demux_only, n, args.seconds, args.warm)
        base["server_cpu_s"] = sum(server.cpu_times()[:2]) - s0
        print(
            f"baseline (demux only): {base['cpu_s']:.1f} CPU s in {base['wall_s']:.0f} s = "
            f"{100 * base['cpu_s'] / base['wall_s'] / n:.2f}% of a core per camera; "
            f"{packets[0]} packets; RSS {base['rss_max'] / 1e6:.0f} MB; load {base['load']}"
        )

        # The recorder.
        segs: dict[int, list[RecordedSegment]] = {i: [] for i in range(n)}
        states: dict[int, list[str]] = {i: [] for i in range(n)}
        slot = iter(range(n))
        recs: list[CameraRecorder] = []

        def recorder(stop: threading.Event) -> None:
            with lock:
                i = next(slot)
            rec = CameraRecorder(
                urls[i],
                work / f"cam{i}",
                args.segment,
                name=f"cam{i}",
                on_segment=segs[i].append,
                on_status=lambda s, i=i: states[i].append(s.state),
                reconnect_backoff=(1, 2, 4),
            )
            with lock:
                recs.append(rec)
            rec.start()
            stop.wait()
            rec.stop(30)

        s0 = sum(server.cpu_times()[:2])
        rec_run = measure(recorder, n, args.seconds, args.warm)
        rec_run["server_cpu_s"] = sum(server.cpu_times()[:2]) - s0

    per_cam = 100 * rec_run["cpu_s"] / rec_run["wall_s"] / n
    base_cam = 100 * base["cpu_s"] / base["wall_s"] / n
    all_segs = [s for i in segs for s in segs[i]]
    full = [s for s in all_segs if not s.truncated]
    between = [
        s.stats.gap_before_s
        for i in segs
        for s in segs[i][1:]
        if s.stats is not None and s.stats.gap_before_s is not None
    ]
    gaps = sum(1 for g in between if g > 0)
    missing_s = sum(g for g in between if g > 0)
    overlaps = sum(1 for g in between if g < 0)
    dup = len(all_segs) - len({(s.path.parent.name, s.start_utc) for s in all_segs}) + overlaps
    reconnects = sum(st.count("reconnecting") for st in states.values())
    errors = [r.name for r in recs if r.error is not None]
    lags = [s.stats.lag_s for s in all_segs if s.stats is not None]
    rss_cam = rec_run["rss_max"] / n / 1e6
    print(
        f"recorder: {rec_run['cpu_s']:.1f} CPU s in {rec_run['wall_s']:.0f} s = {per_cam:.2f}% "
        f"of a core per camera ({per_cam / base_cam:.2f}x the demux-only baseline); "
        f"RSS {rec_run['rss_max'] / 1e6:.0f} MB ({rss_cam:.1f} MB per camera); "
        f"server {100 * rec_run['server_cpu_s'] / rec_run['wall_s'] / n:.2f}% of a core per "
        f"mount; load {rec_run['load']}"
    )
    print(
        f"segments: {len(all_segs)} ({len(full)} full), gaps between segments {gaps} "
        f"({missing_s:.2f} s missing), duplicated or overlapping {dup}, reconnects "
        f"{reconnects}, recorder errors {len(errors)}, "
        f"lag median {statistics.median(lags) if lags else float('nan'):.3f} s"
    )
    shutil.rmtree(work, ignore_errors=True)
    print(
        f"HEADLINE: {n} cameras recorded in one process at {per_cam:.2f}% of one core each "
        f"({per_cam / base_cam:.2f}x bare demux), {rss_cam:.1f} MB RSS each; "
        f"{len(all_segs)} segments, {gaps} gaps ({missing_s:.2f} s missing), {dup} duplicated"
        if not errors
        else f"HEADLINE: recorder errors on {errors}"
    )


if __name__ == "__main__":
    main()
