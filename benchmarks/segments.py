"""Segment cuts: the index of footage cut into segments against the index of the whole file.

A live camera's footage is indexed one recorded segment at a time; a dual-stream camera's
main segment from the part of the detect stream that covers it (``app/events/jobs.py``). An
object in the picture across a cut must be in the index on both sides of it, with no gap.
This cuts each file into windows of ``--segment`` seconds and indexes every window as the
index job does (``run_pipeline(window=…, warm_up_s=WARM_UP_S, follow_s=FOLLOW_S)``), beside,
in the same run and with the same detector:

* **whole**: the whole file in one run (no cuts): what the cuts should not lose;
* **drop-early** (the rule before 2026-12-05): each window looked at from 5 s before its
  start, and only the events that start within it kept: an object already there at the cut
  was left out of the later segment, and the last sample interval before each cut was in
  neither.

Each is scored per second and class against exhaustive detection with the same model, as
``benchmarks/indexing.py`` does (its cached reference). Short windows make cuts frequent: at
10 s a 30 s clip has two; live segments are 60 s long (six times fewer cuts per hour).

    .venv/bin/python benchmarks/segments.py [--segment 10] [--files CLIP ...]

The last line is the headline: mean and lowest recall and precision of the cut index beside
the whole-file index.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.events.jobs import FOLLOW_S, WARM_UP_S  # noqa: E402
from benchmarks.indexing import (  # noqa: E402
    ASSETS,
    DEFAULT_MODEL,
    event_presence,
    exhaustive,
    load_avg,
    recall_precision,
)
from detectors import Detector, run_pipeline  # noqa: E402
from detectors.pipeline import Event  # noqa: E402

WAYS = ("whole", "drop-early", "cut")


def windows(duration: float, segment: float) -> list[tuple[float, float]]:
    out, k = [], 0.0
    while k < duration - 1e-3:
        out.append((k, min(duration, k + segment)))
        k += segment
    return out


def index(path: Path, detector: Detector, segment: float) -> dict[str, list[Event]]:
    whole = run_pipeline(path, detector)
    if whole.error:
        raise SystemExit(f"{path.name}: {whole.error}")
    early: list[Event] = []
    cut: list[Event] = []
    for start, end in windows(whole.duration_s, segment):
        r = run_pipeline(path, detector, window=(max(0.0, start - 5.0), end))
        early += [e for e in r.events if e.start_s >= start - 1e-9]
        cut += run_pipeline(
            path, detector, window=(start, end), warm_up_s=WARM_UP_S, follow_s=FOLLOW_S
        ).events
    return {"whole": whole.events, "drop-early": early, "cut": cut}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--segment", type=float, default=10.0, help="seconds per segment")
    ap.add_argument("--files", nargs="*", default=[], help="clip names (default: all shared)")
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    args = ap.parse_args(argv)
    clips = sorted((ASSETS / "footage").glob("*.mp4"))
    if args.files:
        clips = [c for c in clips if c.stem in args.files or c.name in args.files]
    if not clips:
        raise SystemExit("no footage: ../shared/assets/footage/*.mp4 is missing")
    detector = Detector(args.model, threads=1)
    print(f"segments of {args.segment:g} s; warm-up {WARM_UP_S:g} s, follow {FOLLOW_S:g} s; "
          f"load {load_avg()}")
    scores: dict[str, list[tuple[float, float]]] = {w: [] for w in WAYS}
    for clip in clips:
        truth = exhaustive(args.model, clip, "cpu")
        ref = truth.present()
        line = [clip.stem[:26].ljust(26)]
        for way, events in index(clip, detector, args.segment).items():
            r, p = recall_precision(ref, event_presence(events, truth.seconds))
            scores[way].append((r, p))
            line.append(f"{way}: R {r:.3f} P {p:.3f} ({len(events)} events)")
        print(" | ".join(line), flush=True)
    for way in WAYS:
        rs = [r for r, _ in scores[way]]
        ps = [p for _, p in scores[way]]
        print(f"{way:10s} recall min {min(rs):.3f} mean {statistics.mean(rs):.3f}; "
              f"precision min {min(ps):.3f} mean {statistics.mean(ps):.3f}")
    (rc, pc), (rw, pw) = (
        [(statistics.mean(r for r, _ in scores[w]), statistics.mean(p for _, p in scores[w]))
         for w in ("cut", "whole")]
    )
    print(f"segments of {args.segment:g} s: mean recall {rc:.3f} (whole file {rw:.3f}, "
          f"drop-early {statistics.mean(r for r, _ in scores['drop-early']):.3f}), "
          f"mean precision {pc:.3f} (whole file {pw:.3f}); lowest recall "
          f"{min(r for r, _ in scores['cut']):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
