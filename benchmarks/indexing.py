"""Indexing benchmark: wardcam's pipeline beside exhaustive detection and plain decoding.

For each file it measures, in the same process and one after the other:

(a) **decode**: PyAV decoding every frame of the file (all cores, no shortcuts): the speed limit
    of anything that looks at every frame, and what main-stream indexing must at least reach;
(b) **track** (``--track``; on by default for the shared clips): ``YOLO(model).track(file)`` on
    every frame, imgsz 640 (the same model): what exhaustive indexing costs;
(c) **wardcam**: ``detectors.run_pipeline`` with the given configuration;

and scores (c) against **exhaustive detection**: ultralytics ``predict`` on every frame, imgsz
640, same model. A class is *present* in a whole second of video when a box of that class with
confidence ≥ 0.5 is in one of that second's frames; wardcam *covers* the second when one of its
events of that class overlaps it. Recall and precision are pooled over the (second, class)
pairs of a file. The reference is cached per file content and model (``$WARDCAM_BENCH_CACHE``),
so that the development set is scored without recomputing it; speeds are always measured.

Speeds are wall-clock x realtime; ``cpu xrt`` is seconds of video per CPU-second of wardcam
(all threads; a node with N free cores indexes up to N times that), and ``cpu/dec`` decoding's
CPU time over wardcam's: both are disturbed much less than wall time by other work on a shared
machine.

``R≥3f`` is the recall on the present pairs backed by at least 3 frames at ≥ 0.5 (a class seen
in one or two frames of a second cannot be found reliably by anything that samples).
(``--truth track`` scores against ``YOLO.track`` output instead, which drops many small objects
its tracker never confirms; not recommended.)

Sets: ``shared`` (the clips in ../shared/assets/footage), ``dev`` (those plus their renditions,
see ``benchmarks/renditions.py``), ``main`` (1080p/1440p H.264/H.265 renditions), ``uhd``
(2160p H.265: 8 MP cameras; encoding them takes minutes a clip the first time).

    .venv/bin/python benchmarks/indexing.py                       # shared clips
    .venv/bin/python benchmarks/indexing.py --set dev             # development set
    .venv/bin/python benchmarks/indexing.py --set main            # main-stream renditions
    .venv/bin/python benchmarks/indexing.py --set uhd             # 2160p H.265
    .venv/bin/python benchmarks/indexing.py --files street_crossing_day --sweep span_conf=0.4,0.5
    .venv/bin/python benchmarks/indexing.py --files intersection_cctv_day --misses  # which seconds

The last line is the headline: geometric-mean x realtime of wardcam on sub-stream files
(≤ 640x480), the same as a ratio to plain decoding, and the lowest recall and precision.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import offline_yolo  # noqa: E402

offline_yolo()

import av  # noqa: E402

from benchmarks import renditions  # noqa: E402
from detectors import Detector, PipelineConfig, run_pipeline  # noqa: E402
from detectors.pipeline import Event  # noqa: E402
from detectors.vocab import KEEP_CLASSES  # noqa: E402

ASSETS = (ROOT / ".." / "shared" / "assets").resolve()
DEFAULT_MODEL = ASSETS / "models" / "yolo11n_int8_openvino_model"
PRESENCE_CONF = 0.5
SUB_STREAM = 640 * 480

Presence = set[tuple[int, str]]


@dataclass
class Truth:
    """Per second and class: the best confidence and the frames at ≥ 0.5."""

    seconds: set[int]
    best: dict[tuple[int, str], float]
    frames: dict[tuple[int, str], int]
    wall_s: float | None  # measured now (None: from the cache)

    def present(self, min_frames: int = 1) -> Presence:
        return {k for k, n in self.frames.items() if n >= min_frames}


def load_avg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _truth_cache(model: str, path: Path, mode: str) -> Path:
    import ultralytics

    key = hashlib.sha256(
        f"{_sha256(path)}|{Path(model).name}|{mode}|640|{ultralytics.__version__}".encode()
    ).hexdigest()[:24]
    return renditions.cache_dir() / "truth" / f"{key}.json"


def exhaustive(model: str, path: Path, device: str, mode: str = "predict",
               use_cache: bool = True) -> Truth:
    """Run ultralytics on every frame at imgsz 640 (cached by file content and model)."""
    cache = _truth_cache(model, path, mode)
    if use_cache and cache.is_file():
        raw = json.loads(cache.read_text())
        return Truth(set(raw["seconds"]),
                     {(int(s), lb): v for s, lb, v, _ in raw["pairs"]},
                     {(int(s), lb): n for s, lb, _, n in raw["pairs"]}, None)
    import logging

    import numpy as np
    from ultralytics import YOLO
    from ultralytics.utils import LOGGER

    LOGGER.setLevel(logging.WARNING)
    yolo = YOLO(model, task="detect")
    yolo.predict(np.zeros((360, 640, 3), np.uint8), imgsz=640, device=device, verbose=False)
    fps = _fps(path)
    seconds: set[int] = set()
    best: dict[tuple[int, str], float] = {}
    frames: dict[tuple[int, str], int] = {}
    run = yolo.track if mode == "track" else yolo.predict
    t0 = time.perf_counter()
    for i, res in enumerate(run(str(path), stream=True, imgsz=640, device=device, verbose=False)):
        sec = math.floor(i / fps + 1e-9)
        seconds.add(sec)
        boxes = res.boxes
        seen: dict[str, float] = {}
        for c, p in zip(boxes.cls.tolist(), boxes.conf.tolist(), strict=True):
            if int(c) in KEEP_CLASSES:
                label = KEEP_CLASSES[int(c)]
                seen[label] = max(seen.get(label, 0.0), float(p))
        for label, p in seen.items():
            best[(sec, label)] = max(best.get((sec, label), 0.0), p)
            if p >= PRESENCE_CONF:
                frames[(sec, label)] = frames.get((sec, label), 0) + 1
    wall = time.perf_counter() - t0
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({
        "file": path.name, "model": str(model), "mode": mode, "seconds": sorted(seconds),
        "pairs": [[s, lb, round(v, 4), frames.get((s, lb), 0)] for (s, lb), v in best.items()],
    }))
    return Truth(seconds, best, frames, wall)


def track_seconds(model: str, path: Path, device: str) -> float:
    """Wall time of ``YOLO.track`` on every frame (the exhaustive indexing baseline)."""
    import logging

    import numpy as np
    from ultralytics import YOLO
    from ultralytics.utils import LOGGER

    LOGGER.setLevel(logging.WARNING)
    yolo = YOLO(model, task="detect")
    yolo.predict(np.zeros((360, 640, 3), np.uint8), imgsz=640, device=device, verbose=False)
    t0 = time.perf_counter()
    for _ in yolo.track(str(path), stream=True, imgsz=640, device=device, verbose=False):
        pass
    return time.perf_counter() - t0


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all threads)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def decode_seconds(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of decoding every frame with PyAV (frame + slice threads, no
    shortcuts)."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for _ in c.decode(s):
            pass
    return time.perf_counter() - t0, cpu_seconds() - c0


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


def misses(truth: Truth, claimed: Presence) -> list[str]:
    """Each (second, class) pair scored against: missed ones with the frames of that second at
    ≥ 0.5 and the best confidence, extra ones with the best confidence exhaustive detection
    gave that class in that second (0 when it found none)."""
    present = truth.present()
    out = [f"miss  {s:>4}s {label:<10} {truth.frames.get((s, label), 0):>2} frames at ≥ 0.5, "
           f"best {truth.best.get((s, label), 0.0):.3f}"
           for s, label in sorted(present - claimed)]
    out += [f"extra {s:>4}s {label:<10} best {truth.best.get((s, label), 0.0):.3f}"
            for s, label in sorted(claimed - present)]
    return out


def per_class(truth: Presence, claimed: Presence) -> str:
    parts = []
    for label in KEEP_CLASSES.values():
        t = {p for p in truth if p[1] == label}
        c = {p for p in claimed if p[1] == label}
        if t or c:
            parts.append(f"{label}:{len(t & c)}/{len(t)}t/{len(c)}c")
    return " ".join(parts)


def _fps(path: Path) -> float:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return float(s.average_rate or s.guessed_rate or 25)


def _probe(path: Path) -> tuple[int, int, str, float]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return (s.codec_context.width, s.codec_context.height, s.codec_context.name,
                float(s.average_rate or 0))


def geomean(values: Sequence[float]) -> float:
    vals = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else 0.0


def _convert(name: str, text: str) -> object:
    value = getattr(PipelineConfig(), name)
    if isinstance(value, bool):
        return text.lower() in {"1", "true", "yes", "on"}
    return type(value)(text)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--set", choices=["shared", *sorted(renditions.RECIPE_SETS)], default="shared")
    p.add_argument("--footage", type=Path, default=renditions.FOOTAGE)
    p.add_argument("--files", nargs="*", help="shared clip names (stem or file name), or paths")
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("--device", default="cpu")
    p.add_argument("--truth", choices=["predict", "track", "none"], default="predict")
    p.add_argument("--track", type=lambda s: s.lower() in {"1", "true", "yes", "on"},
                   default=None, metavar="BOOL",
                   help="time YOLO.track on every file (default: on for --set shared)")
    p.add_argument("--no-cache", action="store_true", help="recompute the reference")
    p.add_argument("--only-cached", action="store_true",
                   help="skip files whose reference is not cached yet (a busy machine: the\n"
                        "reference of the whole development set takes 10-100 minutes)")
    p.add_argument("--repeat", type=int, default=1, help="time wardcam N times, keep the best")
    p.add_argument("--sweep", nargs="*", default=[], metavar="KEY=V1,V2",
                   help="trade-off curve: every combination of these PipelineConfig values,\n"
                        "each against the same reference, e.g. --sweep span_conf=0.4,0.5")
    p.add_argument("--verbose", "-v", action="store_true", help="per-class counts and plans")
    p.add_argument("--misses", action="store_true",
                   help="list every missed and extra (second, class) pair of each file")
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
class Row:
    name: str
    pixels: int
    duration: float
    decode_s: float
    decode_cpu: float
    track_s: float | None
    wardcam_s: float
    wardcam_cpu: float
    recall: float | None
    precision: float | None
    recall3: float | None
    events: int


@dataclass
class Variant:
    name: str
    config: PipelineConfig
    rows: list[Row]


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


def _files(args: argparse.Namespace) -> list[Path]:
    paths = [Path(f) for f in args.files or [] if Path(f).is_file()]
    names = [f for f in args.files or [] if not Path(f).is_file()] or None
    if paths and not names:
        return paths
    if args.set == "shared":
        return [*paths, *renditions.sources(args.footage, names)]
    return [*paths, *renditions.build(args.set, names, args.footage)]


def _summary(rows: Sequence[Row]) -> tuple[float, float, float, float, float, float]:
    """Geo-means of x realtime, ratio to decode (wall, CPU) and x realtime per CPU-second;
    min recall and min precision."""
    xrt = geomean([r.duration / r.wardcam_s for r in rows])
    ratio = geomean([r.decode_s / r.wardcam_s for r in rows])
    ratio_cpu = geomean([r.decode_cpu / r.wardcam_cpu for r in rows])
    xrt_cpu = geomean([r.duration / r.wardcam_cpu for r in rows])
    recalls = [r.recall for r in rows if r.recall is not None]
    precisions = [r.precision for r in rows if r.precision is not None]
    return (xrt, ratio, ratio_cpu, xrt_cpu, min(recalls, default=math.nan),
            min(precisions, default=math.nan))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    variants = _variants(args)
    files = _files(args)
    if args.only_cached and args.truth != "none":
        kept = [f for f in files if _truth_cache(args.model, f, args.truth).is_file()]
        print(f"--only-cached: {len(kept)} of {len(files)} files have a cached reference")
        files = kept
    time_track = args.track if args.track is not None else args.set == "shared"
    detector = Detector(args.model, device=args.device)
    print(f"model {args.model} ({detector.backend_name}, {detector.device}); reference: "
          f"exhaustive {args.truth} on every frame; set {args.set}, {len(files)} files; "
          f"cores {os.cpu_count()}; loadavg {load_avg()}")
    if len(variants) == 1:
        print(f"config {variants[0].name}")
    print(f"{'file':<44}{'size':>10}{'dur s':>6}{'decode':>8}{'track':>7}{'wardcam':>9}"
          f"{'/decode':>8}{'cpu xrt':>8}{'cpu/dec':>8}{'recall':>7}{'R≥3f':>6}{'prec':>6}"
          f"{'events':>7}")
    for path in files:
        width, height, codec, _ = _probe(path)
        truth = None
        if args.truth != "none":
            truth = exhaustive(args.model, path, args.device, args.truth, not args.no_cache)
        dec_s, dec_cpu = decode_seconds(path)
        trk_s = track_seconds(args.model, path, args.device) if time_track else None
        for variant in variants:
            best_time = best_cpu = math.inf
            result = None
            for _ in range(max(1, args.repeat)):
                t0, c0 = time.perf_counter(), cpu_seconds()
                result = run_pipeline(path, detector, variant.config)
                best_time = min(best_time, time.perf_counter() - t0)
                best_cpu = min(best_cpu, cpu_seconds() - c0)
            assert result is not None
            if result.error:
                print(f"{path.name}: wardcam failed: {result.error}")
            dur = result.duration_s
            recall = precision = recall3 = None
            detail = ""
            if truth is not None:
                claimed = event_presence(result.events, truth.seconds)
                recall, precision = recall_precision(truth.present(), claimed)
                recall3, _ = recall_precision(truth.present(3), claimed)
                detail = per_class(truth.present(), claimed)
            row = Row(path.name, width * height, dur, dec_s, dec_cpu, trk_s, best_time, best_cpu,
                      recall, precision, recall3, len(result.events))
            variant.rows.append(row)
            prefix = "" if len(variants) == 1 else f"[{variant.name}] "

            def f3(v: float | None) -> str:
                return f"{v:.3f}" if v is not None else "-"

            def f2(v: float | None) -> str:
                return f"{v:.2f}" if v is not None else "-"

            trk = f"{dur / trk_s:.1f}" if trk_s else "-"
            print(f"{prefix}{path.name[:43]:<44}{f'{width}x{height}':>10}{dur:>6.1f}"
                  f"{dur / dec_s:>8.1f}{trk:>7}{dur / best_time:>9.1f}"
                  f"{dec_s / best_time:>8.2f}{dur / best_cpu:>8.1f}{dec_cpu / best_cpu:>8.2f}"
                  f"{f3(recall):>7}{f2(recall3):>6}{f2(precision):>6}"
                  f"{len(result.events):>7}", flush=True)
            if args.verbose:
                plans = "; ".join(f"{t:.0f}s {p}" for t, p in result.plans)
                print(f"    {codec}; samples {result.samples}, looked at "
                      f"{result.samples_detected}, model inputs {result.inferences}; packets "
                      f"decoded {1 - result.decode.skipped_fraction:.0%}; {detail}; {plans}")
            if args.misses and truth is not None:
                for line in misses(truth, event_presence(result.events, truth.seconds)):
                    print(f"    {line}")
    if len(variants) > 1:
        print("trade-off (geo-mean x realtime: wall, per CPU-second, and against plain "
              "decoding, of the sub-stream files and of the larger ones; recall min / mean, "
              "precision min / mean over all files):")
        for variant in variants:
            speeds = []
            for kind, part in (("sub-stream", [r for r in variant.rows
                                               if r.pixels <= SUB_STREAM]),
                               ("larger", [r for r in variant.rows if r.pixels > SUB_STREAM])):
                if part:
                    xrt, ratio, _, xrt_cpu, _, _ = _summary(part)
                    speeds.append(f"{kind} {xrt:.1f}x {xrt_cpu:.1f}x {ratio:.2f}x decoding")
            _, _, _, _, min_r, min_p = _summary(variant.rows)
            rec = [r.recall for r in variant.rows if r.recall is not None]
            pre = [r.precision for r in variant.rows if r.precision is not None]
            mean_r = sum(rec) / len(rec) if rec else math.nan
            mean_p = sum(pre) / len(pre) if pre else math.nan
            print(f"  {variant.name:<46} {'; '.join(speeds)}; recall {min_r:.3f} / "
                  f"{mean_r:.3f}  precision {min_p:.3f} / {mean_p:.3f}")
    rows = variants[0].rows
    sub = [r for r in rows if r.pixels <= SUB_STREAM]
    big = [r for r in rows if r.pixels > SUB_STREAM]
    _, _, _, _, min_r, min_p = _summary(rows)
    parts = []
    if sub:
        xrt, ratio, ratio_cpu, xrt_cpu, _, _ = _summary(sub)
        parts.append(f"sub-stream ({len(sub)} files) geo-mean {xrt:.1f}x realtime "
                     f"({xrt_cpu:.1f}x per CPU-second), {ratio:.2f}x plain decoding "
                     f"({ratio_cpu:.2f}x in CPU time)")
    if big:
        xrt, ratio, ratio_cpu, xrt_cpu, _, _ = _summary(big)
        parts.append(f"larger ({len(big)} files) geo-mean {xrt:.1f}x realtime "
                     f"({xrt_cpu:.1f}x per CPU-second), {ratio:.2f}x plain decoding "
                     f"({ratio_cpu:.2f}x in CPU time)")
    tracked = [r for r in rows if r.track_s]
    if tracked:
        parts.append(f"{geomean([r.track_s / r.wardcam_s for r in tracked if r.track_s]):.1f}x "
                     "faster than YOLO.track")
    print(f"wardcam: {'; '.join(parts)}; min recall {min_r:.3f}; min precision {min_p:.3f} "
          f"(loadavg {load_avg()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
