"""Upload throughput and API memory: a ~500 MB file through `POST /cameras/{id}/footage`
against `cp` + `sha256sum` of the same file (the I/O-and-hash limit), in the same run.

    .venv/bin/python benchmarks/upload.py [--mb 500] [--workdir /tmp/wardcam-bench]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from benchmarks._common import FOOTAGE, loop_clip, make_ward_camera, served


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=int, default=500)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "wardcam-bench")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    src = loop_clip(FOOTAGE / "intersection_cctv_day.mp4",
                    args.workdir / f"long_{args.mb}mb.mp4", args.mb * 1_000_000)
    size = src.stat().st_size
    print(f"file: {src.name} {size / 1e6:.1f} MB; load average {psutil.getloadavg()}")

    # Baseline: cp + sha256sum of the same bytes.
    dst = args.workdir / "copy.mp4"
    subprocess.run(["sync"], check=True)
    t0 = time.perf_counter()
    subprocess.run(["cp", str(src), str(dst)], check=True)
    subprocess.run(["sha256sum", str(dst)], check=True, capture_output=True)
    base_s = time.perf_counter() - t0
    dst.unlink()

    data_dir = args.workdir / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    with served(data_dir, {"WARDCAM_JOB_WORKERS": "0"}) as s:
        ward_key, cam = make_ward_camera(s)
        proc = psutil.Process(s.proc.pid)
        time.sleep(1.0)
        idle_rss = proc.memory_info().rss
        peak = [idle_rss]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], proc.memory_info().rss)
                time.sleep(0.05)

        threading.Thread(target=sample, daemon=True).start()
        t0 = time.perf_counter()
        with src.open("rb") as fh:
            r = httpx.post(f"{s.base}/cameras/{cam}/footage", content=fh,
                           params={"start": "2024-05-01T10:00:00Z"},
                           headers={**s.h(ward_key), "Content-Length": str(size)}, timeout=600)
        up_s = time.perf_counter() - t0
        done.set()
        assert r.status_code == 201, r.text
    mbps = size / 1e6 / up_s
    base_mbps = size / 1e6 / base_s
    grow = (peak[0] - idle_rss) / 1e6
    print(f"cp + sha256sum: {base_s:.2f} s ({base_mbps:.0f} MB/s)")
    print(f"API upload:     {up_s:.2f} s ({mbps:.0f} MB/s), ratio {mbps / base_mbps:.2f} "
          "of cp+sha256sum (target >= 0.33)")
    print(f"API RSS idle {idle_rss / 1e6:.0f} MB, peak {peak[0] / 1e6:.0f} MB, "
          f"growth {grow:.1f} MB (target < 50)")
    print(f"upload {mbps:.0f} MB/s = {mbps / base_mbps:.2f}x cp+sha256sum; "
          f"RSS growth {grow:.1f} MB")


if __name__ == "__main__":
    main()
