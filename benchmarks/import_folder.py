"""NVR folder import speed: the four shared clips x25 (100 files) through `wardcam import`,
beside `cp -r` + `sha256sum` of the same folder (the I/O-and-hash floor), in the same run.

    .venv/bin/python benchmarks/import_folder.py [--copies 25]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import psutil

from benchmarks._common import FOOTAGE, make_ward_camera, served


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--copies", type=int, default=25)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wardcam-import-"))
    export = work / "export"
    export.mkdir()
    clips = sorted(FOOTAGE.glob("*.mp4"))
    t = datetime(2024, 5, 1, 0, 0)
    n = 0
    for i in range(args.copies):
        for clip in clips:
            name = f"ch01_{t:%Y%m%d_%H%M%S}.mp4"
            # Real exports are distinct files; identical bytes would be deduplicated. A
            # trailing MP4 `free` box (ignored by every reader) makes each copy unique.
            free_box = (16).to_bytes(4, "big") + b"free" + i.to_bytes(8, "big")
            (export / name).write_bytes(clip.read_bytes() + free_box)
            t += timedelta(minutes=1)
            n += 1
    total = sum(p.stat().st_size for p in export.iterdir())
    print(f"{n} files, {total / 1e6:.1f} MB; load average {psutil.getloadavg()}")

    t0 = time.perf_counter()
    subprocess.run(["cp", "-r", str(export), str(work / "copy")], check=True)
    copies = sorted(str(p) for p in (work / "copy").iterdir())
    subprocess.run(["sha256sum", *copies], check=True, stdout=subprocess.DEVNULL)
    base_s = time.perf_counter() - t0

    with served(work / "data", {"WARDCAM_JOB_WORKERS": "0"}) as s:
        _, cam = make_ward_camera(s)
        env = {**s.env, "COLUMNS": "120"}
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "app", "import", str(export), "--camera",
                              str(cam), "--pattern", "ch01_%Y%m%d_%H%M%S"], env=env,
                             capture_output=True, text=True)
        import_s = time.perf_counter() - t0
        again = subprocess.run([sys.executable, "-m", "app", "import", str(export),
                                "--camera", str(cam), "--pattern", "ch01_%Y%m%d_%H%M%S"],
                               env=env, capture_output=True, text=True)
    lines = [ln for ln in out.stderr.replace("\r", "\n").splitlines() if ln.strip()]
    print("progress (last lines):")
    for ln in lines[-3:]:
        print("  " + ln)
    print(out.stdout.strip())
    print("re-run: " + again.stdout.strip().splitlines()[0])
    print(f"cp -r + sha256sum: {base_s:.2f} s ({n / base_s:.1f} files/s)")
    print(f"wardcam import:    {import_s:.2f} s ({n / import_s:.1f} files/s, "
          f"{total / 1e6 / import_s:.1f} MB/s) incl. process start-up and migrations check")
    shutil.rmtree(work, ignore_errors=True)
    print(f"import {n / import_s:.1f} files/s = {base_s / import_s:.2f}x the cp+sha256sum rate")


if __name__ == "__main__":
    main()
