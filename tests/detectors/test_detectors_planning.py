"""The rules behind the pipeline, on made-up inputs: scene planning, event spans, sampling."""

from __future__ import annotations

import threading

from detectors import Detection
from detectors.decode import Sampler
from detectors.scene import PlannerConfig, ScenePlanner
from detectors.spans import Span, SpanRules, split_class_changes, support_riders, track_spans
from detectors.tracker import Sighting, SparseTracker, Track


def _planner(boxes: list[tuple[float, float, float, float]], conf: float = 0.8,
             width: int = 640, height: int = 360,
             config: PlannerConfig | None = None) -> ScenePlanner:
    p = ScenePlanner(width, height, 640, config or PlannerConfig())
    for k in range(4):  # four full looks, a second apart
        p.observe(float(k), [(b, conf) for b in boxes], full=True)
    return p


def test_big_objects_are_shrunk_into_tiles() -> None:
    plan = _planner([(0, 60, 200, 300), (300, 50, 520, 330)]).plan
    assert plan.region is None and plan.per_input == 4 and plan.scale == 0.5
    assert plan.sample_fps == 4 * PlannerConfig().inferences_per_s


def test_small_objects_in_a_band_are_packed_at_native_scale() -> None:
    """Motorbikes 20 px tall on a road across the lower half: the road of two frames fits
    one model input, at the size exhaustive detection sees them."""
    bikes = [(x, y, x + 12, y + 20) for x in range(40, 600, 60) for y in (200, 260, 320)]
    plan = _planner(bikes, conf=0.7).plan
    assert plan.region is not None and plan.scale == 1.0 and plan.per_input >= 2
    assert plan.region[1] >= 120 and plan.region[3] == 360


def test_small_unsure_objects_everywhere_get_full_frames_and_more_looks() -> None:
    bikes = [(x, y, x + 12, y + 20) for x in range(20, 620, 80) for y in range(10, 340, 80)]
    one_a_second = PlannerConfig(inferences_per_s=1.0)
    sure = _planner(bikes, conf=0.8, config=one_a_second).plan
    unsure = _planner(bikes, conf=0.42, config=one_a_second).plan
    assert sure.full and unsure.full
    assert unsure.sample_fps == 2 * sure.sample_fps


def test_scene_cut_starts_over_with_full_frames() -> None:
    p = _planner([(0, 60, 200, 300), (300, 50, 520, 330)])
    assert not p.plan.full
    p.cut()
    assert p.plan.full and p.plan.reason == "scene cut"


def _track(points: list[tuple[float, str, float]], scale: float = 1.0) -> Track:
    tr = Track(1, 2)
    tr.sightings = [Sighting(t, label, c, (0, 0, 10, 10), False, scale) for t, label, c in points]
    return tr


def test_span_covers_confident_stretch_and_splits_long_unsure_ones() -> None:
    times = [float(t) for t in range(30)]
    pts = [(float(t), "car", 0.8) for t in range(0, 5)]
    pts += [(float(t), "car", 0.3) for t in range(5, 20)]  # half hidden, unsure: not claimed
    pts += [(float(t), "car", 0.7) for t in range(20, 25)]
    spans = track_spans(_track(pts), SpanRules(max_gap_s=3.0), times)
    assert [(s.start_s, s.end_s) for s in spans] == [(0.0, 4.5), (19.5, 24.5)]


def test_persistent_unsure_object_is_an_event_a_one_off_is_not() -> None:
    """Exhaustive detection takes the best of every frame of a second; a sample sees one. A
    small motorbike seen at 0.40-0.44 in sample after sample is there; seen once, it is not;
    seen once at 0.45 or more, it is (some frame of its second mostly shows it at 0.5)."""
    times = [t / 2 for t in range(20)]
    steady = _track([(t, "motorcycle", 0.44) for t in (1.0, 1.5, 2.0, 2.5)])
    (span,) = track_spans(steady, SpanRules(), times)
    assert (span.label, span.start_s, span.end_s) == ("motorcycle", 0.75, 2.75)
    assert not track_spans(_track([(1.0, "motorcycle", 0.43), (1.5, "motorcycle", 0.3)]),
                           SpanRules(), times)
    (once,) = track_spans(_track([(1.0, "motorcycle", 0.47), (1.5, "motorcycle", 0.3)]),
                          SpanRules(), times)
    assert (once.label, once.confidence) == ("motorcycle", 0.47)
    assert not track_spans(_track([(1.0, "motorcycle", 0.47), (1.5, "motorcycle", 0.3)]),
                           SpanRules(event_min_conf=0.5), times)  # the rule before
    assert not track_spans(steady, SpanRules(persist_hits=0), times)  # the old rule


def test_span_class_is_voted_by_full_scale_looks() -> None:
    """A van: a car in shrunk looks, a truck in the full-frame ones."""
    tr = _track([(float(t), "car", 0.7) for t in range(10)], scale=0.5)
    tr.sightings += [Sighting(float(t) + 0.5, "truck", 0.6, (0, 0, 10, 10)) for t in (0, 5)]
    tr.sightings.sort(key=lambda s: s.t)
    (span,) = track_spans(tr, SpanRules(max_gap_s=6.0), sorted(s.t for s in tr.sightings),
                          [0.5, 5.5])
    assert span.label == "truck"


def test_a_class_that_changes_for_good_is_one_event_per_class() -> None:
    """A car leaves at the left edge and a bus arrives where it was: the tracker (classes
    matched within families) keeps one track. Voted as one stretch it was one car event and
    the bus's seconds were in none; cut where the class changes, each is indexed."""
    tr = _track([(3.0, "car", 0.66), (3.5, "car", 0.70), (4.0, "car", 0.37)])
    tr.sightings += [Sighting(5.34, "bus", 0.42, (0, 0, 10, 10))]
    tr.sightings += [Sighting(t, "bus", c, (0, 0, 10, 10), False, 0.89)
                     for t, c in ((6.0, 0.80), (7.0, 0.77))]
    times = [3.0, 3.5, 4.0, 4.67, 5.34, 6.0, 7.0]
    spans = track_spans(tr, SpanRules(), times, native_times=times[:5])
    assert [(s.label, round(s.start_s, 3), s.end_s) for s in spans] == [
        ("car", 2.5, 3.75), ("bus", 5.005, 8.0)]
    (whole,) = track_spans(tr, SpanRules(class_change_hits=0), times, native_times=times[:5])
    assert whole.label == "car"  # the rule before


def test_a_flickering_class_stays_one_stretch() -> None:
    """A parked van: truck, car, truck in turn (blocks of one sample), or a car in shrunk looks
    between full-frame looks that call it a truck (no full-scale look in the car blocks)."""
    rules = SpanRules(max_gap_s=6.0)
    flicker = _track([(float(t), "truck" if t % 2 else "car", 0.7) for t in range(10)])
    assert split_class_changes(flicker.sightings, rules) == [flicker.sightings]
    van = _track([(float(t), "car", 0.7) for t in range(10)], scale=0.5)
    van.sightings += [Sighting(t, "truck", 0.6, (0, 0, 10, 10)) for t in (4.5, 4.6)]
    van.sightings.sort(key=lambda s: s.t)
    assert split_class_changes(van.sightings, rules) == [van.sightings]
    (span,) = track_spans(van, rules, sorted(s.t for s in van.sightings), [4.5, 4.6])
    assert span.label == "truck"
    unsure = _track([(1.0, "car", 0.7), (2.0, "car", 0.7), (3.0, "bus", 0.42), (4.0, "bus", 0.41)])
    assert split_class_changes(unsure.sightings, rules) == [unsure.sightings]  # never sure


def test_shrunk_stretch_without_full_scale_support_is_dropped() -> None:
    tr = _track([(float(t), "person", 0.6) for t in range(10)], scale=0.5)
    rules = SpanRules(max_gap_s=6.0)
    times = [float(t) for t in range(10)]
    assert track_spans(tr, rules, times, native_times=[])  # never looked at full scale: kept
    assert not track_spans(tr, rules, times, native_times=[2.0, 7.0])  # looked, not seen: gone


def test_full_scale_stretch_is_kept_however_few_looks_saw_it() -> None:
    """Only shrunk looks can mislead: a small rider that full frames found in 2 of 5 looks
    (0.67, then 0.46) is kept (it was dropped as if shrinking had invented it)."""
    tr = _track([(18.0, "person", 0.67), (19.6, "person", 0.46)])
    looks = [18.0, 18.4, 18.8, 19.2, 19.6]
    (span,) = track_spans(tr, SpanRules(max_gap_s=6.0), looks, native_times=looks)
    assert span.label == "person"
    assert (span.start_s, span.end_s) == (17.5, 20.1)  # no sample outside: half a second
    shrunk = _track([(18.0, "person", 0.67), (19.6, "person", 0.46)], scale=0.5)
    assert not track_spans(shrunk, SpanRules(max_gap_s=6.0), looks, native_times=looks)


def test_appearance_keeps_two_cars_apart() -> None:
    """At sparse samples the black car behind takes the white one's place; colour decides."""
    import numpy as np

    from detectors.tracker import appearance

    img = np.zeros((100, 300, 3), np.uint8)
    img[:, :100] = 240  # white car at x 0-100 ...
    img[:, 100:200] = 20  # ... black car behind it at x 100-200
    white, black = (0.0, 0.0, 100.0, 100.0), (100.0, 0.0, 200.0, 100.0)
    tr = SparseTracker(0.4, 2.0)
    tr.update(0.0, [Detection("car", 0.9, black), Detection("car", 0.9, white)],
              looks=[appearance(img, black), appearance(img, white)])
    # a second later the white car left; the black one is where the white one was
    img2 = np.full((100, 300, 3), 120, np.uint8)
    img2[:, :100] = 20
    tr.update(1.0, [Detection("car", 0.9, white)], looks=[appearance(img2, white)])
    tracks = tr.finish()
    black_track = next(t for t in tracks if t.sightings[0].box == black)
    assert len(black_track.sightings) == 2  # the black car continued its own track


def test_sampler_waits_for_the_rate_of_an_undecided_epoch() -> None:
    s = Sampler(1.0, epoch_s=2.0)
    picked = [t / 10 for t in range(0, 40) if s.wants(t / 10)]
    assert picked == [0.0, 1.0, 2.0, 3.0]
    waited: list[int] = []
    s.on_wait = waited.append
    got: list[bool] = []
    worker = threading.Thread(target=lambda: got.append(s.wants(4.0)))
    worker.start()
    worker.join(0.3)
    assert worker.is_alive() and waited == [2]  # blocked at epoch 2 until decided
    s.decide(2, 4.0)
    worker.join(2)
    assert got == [True]
    assert [t / 100 for t in range(401, 600) if s.wants(t / 100)] == [4.25, 4.5, 4.75, 5.0,
                                                                      5.25, 5.5, 5.75]


def test_a_motorbike_under_a_sure_rider_counts_as_seen() -> None:
    """From above, a rider hides most of the motorbike: the samples see it at 0.3-0.44 while
    the rider is sure. Under a rider seen at 0.45 or more it is an event; the model's own
    confidence stays the event's."""
    times = [float(t) for t in range(10)]
    bike_box = (100.0, 150.0, 140.0, 220.0)
    rider_box = (102.0, 100.0, 138.0, 190.0)  # on it: feet within the bike, head above
    beside_box = (150.0, 100.0, 186.0, 190.0)  # a person next to it

    def scene(person_box: tuple[float, float, float, float], person_conf: float,
              bike_conf: tuple[float, float]) -> list[Span]:
        bike = Track(1, 1, [Sighting(2.0, "motorcycle", bike_conf[0], bike_box),
                            Sighting(3.0, "motorcycle", bike_conf[1], bike_box)])
        person = Track(2, 0, [Sighting(t, "person", person_conf, person_box)
                              for t in (2.0, 3.0)])
        support_riders([bike, person], 0.45, 0.3, 0.45)
        return track_spans(bike, SpanRules(), times)

    (span,) = scene(rider_box, 0.7, (0.33, 0.41))
    assert (span.label, span.start_s, span.end_s) == ("motorcycle", 1.5, 3.5)
    assert span.confidence == 0.41
    assert not scene(beside_box, 0.7, (0.33, 0.41))  # not ridden
    assert not scene(rider_box, 0.44, (0.33, 0.41))  # the rider is not sure either
    assert not scene(rider_box, 0.7, (0.25, 0.28))  # below what starts a track
