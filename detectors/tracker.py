"""The one tracker of wardcam, for sparse samples (1-4 per second): indexing and redaction.

ByteTrack-style association (high-confidence detections first, then low ones keep existing
tracks alive), but with a constant-velocity prediction and a centre-distance fallback so that
objects that move far between samples are still associated.  Classes are matched within
families (people; two-wheelers; four-wheelers), so a car seen as a truck for a moment stays one
object.

Where the caller gives each detection an appearance (:func:`appearance`: a small colour
histogram of the box), it weighs every match: at one sample a second a white sedan and the black
one behind it in the same lane are where the other was a second ago, and only colour tells
them apart. Redaction, which needs no identities, gives none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .detector import Detection
from .vocab import FAMILY as _FAMILY

Box = tuple[float, float, float, float]

#: a look at this share of native scale or more counts as a full-scale look
NATIVE = 0.95


def iou(a: Box, b: Box) -> float:
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass(slots=True)
class Sighting:
    t: float
    label: str
    confidence: float
    box: Box
    held: bool = False  # carried over a still (motion-gated) sample, not seen anew
    #: scale of the look that saw it, relative to full-frame detection (1.0: the same)
    scale: float = 1.0
    #: the confidence the span rules give it at least (a two-wheeler under a confident rider,
    #: see :func:`detectors.spans.support_riders`); the event keeps the model's own
    support: float = 0.0


@dataclass
class Track:
    track_id: int
    family: int
    sightings: list[Sighting] = field(default_factory=list)
    velocity: tuple[float, float] = (0.0, 0.0)  # box centre px/s
    best: Sighting | None = None
    #: running appearance (see :func:`appearance`), when the caller gives one
    look: np.ndarray | None = None

    @property
    def last(self) -> Sighting:
        return self.sightings[-1]

    @property
    def first_t(self) -> float:
        return self.sightings[0].t

    def predict(self, t: float) -> Box:
        last = self.last
        dt = t - last.t
        vx, vy = self.velocity
        x1, y1, x2, y2 = last.box
        return (x1 + vx * dt, y1 + vy * dt, x2 + vx * dt, y2 + vy * dt)

    def label_scores(self, min_conf: float = 0.0) -> dict[str, float]:
        """Summed confidence per label; looks at full scale outvote shrunk ones.

        A van is a truck at full scale and a car when shrunk: when a track has full-scale
        sightings, only those vote.
        """
        real = [s for s in self.sightings if not s.held and s.confidence >= min_conf]
        native = [s for s in real if s.scale >= NATIVE]
        scores: dict[str, float] = defaultdict(float)
        for s in native or real:
            scores[s.label] += s.confidence
        return dict(scores)

    def label(self, min_conf: float = 0.0) -> str:
        scores = self.label_scores(min_conf) or self.label_scores()
        return max(scores, key=lambda k: scores[k]) if scores else self.last.label

    def hits(self, min_conf: float = 0.0, label: str | None = None) -> int:
        return sum(
            1
            for s in self.sightings
            if not s.held and s.confidence >= min_conf and (label is None or s.label == label)
        )


class SparseTracker:
    """Associates per-sample detections into tracks.

    ``high_conf``: detections at or above it may start tracks and are matched first;
    lower ones (down to whatever the detector returns) only extend existing tracks.
    ``max_gap_s``: a track unseen for longer than this is finished.
    """

    def __init__(self, high_conf: float = 0.4, max_gap_s: float = 1.0, min_sim: float = 0.1):
        self.high_conf = high_conf
        self.max_gap_s = max_gap_s
        self.min_sim = min_sim
        self.active: list[Track] = []
        self.finished: list[Track] = []
        self._next_id = 1
        self._last_t = -1e18  # time of the last sample (detected or held)
        self._looks: dict[int, np.ndarray | None] = {}

    # ------------------------------------------------------------------ updates
    def hold(self, t: float) -> None:
        """A still sample: whatever was seen in the previous sample is still there."""
        for tr in self.active:
            last = tr.last
            if last.t >= self._last_t - 1e-9:
                tr.sightings.append(
                    Sighting(t, last.label, last.confidence, last.box, True, last.scale)
                )
        self._last_t = t

    def cut(self) -> None:
        """Scene cut (PTZ move, camera switch): no track survives it."""
        self.finished.extend(self.active)
        self.active = []

    def update(
        self,
        t: float,
        detections: Sequence[Detection],
        scale: float = 1.0,
        looks: Sequence[np.ndarray | None] | None = None,
    ) -> list[tuple[Track, Detection]]:
        """Feed one sample's detections; returns (track, detection) for every matched/new track.

        ``scale``: of the look that found them, relative to full-frame detection. ``looks``: an
        appearance per detection (:func:`appearance`), or None.
        """
        self._expire(t)
        self._last_t = t
        dets = list(detections)
        self._looks = {id(d): f for d, f in zip(dets, looks or [], strict=False)}
        matched: list[tuple[Track, Detection]] = []
        free_tracks = list(self.active)
        unmatched_high: list[Detection] = []
        high = [d for d in dets if d.confidence >= self.high_conf]
        low = [d for d in dets if d.confidence < self.high_conf]
        for stage, pool in enumerate((high, low)):
            pairs = self._associate(free_tracks, pool, t, strict=stage == 1)
            for tr, det in pairs:
                self._extend(tr, t, det, scale)
                matched.append((tr, det))
            used_t = {id(tr) for tr, _ in pairs}
            free_tracks = [tr for tr in free_tracks if id(tr) not in used_t]
            used_d = {id(d) for _, d in pairs}
            if stage == 0:
                unmatched_high = [d for d in pool if id(d) not in used_d]
        for det in unmatched_high:
            tr = Track(self._next_id, _FAMILY.get(det.label, 9))
            tr.look = self._looks.get(id(det))
            self._next_id += 1
            tr.sightings.append(Sighting(t, det.label, det.confidence, det.box, False, scale))
            self.active.append(tr)
            matched.append((tr, det))
        return matched

    def new_id(self) -> int:
        """A fresh id, never given to a track (for events split off a track)."""
        self._next_id += 1
        return self._next_id - 1

    def take_finished(self, before: float) -> list[Track]:
        """The finished tracks last seen before ``before``, oldest first, handed over: they
        are no longer kept here (nor returned by :meth:`finish`)."""
        done = [tr for tr in self.finished if tr.last.t < before]
        self.finished = [tr for tr in self.finished if tr.last.t >= before]
        return sorted(done, key=lambda tr: (tr.first_t, tr.track_id))

    def finish(self) -> list[Track]:
        """End of input: every track is finished; returns all tracks, oldest first."""
        self.finished.extend(self.active)
        self.active = []
        return sorted(self.finished, key=lambda tr: (tr.first_t, tr.track_id))

    # ------------------------------------------------------------------ internals
    def _expire(self, t: float) -> None:
        keep: list[Track] = []
        for tr in self.active:
            last_seen = max((s.t for s in reversed(tr.sightings) if not s.held), default=tr.last.t)
            if t - tr.last.t > self.max_gap_s or t - last_seen > max(self.max_gap_s, 4.0):
                self.finished.append(tr)
            else:
                keep.append(tr)
        self.active = keep

    def _extend(self, tr: Track, t: float, det: Detection, scale: float = 1.0) -> None:
        look = self._looks.get(id(det))
        if look is not None:
            tr.look = look if tr.look is None else 0.7 * tr.look + 0.3 * look
        last = tr.last
        dt = t - last.t
        if dt > 0 and not last.held:
            cx0, cy0 = (last.box[0] + last.box[2]) / 2, (last.box[1] + last.box[3]) / 2
            cx1, cy1 = (det.box[0] + det.box[2]) / 2, (det.box[1] + det.box[3]) / 2
            vx, vy = (cx1 - cx0) / dt, (cy1 - cy0) / dt
            ovx, ovy = tr.velocity
            tr.velocity = (0.5 * vx + 0.5 * ovx, 0.5 * vy + 0.5 * ovy)
        tr.sightings.append(Sighting(t, det.label, det.confidence, det.box, False, scale))

    def _associate(
        self, tracks: list[Track], dets: list[Detection], t: float, strict: bool
    ) -> list[tuple[Track, Detection]]:
        if not tracks or not dets:
            return []
        sim = np.zeros((len(tracks), len(dets)), np.float64)
        for i, tr in enumerate(tracks):
            pred = tr.predict(t)
            pw, ph = pred[2] - pred[0], pred[3] - pred[1]
            pcx, pcy = (pred[0] + pred[2]) / 2, (pred[1] + pred[3]) / 2
            diag = max(1.0, float(np.hypot(pw, ph)))
            for j, det in enumerate(dets):
                if _FAMILY.get(det.label, 9) != tr.family:
                    continue
                ov = iou(pred, det.box)
                dcx = (det.box[0] + det.box[2]) / 2 - pcx
                dcy = (det.box[1] + det.box[3]) / 2 - pcy
                dist = float(np.hypot(dcx, dcy)) / diag
                dw = det.box[2] - det.box[0]
                dh = det.box[3] - det.box[1]
                size_ratio = min(dw * dh, pw * ph) / max(dw * dh, pw * ph, 1e-6)
                near = 0.0 if strict else max(0.0, 0.5 * (1.0 - dist)) * min(1.0, 2 * size_ratio)
                sim[i, j] = max(ov, near)
                look = self._looks.get(id(det))
                if look is not None and tr.look is not None and sim[i, j] > 0:
                    sim[i, j] *= 0.1 + 0.9 * float(np.minimum(look, tr.look).sum())
        pairs: list[tuple[Track, Detection]] = []
        order = np.dstack(np.unravel_index(np.argsort(-sim, axis=None), sim.shape))[0]
        used_i: set[int] = set()
        used_j: set[int] = set()
        for i, j in order:
            if sim[i, j] < self.min_sim:
                break
            if i in used_i or j in used_j:
                continue
            used_i.add(int(i))
            used_j.add(int(j))
            pairs.append((tracks[int(i)], dets[int(j)]))
        return pairs


def appearance(img: np.ndarray, box: Box) -> np.ndarray | None:
    """A small normalised hue/saturation/value histogram (8x3x4) of the middle of a box."""
    import cv2

    h, w = img.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    a, b = max(0, int(x1 + 0.2 * bw)), max(0, int(y1 + 0.2 * bh))
    c, d = min(w, int(x2 - 0.2 * bw)), min(h, int(y2 - 0.2 * bh))
    if c - a < 2 or d - b < 2:
        return None
    crop = cv2.resize(img[b:d, a:c], (16, 16), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 3, 4], [0, 180, 0, 256, 0, 256]).ravel()
    total = float(hist.sum())
    return hist / total if total > 0 else None
