"""Index quality on real footage against exhaustive detection with the same model.

The cases the index failed on unseen footage: a stationary vehicle (one event for its whole
stay, with the class full-frame detection gives it, even where the scene lets the pipeline
shrink frames), dense small motorbikes and riders seen from above, and classes that flicker
between looks.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import av
import pytest

from detectors import Detection, Detector, Event, PipelineConfig, PipelineResult, run_pipeline
from detectors.tracker import iou
from detectors.vocab import FAMILY, VEHICLE_LABELS

from .assets import (
    INTERSECTION,
    MOTORCYCLES,
    STREET,
    VN_INTERSECTION,
    VN_OVERPASS,
    sparse_copy,
)
from .exhaustive import Exhaustive, covered, exhaustive

pytestmark = pytest.mark.slow

_cache: dict[str, Exhaustive] = {}


def _reference(path: Path, detector: Detector) -> Exhaustive:
    p = Path(path)
    assert p.is_file(), f"missing shared footage {p} (see ../shared/assets/README.md)"
    if p.name not in _cache:
        _cache[p.name] = exhaustive(p, detector)
    return _cache[p.name]


def _stationary_vehicle(ref: Exhaustive) -> tuple[tuple[float, float, float, float], str]:
    """The largest vehicle exhaustive detection sees in the same place in >= 95 % of frames,
    and the class it gives it most often."""
    first = [d for d in ref.frames[0][1] if d.label in VEHICLE_LABELS and d.confidence >= 0.5]
    found = []
    for cand in first:
        labels: Counter[str] = Counter()
        for _, dets in ref.frames:
            same = [d for d in dets if FAMILY[d.label] == FAMILY[cand.label]
                    and d.confidence >= 0.5 and iou(d.box, cand.box) >= 0.7]
            if same:
                labels[max(same, key=lambda d: d.confidence).label] += 1
        if sum(labels.values()) >= 0.95 * len(ref.frames):
            area = (cand.box[2] - cand.box[0]) * (cand.box[3] - cand.box[1])
            found.append((area, cand.box, labels.most_common(1)[0][0]))
    assert found, "the clip should have a vehicle waiting for the whole clip"
    _, box, label = max(found)
    return box, label


def _events_at(events: list[Event], box: tuple[float, float, float, float]) -> list[Event]:
    return [e for e in events if iou(e.box, box) >= 0.5]


@pytest.mark.parametrize("shrink", [False, True], ids=["default", "shrunk-looks"])
def test_stationary_vehicle_is_one_event_with_its_full_frame_class(
    detector: Detector, shrink: bool
) -> None:
    """Cars queued at a red light for the whole clip: one event each, for the whole clip, with
    the class exhaustive detection gives. With ``shrunk-looks`` the scene planner may shrink
    frames to a quarter (where a waiting taxi reads as a truck): the full-frame looks it keeps
    taking still decide the class, and the stay stays one event."""
    ref = _reference(VN_INTERSECTION, detector)
    box, label = _stationary_vehicle(ref)
    cfg = PipelineConfig(min_object_px=1.0, min_scale=0.5) if shrink else PipelineConfig()
    result = run_pipeline(VN_INTERSECTION, detector, cfg)
    assert result.ok
    if shrink:
        assert any("0.50x" in plan for _, plan in result.plans), result.plans
    here = _events_at(result.events, box)
    assert [e.label for e in here] == [label], [(e.label, e.start_s, e.end_s) for e in here]
    (ev,) = here
    assert ev.start_s <= 0.5
    assert ev.end_s >= result.duration_s - 1.0


def _recall(ref: Exhaustive, events: list[Event], label: str) -> float:
    truth = ref.presence(label)
    got = covered(events, ref.seconds(), label)
    return len(truth & got) / len(truth)


def test_dense_small_motorbikes_and_riders_from_above(detector: Detector) -> None:
    """A Vietnamese road from an overpass: 20+ small motorbikes and their riders. The old
    pipeline (frames shrunk into tiles) found motorcycles in 2 of 21 seconds."""
    ref = _reference(VN_OVERPASS, detector)
    assert len(ref.presence("motorcycle")) >= 15, "the clip has motorbikes in most seconds"
    result = run_pipeline(VN_OVERPASS, detector)
    assert result.ok
    assert _recall(ref, result.events, "motorcycle") >= 0.8
    assert _recall(ref, result.events, "person") >= 0.85
    bikes = [e for e in result.events if e.label == "motorcycle"]
    assert len(bikes) >= 10
    assert min(e.box[3] - e.box[1] for e in bikes) < 40  # small ones among them


def test_motorbikes_under_their_riders_at_a_vietnamese_intersection(detector: Detector) -> None:
    """Ride-hail riders crossing the Saigon intersection, seen from an elevated camera: the
    samples are sure of the rider and unsure of the motorbike under it, which exhaustive
    detection finds at 0.5 in a few frames of those seconds. Under a sure rider the motorbike
    counts as seen; without that, two of the six motorcycle seconds were missed."""
    ref = _reference(VN_INTERSECTION, detector)
    assert len(ref.presence("motorcycle")) >= 5
    result = run_pipeline(VN_INTERSECTION, detector)
    assert result.ok
    alone = run_pipeline(VN_INTERSECTION, detector, PipelineConfig(rider_support=0))
    assert _recall(ref, result.events, "motorcycle") >= 0.95
    assert _recall(ref, result.events, "motorcycle") > _recall(ref, alone.events, "motorcycle")
    claimed = covered(result.events, ref.seconds())
    assert len(claimed & ref.presence()) / len(claimed) >= 0.9  # precision, every class
    bikes = [e for e in result.events if e.label == "motorcycle"]
    assert all(len(e.thumbnail_jpeg) > 500 and e.color not in (None, "unknown") for e in bikes)


@pytest.mark.parametrize("clip", [INTERSECTION, MOTORCYCLES], ids=lambda p: p.stem)
def test_footage_at_two_frames_a_second_claims_what_its_frames_show(
    detector: Detector, clip: Path, tmp_path: Path
) -> None:
    """An NVR that records at two frames a second: a sample a second sees one of a second's
    two frames, so a motorbike it sees at 0.40-0.49 is mostly what exhaustive detection sees
    there too, not an object another frame shows at 0.5 (what the lower bars stand for).
    Judged at 0.5, such footage keeps (nearly) its recall and claims fewer seconds in which nothing
    was seen: with the lower bars these copies (made here, not the development set's
    renditions of README) claimed 0.71 and 0.93 of their seconds right."""
    sparse = sparse_copy(clip, tmp_path / f"{clip.stem}.fps2.mp4", fps=2)
    ref = exhaustive(sparse, detector)
    truth = ref.presence()
    assert 1.9 < ref.fps < 2.1 and len(truth) >= 20
    assert PipelineConfig().few_frames(ref.fps)
    with av.open(str(clip)) as original:  # the clip itself (10-30 a second): as before
        assert not PipelineConfig().few_frames(float(original.streams.video[0].average_rate))

    def scores(result: PipelineResult) -> tuple[float, float]:
        assert result.ok
        claimed = covered(result.events, ref.seconds())
        return len(claimed & truth) / len(truth), len(claimed & truth) / len(claimed)

    recall, precision = scores(run_pipeline(sparse, detector))
    recall_before, precision_before = scores(
        run_pipeline(sparse, detector, PipelineConfig(few_frames_fps=0))
    )
    seen = (recall, precision, recall_before, precision_before)
    assert precision >= 0.9 and precision > precision_before, seen
    # The model's INT8 kernels differ by CPU: on an AVX-512 machine (Zen 4) these copies kept
    # their recall (>= 0.95); on one without (Zen 3) the intersection's lost 2 of its 46
    # seconds (0.978 -> 0.935) while its precision went 0.73 -> 1.0. At most that is given.
    assert recall >= 0.9 and recall >= recall_before - 0.05, seen


def _class_check(ref: Exhaustive, result: PipelineResult) -> tuple[float, float]:
    """(per-second precision, share of events whose class is the exhaustive class of the
    same object at the event's best view)."""
    claimed = covered(result.events, ref.seconds())
    truth = ref.presence()
    precision = len(claimed & truth) / len(claimed)
    agree = total = 0
    for ev in result.events:
        at: list[Detection] = [d for d in ref.at(ev.best_s) if FAMILY[d.label] == FAMILY[ev.label]]
        match = max(at, key=lambda d: iou(d.box, ev.box), default=None)
        if match is None or iou(match.box, ev.box) < 0.5:
            continue
        total += 1
        agree += match.label == ev.label
    return precision, agree / total if total else math.nan


SHRUNK = PipelineConfig(min_object_px=1.0, min_scale=0.5)


@pytest.mark.parametrize(
    ("clip", "config", "every_class"),
    [
        (MOTORCYCLES, PipelineConfig(), True),
        (VN_OVERPASS, PipelineConfig(), True),
        (STREET, SHRUNK, True),
        # motorbikes 25 px tall are too small to survive a quarter-size look; what matters here
        # is that shrinking does not invent classes
        (INTERSECTION, SHRUNK, False),
    ],
    ids=["riders-waiting", "dense-traffic", "street-shrunk", "intersection-shrunk"],
)
def test_classes_are_stable(
    detector: Detector, clip: Path, config: PipelineConfig, every_class: bool
) -> None:
    """Each event keeps one class, the one exhaustive detection gives the object, and the
    seconds it claims are seconds that class is there: riders waiting at a light (objects
    flicker between motorcycle, bicycle and person as they are occluded), dense traffic, and
    scenes where the planner is made to shrink frames to a quarter (a bus reads as a truck,
    a rider on a small motorbike as a confident person)."""
    ref = _reference(clip, detector)
    result = run_pipeline(clip, detector, config)
    precision, agreement = _class_check(ref, result)
    assert precision >= 0.9
    assert agreement >= 0.9
    if every_class:  # every class exhaustive detection finds for 3 seconds or more is indexed
        seconds = Counter(label for _, label in ref.presence())
        assert {lb for lb, n in seconds.items() if n >= 3} <= {e.label for e in result.events}
    # one object, one class: no two events of one family overlap in time at the same place
    for a in result.events:
        for b in result.events:
            if a is b or a.label == b.label or FAMILY[a.label] != FAMILY[b.label]:
                continue
            overlap = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
            assert not (overlap > 1.0 and iou(a.box, b.box) > 0.7), (a.to_dict(), b.to_dict())
