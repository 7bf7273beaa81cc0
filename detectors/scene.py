"""Per-scene choice of how to look at a camera's frames: full frame, tiles, or packed regions.

The model has a fixed 640x640 input. Exhaustive detection (the reference the index is judged
against) letterboxes each whole frame into it, at the *native* scale ``min(640/w, 640/h)``.
Cheaper ways to fill the input exist, and which one keeps what the model finds depends on the
scene:

* **shrinking** frames to tile several into one input keeps big objects (riders close to the
  camera, buses) but loses small ones: a 20 px motorbike seen from an overpass drops below the
  model's confidence at 0.9x, a 100 px car does not mind 0.5x;
* **packing the active region** (the band of the picture where objects have been seen: the
  road, not the sky or the buildings) of several frames at native scale keeps every object at
  the size exhaustive detection sees it at, and fits 2-3 frames per input where the road is a
  band across the picture;
* where small objects fill the whole picture, nothing beats the **full frame** at native scale.

Small objects the model is unsure about (a motorbike at 20 px, confidence 0.4-0.5) are found
in some frames of a second and not in others; such scenes get more model inputs per second.
Objects that cross half their own width between samples (a street seen from the kerb) are
hard to keep apart by position; such scenes get a higher sample rate.

:class:`ScenePlanner` measures, from what the model has found so far, the size of the smallest
objects (a low percentile of box heights, in native pixels) and the active region, and picks the
layout that puts the most frames into one input while keeping every object at or above
``min_object_px`` (and never below ``min_scale``). The number of frames per input sets the
sample rate (``inferences_per_s`` inputs per second of video). A full-frame look at native
scale is taken every ``confirm_interval_s`` anyway: it finds objects outside the region, keeps
the measurements current and gives stationary objects their full-frame class. A scene cut
(PTZ move) starts over with full frames.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

Rect = tuple[int, int, int, int]


@dataclass(frozen=True)
class PlannerConfig:
    #: smallest object height (native pixels) a shrunk look may make out of the smallest objects
    min_object_px: float = 40.0
    #: never shrink a look below this scale (of native)
    min_scale: float = 0.5
    #: at most this many frames in one model input
    max_per_input: int = 4
    #: model inputs per second of video; the sample rate is this times frames per input …
    inferences_per_s: float = 0.5
    #: … kept within these bounds
    min_sample_fps: float = 1.0
    max_sample_fps: float = 4.0
    #: a full frame at native scale at least this often
    confirm_interval_s: float = 5.0
    #: full-frame looks before anything else is tried, at this rate
    measure_looks: int = 3
    measure_fps: float = 2.0
    #: how long a sighting counts for the measurements
    window_s: float = 30.0
    #: an active region covering more than this share of the frame is the whole frame
    full_share: float = 0.8
    #: percentile of box heights taken as "the smallest objects"
    size_percentile: float = 10.0
    #: a scene where at least ``hard_share`` of the detections are small (under ``hard_px``
    #: native pixels) and unsure (under ``unsure_conf``) gets ``hard_boost`` times the model
    #: inputs: such objects hover around the confidence that counts, and only more looks
    #: catch the seconds in which they reach it
    hard_px: float = 60.0
    unsure_conf: float = 0.5
    hard_share: float = 0.2
    hard_boost: float = 2.0
    #: objects should move at most this many box widths between samples (the tracker keeps
    #: identities by where things were a sample ago): fast scenes get a higher sample rate
    max_step_boxes: float = 1.0


@dataclass(frozen=True)
class LookPlan:
    """How to look at the next samples."""

    region: Rect | None  # native pixels; None: the whole frame
    scale: float  # of native
    per_input: int  # frames per model input
    sample_fps: float
    reason: str

    @property
    def full(self) -> bool:
        return self.region is None and self.scale >= 0.999


def _grid_scale(w: float, h: float, n: int, size: int) -> float:
    """The largest scale at which ``n`` copies of a ``w`` x ``h`` region fit a square input."""
    best = 0.0
    for rows in range(1, n + 1):
        cols = math.ceil(n / rows)
        best = max(best, min(size / (cols * w), size / (rows * h)))
    return best


class ScenePlanner:
    """Chooses the :class:`LookPlan` for a camera from the detections seen so far."""

    def __init__(self, width: int, height: int, input_size: int, config: PlannerConfig) -> None:
        self.config = config
        self.input_size = input_size
        self.native_scale = min(input_size / width, input_size / height)
        self.native_w = max(1, round(width * self.native_scale))
        self.native_h = max(1, round(height * self.native_scale))
        # (t, height, box, confidence), native pixels
        self._seen: deque[tuple[float, float, Rect, float]] = deque()
        self._speeds: deque[tuple[float, float]] = deque()  # (t, box widths per second)
        self._last_full = -math.inf
        self._full_looks = 0
        #: the height of the smallest objects seen lately (native pixels), once measured
        self.smallest_px: float | None = None
        #: the share of small detections the model is unsure about, once measured
        self.small_unsure_share: float | None = None
        self._plan = self._full_plan("start")

    # ------------------------------------------------------------------ input
    def observe(
        self,
        t: float,
        found: list[tuple[tuple[float, float, float, float], float]],
        full: bool,
    ) -> None:
        """``(box, confidence)`` of the detections (native pixels) in the look at ``t``."""
        if full:
            self._last_full = t
            self._full_looks += 1
        for (x1, y1, x2, y2), conf in found:
            self._seen.append(
                (t, y2 - y1, (int(x1), int(y1), math.ceil(x2), math.ceil(y2)), conf)
            )
        while self._seen and self._seen[0][0] < t - self.config.window_s:
            self._seen.popleft()
        self._plan = self._decide()

    def moved(self, t: float, widths_per_s: list[float]) -> None:
        """How fast tracked objects moved into the look at ``t``, in box widths per second."""
        for v in widths_per_s:
            self._speeds.append((t, v))
        while self._speeds and self._speeds[0][0] < t - self.config.window_s:
            self._speeds.popleft()

    def cut(self) -> None:
        """Scene cut: what was measured no longer holds."""
        self._seen.clear()
        self._speeds.clear()
        self._full_looks = 0
        self._last_full = -math.inf
        self._plan = self._full_plan("scene cut")

    # ------------------------------------------------------------------ output
    @property
    def plan(self) -> LookPlan:
        return self._plan

    def wants_full(self, t: float) -> bool:
        """Whether the sample at ``t`` should be a full-frame look at native scale."""
        if self._plan.full:
            return True
        return t - self._last_full >= self.config.confirm_interval_s - 1e-6

    def outside_region(self) -> Rect | None:
        return self._plan.region

    # ------------------------------------------------------------------ internals
    def _full_plan(self, reason: str) -> LookPlan:
        cfg = self.config
        fps = min(cfg.max_sample_fps, max(cfg.min_sample_fps, cfg.measure_fps))
        return LookPlan(None, 1.0, 1, fps, reason)

    def _decide(self) -> LookPlan:
        cfg = self.config
        if self._full_looks < cfg.measure_looks or len(self._seen) < 3:
            return self._full_plan("measuring")
        heights = np.fromiter((h for _, h, _, _ in self._seen), np.float64)
        confs = np.fromiter((c for _, _, _, c in self._seen), np.float64)
        small = float(np.percentile(heights, cfg.size_percentile))
        min_scale = min(1.0, max(cfg.min_scale, cfg.min_object_px / max(small, 1.0)))
        margin = max(32.0, float(np.median(heights)))
        x1 = max(0, int(min(b[0] for _, _, b, _ in self._seen) - margin))
        y1 = max(0, int(min(b[1] for _, _, b, _ in self._seen) - margin))
        x2 = min(self.native_w, math.ceil(max(b[2] for _, _, b, _ in self._seen) + margin))
        y2 = min(self.native_h, math.ceil(max(b[3] for _, _, b, _ in self._seen) + margin))
        region: Rect | None = (x1, y1, x2, y2)
        if (x2 - x1) * (y2 - y1) >= cfg.full_share * self.native_w * self.native_h:
            region = None
            x1, y1, x2, y2 = 0, 0, self.native_w, self.native_h
        w, h = x2 - x1, y2 - y1
        per_input, scale = 1, min(1.0, _grid_scale(w, h, 1, self.input_size))
        for n in range(cfg.max_per_input, 1, -1):
            s = min(1.0, _grid_scale(w, h, n, self.input_size))
            if s >= min_scale - 1e-9:
                per_input, scale = n, s
                break
        unsure = float(np.mean((heights < cfg.hard_px) & (confs < cfg.unsure_conf)))
        budget = cfg.inferences_per_s * (cfg.hard_boost if unsure >= cfg.hard_share else 1.0)
        fps = per_input * budget
        if len(self._speeds) >= 5:
            fast = float(np.percentile([v for _, v in self._speeds], 75))
            fps = max(fps, fast / cfg.max_step_boxes)
        fps = min(cfg.max_sample_fps, max(cfg.min_sample_fps, round(fps * 2) / 2))
        self.smallest_px = small
        self.small_unsure_share = unsure
        pace = f", {fps:g}/s"
        if region is None and scale >= 0.999:
            return LookPlan(None, 1.0, 1, fps, f"full frame{pace}")
        what = "region" if region is not None else "frame"
        reason = f"{per_input} {what}s per input at {scale:.2f}x native{pace}"
        return LookPlan(region, scale, per_input, fps, reason)
