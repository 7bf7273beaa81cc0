"""Indexing benchmark: wardcam's pipeline against ultralytics ``track()`` on every frame.

For each file in the footage directory it runs, in the same process and one after the other:

(a) the baseline: ``YOLO(model).track(file, imgsz=640)`` on every frame (same model);
(b) ``detectors.run_pipeline`` with the given configuration.

and prints per file: duration, x realtime of both, the speed-up, and per-second class-presence
recall and precision of (b) against (a).  A class is *present* in a whole second of video when
(a) has a box of that class with confidence ≥ 0.5 in one of that second's frames; (b) *covers*
the second when one of its events of that class overlaps it.  Recall and precision are pooled
over all (second, class) pairs of the file.  The last line gives the geometric-mean x realtime of
wardcam and the mean recall and precision over the files.

Model loading is outside the timings for both; nothing is cached between (a) and (b).

    .venv/bin/python benchmarks/indexing.py
    .venv/bin/python benchmarks/indexing.py --files street_crossing_day.mp4 --sample-fps 3
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="wardcam-yolo-"))

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detectors import Detector, PipelineConfig, run_pipeline  # noqa: E402
from detectors.detector import KEEP_CLASSES  # noqa: E402
from detectors.pipeline import Event  # noqa: E402

ASSETS = (ROOT / ".." / "shared" / "assets").resolve()
DEFAULT_MODEL = ASSETS / "models" / "yolo11n_int8_openvino_model"
DEFAULT_FOOTAGE = ASSETS / "footage"
PRESENCE_CONF = 0.5

Presence = set[tuple[int, str]]


@dataclass
class FileResult:
    name: str
    duration: float
    base_time: float | None
    wardcam_time: float
    recall: float | None
    precision: float | None
    detail: str


def baseline_presence(
    model: str, path: Path, device: str, mode: str = "track"
) -> tuple[Presence, set[int], float]:
    """Run ultralytics on every frame at imgsz 640; return presence, seconds seen, wall time.

    ``mode="track"`` is the baseline of the issue (``YOLO.track``); ``mode="predict"`` is plain
    per-frame detection without a tracker, to show what the tracker itself drops.
    """
    import logging

    import numpy as np
    from ultralytics import YOLO
    from ultralytics.utils import LOGGER

    LOGGER.setLevel(logging.WARNING)

    yolo = YOLO(model, task="detect")
    yolo.predict(np.zeros((360, 640, 3), np.uint8), imgsz=640, device=device, verbose=False)
    fps = _fps(path)
    present: Presence = set()
    seconds: set[int] = set()
    run = yolo.track if mode == "track" else yolo.predict
    t0 = time.perf_counter()
    for i, res in enumerate(run(str(path), stream=True, imgsz=640, device=device, verbose=False)):
        sec = math.floor(i / fps + 1e-9)
        seconds.add(sec)
        boxes = res.boxes
        for c, p in zip(boxes.cls.tolist(), boxes.conf.tolist(), strict=True):
            if int(c) in KEEP_CLASSES and p >= PRESENCE_CONF:
                present.add((sec, KEEP_CLASSES[int(c)]))
    return present, seconds, time.perf_counter() - t0


def event_presence(events: Iterable[Event], seconds: set[int]) -> Presence:
    """(second, class) pairs covered by an event of that class (overlap of positive length)."""
    covered: Presence = set()
    for ev in events:
        for sec in range(math.floor(ev.start_s), math.ceil(ev.end_s) + 1):
            if sec in seconds and ev.start_s < sec + 1 and ev.end_s > sec:
                covered.add((sec, ev.label))
    return covered


def recall_precision(truth: Presence, claimed: Presence) -> tuple[float, float]:
    hit = len(truth & claimed)
    recall = hit / len(truth) if truth else 1.0
    precision = hit / len(claimed) if claimed else (1.0 if not truth else 0.0)
    return recall, precision


def per_class(truth: Presence, claimed: Presence) -> str:
    parts = []
    for label in KEEP_CLASSES.values():
        t = {p for p in truth if p[1] == label}
        c = {p for p in claimed if p[1] == label}
        if t or c:
            parts.append(f"{label}:{len(t & c)}/{len(t)}t/{len(c)}c")
    return " ".join(parts)


def _fps(path: Path) -> float:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return float(s.average_rate or s.guessed_rate or 25)


def geomean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else 0.0


def _convert(name: str, text: str) -> object:
    value = getattr(PipelineConfig(), name)
    if isinstance(value, bool):
        return text.lower() in {"1", "true", "yes", "on"}
    return type(value)(text)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--footage", type=Path, default=DEFAULT_FOOTAGE)
    p.add_argument("--files", nargs="*", help="file names in --footage, or paths (default: all)")
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("--device", default="cpu")
    p.add_argument("--baseline", choices=["track", "predict", "none"], default="track",
                   help="track: YOLO.track on every frame (default); predict: no tracker")
    p.add_argument("--repeat", type=int, default=1, help="time wardcam N times, keep the best")
    p.add_argument("--sweep", nargs="*", default=[], metavar="KEY=V1,V2",
                   help="trade-off curve: every combination of these PipelineConfig values,\n"
                        "each against the same baseline run, e.g. --sweep sample_fps=1,1.5,2")
    p.add_argument("--verbose", "-v", action="store_true", help="per-class counts")
    defaults = PipelineConfig()
    for f in fields(PipelineConfig):
        value = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            p.add_argument(flag, type=lambda s: s.lower() in {"1", "true", "yes", "on"},
                           default=None, metavar="BOOL")
        elif isinstance(value, int | float):
            p.add_argument(flag, type=type(value), default=None)
    return p.parse_args(argv)


@dataclass
class Variant:
    name: str
    config: PipelineConfig
    rows: list[FileResult]


def _variants(args: argparse.Namespace) -> list[Variant]:
    overrides = {
        f.name: getattr(args, f.name)
        for f in fields(PipelineConfig)
        if getattr(args, f.name, None) is not None
    }
    base = replace(PipelineConfig(), **overrides)
    axes: list[tuple[str, list[str]]] = []
    for item in args.sweep:
        key, _, values = item.partition("=")
        key = key.replace("-", "_")
        if not hasattr(base, key) or not values:
            raise SystemExit(f"--sweep {item!r}: expected PipelineConfig field=v1,v2,...")
        axes.append((key, values.split(",")))
    combos: list[dict[str, str]] = [{}]
    for key, values in axes:
        combos = [{**c, key: v} for c in combos for v in values]
    out = []
    for combo in combos:
        cfg = replace(base, **{k: _convert(k, v) for k, v in combo.items()})
        label = " ".join(f"{k}={v}" for k, v in {**overrides, **combo}.items()) or "defaults"
        out.append(Variant(label, cfg, []))
    return out


def _summary(rows: Sequence[FileResult]) -> tuple[float, str, str, str, str]:
    gm = geomean([r.duration / r.wardcam_time for r in rows])
    recalls = [r.recall for r in rows if r.recall is not None]
    precisions = [r.precision for r in rows if r.precision is not None]
    mean_r = f"{sum(recalls) / len(recalls):.3f}" if recalls else "-"
    mean_p = f"{sum(precisions) / len(precisions):.3f}" if precisions else "-"
    min_r = f"{min(recalls):.3f}" if recalls else "-"
    min_p = f"{min(precisions):.3f}" if precisions else "-"
    return gm, mean_r, mean_p, min_r, min_p


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    variants = _variants(args)
    if args.files:
        files = [Path(f) if Path(f).exists() else args.footage / f for f in args.files]
    else:
        files = sorted(args.footage.glob("*.mp4"))
    detector = Detector(args.model, device=args.device)
    load = os.getloadavg()
    print(f"model {args.model} ({detector.backend_name}, {detector.device}); "
          f"baseline {args.baseline}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"cores {os.cpu_count()}")
    if len(variants) == 1:
        print(f"config {variants[0].name}")
    print(f"{'file':<28}{'dur s':>7}{'base xrt':>10}{'wardcam xrt':>13}{'speed-up':>10}"
          f"{'recall':>8}{'precision':>11}{'events':>8}")
    for path in files:
        truth: Presence | None = None
        seconds: set[int] = set()
        base_time: float | None = None
        if args.baseline != "none":
            truth, seconds, base_time = baseline_presence(
                args.model, path, args.device, args.baseline
            )
        for variant in variants:
            best_time = math.inf
            result = None
            for _ in range(max(1, args.repeat)):
                t0 = time.perf_counter()
                result = run_pipeline(path, detector, variant.config)
                best_time = min(best_time, time.perf_counter() - t0)
            assert result is not None
            if result.error:
                print(f"{path.name}: wardcam failed: {result.error}")
            dur = result.duration_s
            recall = precision = None
            detail = ""
            if truth is not None:
                claimed = event_presence(result.events, seconds)
                recall, precision = recall_precision(truth, claimed)
                detail = per_class(truth, claimed)
            variant.rows.append(
                FileResult(path.name, dur, base_time, best_time, recall, precision, detail)
            )
            base_rt = f"{dur / base_time:.2f}" if base_time else "-"
            speedup = f"{base_time / best_time:.1f}x" if base_time else "-"
            rec = f"{recall:.3f}" if recall is not None else "-"
            prec = f"{precision:.3f}" if precision is not None else "-"
            prefix = "" if len(variants) == 1 else f"[{variant.name}] "
            print(f"{prefix}{path.name:<28}{dur:>7.1f}{base_rt:>10}{dur / best_time:>13.1f}"
                  f"{speedup:>10}{rec:>8}{prec:>11}{len(result.events):>8}", flush=True)
            if args.verbose:
                print(f"    samples {result.samples}, detected {result.samples_detected}, "
                      f"inferences {result.inferences}; {detail}")
    if len(variants) > 1:
        print("trade-off (geometric-mean x realtime, mean / min recall, mean / min precision):")
        for variant in variants:
            gm, mean_r, mean_p, min_r, min_p = _summary(variant.rows)
            print(f"  {variant.name:<50} {gm:6.1f}x  recall {mean_r} / {min_r}  "
                  f"precision {mean_p} / {min_p}")
    gm, mean_r, mean_p, _, _ = _summary(variants[0].rows)
    speedups = [r.base_time / r.wardcam_time for r in variants[0].rows if r.base_time]
    gm_speedup = f"; geometric-mean speed-up {geomean(speedups):.1f}x" if speedups else ""
    load = os.getloadavg()
    print(f"wardcam geometric-mean {gm:.1f}x realtime; mean recall {mean_r}; "
          f"mean precision {mean_p}{gm_speedup} (load average at end {load[0]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
