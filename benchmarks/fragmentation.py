"""Events per real vehicle: the pipeline's vehicle events against vehicles counted by eye.

``benchmarks/annotations/vehicle_counts.csv`` gives, per clip, how many vehicles of each
class a person counted (and how); this prints the pipeline's vehicle events per counted
vehicle, per class and in all. More than 1 means objects split into several events
(fragmentation); below 1, vehicles missed or merged.

    .venv/bin/python benchmarks/fragmentation.py

The last line is the headline: vehicle events per counted vehicle over all clips.
"""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import offline_yolo  # noqa: E402

offline_yolo()

from detectors import Detector, run_pipeline  # noqa: E402
from detectors.vocab import VEHICLE_LABELS  # noqa: E402

COUNTS = ROOT / "benchmarks" / "annotations" / "vehicle_counts.csv"
ASSETS = (ROOT / ".." / "shared" / "assets").resolve()
MODEL = ASSETS / "models" / "yolo11n_int8_openvino_model"
CLASSES = ("car", "motorcycle", "bus", "truck", "bicycle")


def main() -> int:
    detector = Detector(str(MODEL), device="cpu")
    total_events = total_real = 0
    with COUNTS.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        clip = ASSETS / "footage" / row["clip"]
        real = {c: int(row[c]) for c in CLASSES}
        result = run_pipeline(clip, detector)
        events = Counter(e.label for e in result.events if e.label in VEHICLE_LABELS)
        n_real, n_events = sum(real.values()), sum(events.values())
        total_real += n_real
        total_events += n_events
        per = ", ".join(f"{c} {events[c]}/{real[c]}" for c in CLASSES if real[c] or events[c])
        print(f"{row['clip']}: {n_events} vehicle events for {n_real} vehicles counted by eye "
              f"= {n_events / n_real:.2f} per vehicle ({per}; events/counted)")
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"events per real vehicle: {total_events / total_real:.2f} ({total_events} events, "
          f"{total_real} vehicles; loadavg {load})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
