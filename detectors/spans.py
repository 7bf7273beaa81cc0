"""Which seconds an event covers, and as what class: the rules that turn a track into events.

The index is read per second ("was there a motorcycle here at 10:04:07?"), and an event covers
every second between its start and its end. So:

* an event spans only the stretch of its track that the model was confident about (sightings at
  or above ``span_conf``), plus half the spacing to the neighbouring samples on each side (where
  the object was first and last seen is known to that precision, no better); after the last
  sample of a file there is no later look to share that spacing with, and the next segment of
  a live camera starts at its own first frame: what the last sample saw runs up to a whole
  sample interval on, to the file's end (with half, the last half-second of each one-minute
  segment of a camera sampled once a second was in no event);
* a track that stays but falls below ``span_conf`` for longer than ``max_gap_s`` (a motorbike at
  the far end of a queue, half hidden for ten seconds) is split there: the seconds in between are
  not claimed;
* a stretch becomes an event only if one of its sightings reaches ``event_min_conf``, or if
  ``persist_hits`` samples saw it at ``span_conf`` or more (a small motorbike the samples see
  at 0.40-0.44 second after second is one that some frame in between shows at 0.5: on the
  overpass clip, with ``event_min_conf`` at 0.5 then, this took motorcycle recall from 17 to 21
  of 21 seconds, precision unchanged);
* the class is voted over the stretch's confident sightings, and full-scale looks outvote shrunk
  ones (see :meth:`detectors.tracker.Track.label_scores`), so a parked van that full-frame
  detection calls a truck is one truck event for its whole stay, not a car; but a stretch
  whose class changes for good (a car leaves, a bus arrives where it was, and the tracker
  kept one track: classes are matched within families) is one event per class
  (:func:`split_class_changes`);
* a stretch seen confidently in shrunk looks, although most full-scale looks taken while it
  lasted were not confident about it, is dropped: shrinking changes what the model sees (a
  rider on a small motorbike becomes a confident "person"), and the full-scale look is the one
  exhaustive detection would have; so is a stretch that only ``persist_hits`` made an event
  and most full-scale looks missed (a motorbike at 0.40-0.44 in a few of nine full frames). A
  stretch seen only at full scale, with a sighting at ``event_min_conf``, is kept however few
  looks found it: on the development set that took the overpass clip at CIF from 0.80 to 0.89
  recall, precision unchanged;
* a motorbike or bicycle seen under a confidently seen rider (a person whose box sits on it, in
  the same look) counts as confidently seen whenever the model gives it 0.3 or more
  (:func:`support_riders`, ``PipelineConfig.rider_support``): the rider hides most of it from
  the camera, and from one sample the model is often unsure about what exhaustive detection
  finds in other frames of the second.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from .tracker import NATIVE, Sighting, Track
from .vocab import TWO_WHEELERS


@dataclass(frozen=True)
class SpanRules:
    span_conf: float = 0.4
    #: (see :class:`detectors.pipeline.PipelineConfig`)
    event_min_conf: float = 0.45
    max_gap_s: float = 3.0
    #: a stretch with this many sightings at or above ``span_conf`` (from different samples)
    #: is an event even without one at ``event_min_conf`` (0: never). An object the samples
    #: see at 0.4-0.5 again and again is one that some frame in between shows at 0.5 or more:
    #: exhaustive detection takes the best of every frame of a second, a sample sees one
    persist_hits: int = 3
    #: at most this much before the first / after the last confident sighting
    max_extend_s: float = 0.5
    #: a stretch whose class changes for good is one event per class when every block of one
    #: class was seen in at least this many samples, one a full-scale look and one at
    #: ``event_min_conf`` or more (0: never; see :func:`split_class_changes`)
    class_change_hits: int = 2


@dataclass
class Span:
    label: str
    start_s: float
    end_s: float
    confidence: float
    sightings: list[Sighting]


def _rides(person: tuple[float, float, float, float],
           vehicle: tuple[float, float, float, float]) -> bool:
    """Whether a person's box sits on a two-wheeler's: centred over it, most of its width within
    it, its top above the vehicle's and its feet within the vehicle's height."""
    px1, py1, px2, py2 = person
    vx1, vy1, vx2, vy2 = vehicle
    if not vx1 <= (px1 + px2) / 2 <= vx2:
        return False
    if min(px2, vx2) - max(px1, vx1) < 0.5 * (px2 - px1):
        return False
    return py1 < vy1 and vy1 <= py2 <= vy2 + 0.1 * (vy2 - vy1)


_OUT_OF_ORDER_S = 1.0


def support_riders(tracks: Sequence[Track], rider_conf: float, floor: float,
                   lift: float, after: float = -math.inf, upto: float = math.inf) -> None:
    """Under every person seen at ``rider_conf`` or more, the two-wheeler sighting of the same
    look it rides, if the model gave it ``floor`` or more but less than ``lift``, gets the
    ``support`` ``lift`` (the span rules then count it as a sighting at ``lift``). One rider
    carries one vehicle: the most confident one it rides, and none where that one is sure
    already (a second, unsure box on the same motorbike is not a second motorbike).

    Only the looks at times in ``after``-``upto`` (``after`` excluded) are considered: each
    look's riders and vehicles depend on that look alone, so a long file is done in turns
    as its tracks end, every track seen in those looks given.

    Exhaustive detection counts a motorbike in a second when one frame of it shows the
    motorbike at 0.5; under its rider a sample often sees it at 0.3-0.45 while the rider is
    sure. On the shared clips this took the Saigon intersection's motorcycle seconds from 4 to
    6 of 6 (see the README for the development set)."""
    riders: dict[float, list[tuple[float, float, float, float]]] = defaultdict(list)
    bikes: dict[float, list[Sighting]] = defaultdict(list)
    for tr in tracks:
        # the latest first: sightings are in time order (but for a frame or two of a file
        # whose frame times are out of order), and a long file is done in turns
        for s in reversed(tr.sightings):
            if s.t <= after - _OUT_OF_ORDER_S:
                break
            if s.held or not after < s.t <= upto:
                continue
            if s.label == "person" and s.confidence >= rider_conf:
                riders[s.t].append(s.box)
            elif s.label in TWO_WHEELERS and s.confidence >= floor:
                bikes[s.t].append(s)
    for t, people in riders.items():
        for person in people:
            ridden = [b for b in bikes.get(t, ()) if _rides(person, b.box)]
            if not ridden:
                continue
            best = max(ridden, key=lambda b: b.confidence)
            if best.confidence < lift:
                best.support = lift


def _conf(s: Sighting) -> float:
    """The confidence the rules judge a sighting by."""
    return max(s.confidence, s.support)


def _vote(sightings: Sequence[Sighting]) -> dict[str, float]:
    native = [s for s in sightings if s.scale >= NATIVE and not s.held]
    real = [s for s in sightings if not s.held] or list(sightings)
    scores: dict[str, float] = defaultdict(float)
    for s in native or real:
        scores[s.label] += s.confidence
    return dict(scores)


def track_spans(
    track: Track,
    rules: SpanRules,
    sample_times: Sequence[float],
    native_times: Sequence[float] = (),
) -> list[Span]:
    """The events of one track (usually one; more where it was unsure for a long stretch).

    ``sample_times``: every sample's time, sorted; ``native_times``: the times of the
    full-scale looks, sorted.
    """
    sure = [s for s in track.sightings if _conf(s) >= rules.span_conf]
    if not sure:
        return []
    runs: list[list[Sighting]] = [[sure[0]]]
    for s in sure[1:]:
        if s.t - runs[-1][-1].t > rules.max_gap_s + 1e-6:
            runs.append([s])
        else:
            runs[-1].append(s)
    runs = [piece for run in runs for piece in split_class_changes(run, rules)]
    whole = _vote(sure)
    out: list[Span] = []
    for run in runs:
        scores = _vote(run)
        if not any(s.scale >= NATIVE and not s.held for s in run) and whole:
            # a stretch seen only shrunk takes the class the full-scale looks gave the track
            scores = {k: v for k, v in whole.items() if any(s.label == k for s in run)} or scores
        best_conf: dict[str, float] = defaultdict(float)  # as the rules judge
        model_conf: dict[str, float] = defaultdict(float)  # as the model saw it
        for s in run:
            if not s.held:
                best_conf[s.label] = max(best_conf[s.label], _conf(s))
                model_conf[s.label] = max(model_conf[s.label], s.confidence)
        label = max(scores, key=lambda k: scores[k])
        persistent = rules.persist_hits > 0 and len(
            {s.t for s in run if not s.held and s.label == label}
        ) >= rules.persist_hits
        if best_conf.get(label, 0.0) < rules.event_min_conf and not persistent:
            label, conf = max(best_conf.items(), key=lambda kv: kv[1], default=(label, 0.0))
            if conf < rules.event_min_conf:
                continue
        # A stretch that shrunk looks saw, or that only its persistence made an event, must
        # have been seen in at least half the full-scale looks taken while it lasted: else
        # the shrunk looks misled, or it was not that persistent. A stretch seen only at
        # full scale with a sighting at ``event_min_conf`` is kept however few looks saw it
        # (a small rider found in 2 of 5 full frames, at 0.67 and 0.46, is a rider).
        shrunk = any(s.scale < NATIVE and not s.held for s in run)
        judged = shrunk or best_conf.get(label, 0.0) < rules.event_min_conf
        looked = _count_between(native_times, run[0].t, run[-1].t) if judged else 0
        sure_native = len({s.t for s in run if s.scale >= NATIVE and not s.held})
        if looked and sure_native < 0.5 * looked:
            continue
        start = run[0].t - _half_gap(sample_times, run[0].t, -1, rules.max_extend_s)
        end = run[-1].t + _half_gap(sample_times, run[-1].t, +1, rules.max_extend_s)
        out.append(Span(label, max(0.0, start), end, model_conf[label], run))
    return out


def split_class_changes(run: list[Sighting], rules: SpanRules) -> list[list[Sighting]]:
    """A stretch cut where its class changes for good: one piece per block of sightings of
    one class, when every block was seen in ``class_change_hits`` samples or more, one of them
    a full-scale look, and confidently (``event_min_conf``) at least once.

    The tracker matches classes within families (a car seen as a truck for a moment stays
    one object), so a car that leaves the picture and a bus that arrives where it was can be
    one track: voted as a whole it is one car event, and the bus's seconds are in no event
    (the H.265 street rendition of the development set lost two bus seconds seen in 23 and 3
    frames so). A class that flickers (truck, car, truck: a parked van) has blocks of one
    sample and stays one stretch, voted as before; so does a van that shrunk looks call a car
    between full-frame looks that call it a truck (its car blocks have no full-scale look).
    Each piece is cut halfway between the last sighting of one block and the first of the next.
    """
    hits = rules.class_change_hits
    if hits <= 0:
        return [run]
    blocks: list[list[Sighting]] = []
    for s in run:
        if s.held:
            continue
        if blocks and blocks[-1][-1].label == s.label:
            blocks[-1].append(s)
        else:
            blocks.append([s])
    if len(blocks) < 2:
        return [run]
    for block in blocks:
        if (
            len({s.t for s in block}) < hits
            or not any(s.scale >= NATIVE for s in block)
            or max(_conf(s) for s in block) < rules.event_min_conf
        ):
            return [run]
    cuts = [(a[-1].t + b[0].t) / 2 for a, b in itertools.pairwise(blocks)]
    pieces: list[list[Sighting]] = [[] for _ in blocks]
    for s in run:
        pieces[bisect.bisect_right(cuts, s.t)].append(s)
    return [p for p in pieces if p]


def _half_gap(times: Sequence[float], t: float, direction: int, cap: float) -> float:
    """Half the distance from ``t`` to the neighbouring sample time (capped)."""
    i = bisect.bisect_left(times, t - 1e-9)
    if direction < 0:
        j = i - 1
        if j < 0:
            return cap
        return min(cap, (t - times[j]) / 2)
    j = i + 1 if i < len(times) and abs(times[i] - t) < 1e-6 else i
    if j >= len(times):
        # the last sample: the caller cuts at the file's end
        return max(cap, times[-1] - times[-2]) if len(times) >= 2 else cap
    return min(cap, (times[j] - t) / 2)


def _count_between(times: Sequence[float], a: float, b: float) -> int:
    return bisect.bisect_right(times, b + 1e-9) - bisect.bisect_left(times, a - 1e-9)
