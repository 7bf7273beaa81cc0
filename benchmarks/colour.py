"""Vehicle colour against labels made by eye: confusion matrix and accuracy on the palette.

``benchmarks/annotations/vehicle_colours.csv`` names, for vehicle thumbnails from the shared
footage, the clip, the frame (and its time), the box (pixels, as exhaustive detection found it)
and the colour a person saw. Labels were given by looking at montages of the crops at full
resolution; crops whose body colour could not be told (a rider hiding the scooter, a partial
box) were left out. ``split`` holds out whole objects (every view of one vehicle in the same
split, about a third of the objects): ``dev`` is what the colour rules may be looked at
against, ``holdout`` was only scored. Objects numbered from 100 up (88 thumbnails, most of them
motorbikes of ``vn_overpass_motorbikes_day``) were added later: boxes from ultralytics
``predict`` on every frame (the shared model, imgsz 640, conf 0.3) linked by overlap, views on
the 0.5 s grid, labelled before they were scored, their split fixed beforehand (``holdout``
when the object number is a multiple of 3; fragments that may be one vehicle share a number).
Objects from 400 up (six two-wheelers of five clips, every one not labelled before and at
least 20 px wide) were labelled on 2026-12-06, after the two-wheeler rule of
:func:`detectors.color.dominant_color` was written and before it was scored on them; all held
out.

Each crop goes through what the pipeline does to an event's best view: the thumbnail crop
with its margin, the inner box, the frame's white balance and the night / IR rule, then
:func:`detectors.color.dominant_color` (as a two-wheeler where exhaustive detection found a
motorcycle or bicycle).

    .venv/bin/python benchmarks/colour.py
    .venv/bin/python benchmarks/colour.py --split holdout

The last line is the headline: accuracy on all labels, and on the held-out ones.

Below the per-thumbnail matrices, the same labels per vehicle, scored against the vehicle's
label (the commonest of its views' labels): its views pooled (the commonest colour among them,
ties to the largest box), as a track's several views could be, and its largest view alone.
The pipeline colours an event from one view today (its most confident).
``unknown`` (night / IR, a box too small) is never a label, so it always counts as wrong.

``--events`` scores what the index itself says: ``run_pipeline`` on each labelled clip with
the shared model (``WARDCAM_DETECTOR_MODEL``), each vehicle event with a colour matched to the
labelled vehicle with a view within 0.75 s of the event's best view and its centre within
0.6 box sizes of the event's box (time and distance added, the nearest), scored against that
vehicle's label. Events no labelled view is near are not scored.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import numpy as np  # noqa: E402

from detectors.color import colour_unreliable, dominant_color, frame_gains, frame_lightness  # noqa: E402
from detectors.pipeline import _crop, _crop_inner  # noqa: E402
from detectors.vocab import COLOURS, TWO_WHEELERS  # noqa: E402

LABELS = ROOT / "benchmarks" / "annotations" / "vehicle_colours.csv"
FOOTAGE = (ROOT / ".." / "shared" / "assets" / "footage").resolve()
ACHROMATIC = ("black", "grey", "white")


def load(path: Path = LABELS) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def frames(clip: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    with av.open(str(clip)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="bgr24")
            if i >= max(wanted):
                break
    return out


def predict(rows: Sequence[dict[str, str]], footage: Path = FOOTAGE) -> list[str]:
    """The pipeline's colour for every labelled crop."""
    by_clip: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        by_clip[r["clip"]].add(int(r["frame"]))
    images = {clip: frames(footage / clip, idx) for clip, idx in by_clip.items()}
    out = []
    for r in rows:
        img = images[r["clip"]][int(r["frame"])]
        box = (float(r["x1"]), float(r["y1"]), float(r["x2"]), float(r["y2"]))
        crop = _crop(img, box, 0.1)
        gains = frame_gains(img)
        out.append(dominant_color(_crop_inner(crop), colour_unreliable(img), gains,
                                  frame_lightness(img, gains),
                                  two_wheeler=r["detected_as"] in TWO_WHEELERS))
    return out


def matrix(truth: Sequence[str], pred: Sequence[str], title: str) -> float:
    names = [c for c in COLOURS if c in set(truth) | set(pred)]
    counts = Counter(zip(truth, pred, strict=True))
    print(f"\n{title}: {len(truth)} labels (rows: by eye, columns: wardcam)")
    print(f"{'':>8}" + "".join(f"{n[:6]:>7}" for n in names))
    for t in names:
        if t in truth:
            print(f"{t:>8}" + "".join(f"{counts[(t, p)] or '.':>7}" for p in names))
    acc = sum(counts[(c, c)] for c in names) / len(truth) if truth else float("nan")
    pairs = [(t, p) for t, p in zip(truth, pred, strict=True)]
    achrom = [(t, p) for t, p in pairs if t in ACHROMATIC]
    among = sum(1 for t, p in achrom if p in ACHROMATIC and p != t)
    lost = sum(1 for t, p in achrom if p not in ACHROMATIC)
    merged = sum(1 for t, p in pairs if t == p or (t in ACHROMATIC and p in ACHROMATIC))
    chroma = [(t, p) for t, p in pairs if t not in ACHROMATIC]
    print(f"accuracy {acc:.3f}; black/grey/white labels {len(achrom)}: {among} confused among "
          f"themselves, {lost} given a colour; chromatic labels {len(chroma)}: "
          f"{sum(1 for t, p in chroma if t == p)} right; accuracy with black/grey/white as one "
          f"class {merged / len(pairs):.3f}")
    return acc


def _vote(colours: Sequence[str]) -> str:
    """The commonest colour that could be told (ties: the earlier); ``unknown`` if none."""
    told = [c for c in colours if c != "unknown"]
    if not told:
        return "unknown"
    return max(told, key=lambda c: (told.count(c), -told.index(c)))


def per_vehicle(
    rows: Sequence[dict[str, str]], pred: Sequence[str], pool: bool = True
) -> tuple[list[str], list[str], list[str]]:
    """Truth, prediction and split per vehicle: its views pooled (largest box first), or
    (``pool=False``) its largest view alone."""
    views: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        views[(r["clip"], r["object"])].append(i)
    truth, pooled, split = [], [], []
    for idx in views.values():
        idx.sort(key=lambda i: -(float(rows[i]["x2"]) - float(rows[i]["x1"]))
                 * (float(rows[i]["y2"]) - float(rows[i]["y1"])))
        labels = [rows[i]["colour"] for i in idx]
        truth.append(max(labels, key=lambda c: (labels.count(c), -labels.index(c))))
        pooled.append(_vote([pred[i] for i in (idx if pool else idx[:1])]))
        split.append(rows[idx[0]]["split"])
    return truth, pooled, split


def _nearest(rows: Sequence[dict[str, str]], clip: str, box: Sequence[float],
             best_s: float) -> dict[str, str] | None:
    """The labelled view of ``clip`` nearest an event's best view (see ``--events``)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    size = max(box[2] - box[0], box[3] - box[1], 1.0)
    best: tuple[float, dict[str, str]] | None = None
    for r in rows:
        dt = abs(float(r["time_s"]) - best_s)
        if r["clip"] != clip or dt > 0.75:
            continue
        rx = (float(r["x1"]) + float(r["x2"])) / 2
        ry = (float(r["y1"]) + float(r["y2"])) / 2
        d = float(np.hypot(rx - cx, ry - cy)) / size + dt
        if d <= 0.6 and (best is None or d < best[0]):
            best = (d, r)
    return best[1] if best else None


def index_colours(rows: Sequence[dict[str, str]], footage: Path) -> tuple[list[str], list[str]]:
    """(label, the index's colour) of every vehicle event matched to a labelled vehicle."""
    from benchmarks._common import offline_yolo

    offline_yolo()
    from detectors import ENV_MODEL, Detector, run_pipeline
    from detectors.vocab import VEHICLE_LABELS

    model = os.environ.get(ENV_MODEL)
    if not model:
        raise SystemExit(f"--events: set {ENV_MODEL} to the shared model")
    detector = Detector(model, device="cpu")
    views: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        views[(r["clip"], r["object"])].append(r["colour"])
    truth, said = [], []
    for clip in sorted({r["clip"] for r in rows}):
        for ev in run_pipeline(footage / clip, detector).events:
            if ev.label not in VEHICLE_LABELS or ev.color is None:
                continue
            r = _nearest(rows, clip, ev.box, ev.best_s)
            if r is not None:
                labels = views[(clip, r["object"])]
                truth.append(max(labels, key=lambda c: (labels.count(c), -labels.index(c))))
                said.append(ev.color)
    return truth, said


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--labels", type=Path, default=LABELS)
    p.add_argument("--footage", type=Path, default=FOOTAGE)
    p.add_argument("--split", choices=["all", "dev", "holdout"], default="all")
    p.add_argument("--events", action="store_true",
                   help="also score the colours of the index's own events")
    args = p.parse_args(argv)
    rows = load(args.labels)
    pred = predict(rows, args.footage)
    truth = [r["colour"] for r in rows]
    results = {}
    for split in ("all", "dev", "holdout"):
        if args.split not in ("all", split):
            continue
        keep = [i for i, r in enumerate(rows) if split == "all" or r["split"] == split]
        results[split] = matrix([truth[i] for i in keep], [pred[i] for i in keep], split)
    v_truth, v_pred, v_split = per_vehicle(rows, pred)
    per_v = {}
    for split in ("all", "dev", "holdout"):
        if args.split not in ("all", split):
            continue
        keep = [i for i, s in enumerate(v_split) if split == "all" or s == split]
        per_v[split] = matrix([v_truth[i] for i in keep], [v_pred[i] for i in keep],
                              f"{split}, per vehicle (views pooled)")
    objects = len({(r["clip"], r["object"]) for r in rows})
    load_avg = " ".join(f"{v:.2f}" for v in os.getloadavg())
    one_truth, one_pred, _ = per_vehicle(rows, pred, pool=False)
    single = {
        split: sum(t == p for t, p, s in zip(one_truth, one_pred, v_split, strict=True)
                   if split == "all" or s == split)
        / max(1, sum(1 for s in v_split if split == "all" or s == split))
        for split in ("all", "holdout")
    }
    print(f"\nper vehicle: views pooled all {per_v.get('all', float('nan')):.3f}, held-out "
          f"{per_v.get('holdout', float('nan')):.3f}; largest view alone all {single['all']:.3f}, "
          f"held-out {single['holdout']:.3f}")
    if args.events:
        ev_truth, ev_said = index_colours(rows, args.footage)
        acc = matrix(ev_truth, ev_said, "the index's vehicle events matched to labelled vehicles")
        print(f"\nindex: {len(ev_truth)} events matched, colour accuracy {acc:.3f}")
    print(f"colour accuracy: all {results.get('all', float('nan')):.3f} ({len(rows)} crops of "
          f"{objects} vehicles); held-out {results.get('holdout', float('nan')):.3f} "
          f"(loadavg {load_avg})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
