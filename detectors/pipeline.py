"""Indexing pipeline: decode → sample → motion gate → look → detect → track → events.

``run_pipeline(path, detector, config, progress)`` reads one video file and returns
:class:`PipelineResult` with the events found in it (times in seconds from the start of the
file, plus ``time_offset_s``; the caller adds the segment's corrected start time).

What each step does, and why (figures in the README and ``benchmarks/indexing.py``):

* **decode** (:mod:`detectors.decode`): only what sampling needs (GOP tails and
  non-reference frames are skipped), so main-stream footage costs less than decoding it all;
* **sample** at a per-scene rate, and run a **motion gate** on a small grey copy: a sample
  that did not change since the last looked-at one is not looked at (its tracks are carried
  over); a look is forced every ``force_interval_s`` all the same;
* **look** (:mod:`detectors.scene`): per scene, full frames, shrunk tiles or the active region
  of several frames packed at native scale, whichever puts most frames into one model input
  without shrinking the smallest objects the camera sees; a full frame at native scale every
  few seconds regardless;
* **track** (:mod:`detectors.tracker`) and turn tracks into **events** (:mod:`detectors.spans`):
  each event spans only the seconds its object was confidently seen, with its voted class.

Dual-stream cameras: run the pipeline on the *detect* stream with ``record_size`` set to the
record stream's frame size and ``time_offset_s`` to the detect file's start on the record
clock; events then carry boxes in record-frame pixels and times on the record clock.
"""

from __future__ import annotations

import bisect
import math
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import av
import cv2
import numpy as np

from .color import colour_unreliable, dominant_color, frame_gains, frame_lightness
from .decode import DecodeFailure, Decoder, DecodeStats, Sampler, VideoInfo, to_bgr
from .detector import Detection, Detector, Look
from .heap import fix_mmap_threshold
from .scene import LookPlan, PlannerConfig, ScenePlanner
from .spans import SpanRules, support_riders, track_spans
from .tracker import Box, SparseTracker, Track, appearance
from .vocab import TWO_WHEELERS, VEHICLE_LABELS

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class PipelineConfig:
    """Knobs of the pipeline; the defaults are what ``benchmarks/indexing.py`` measured best.

    ``sample_fps`` 0 lets each scene choose (see :mod:`detectors.scene`); a positive value fixes
    the rate. ``adaptive`` False looks at every sample as a full frame at native scale (the
    way exhaustive detection does, at the sample rate).

    The speed/quality trade-off is ``inferences_per_s`` (model inputs per second of video, the
    bulk of the CPU cost; scenes of small unsure objects get ``hard_boost`` times more): on the
    shared clips 0.5 gave 29x realtime on sub-stream footage with mean recall 0.95, 1.0 gave
    23-25x with mean recall 0.96 (same minimum, 0.89; both on a loaded 2-core machine).
    """

    sample_fps: float = 0.0
    adaptive: bool = True
    #: per-scene layout (see :class:`detectors.scene.PlannerConfig`)
    min_object_px: float = 40.0
    min_scale: float = 0.5
    max_per_input: int = 4
    inferences_per_s: float = 0.5
    min_sample_fps: float = 1.0
    max_sample_fps: float = 4.0
    confirm_interval_s: float = 5.0
    hard_boost: float = 2.0
    max_step_boxes: float = 1.0
    #: frames per batch on GPU (full frames there), at this rate when ``sample_fps`` is 0
    batch_size: int = 16
    gpu_sample_fps: float = 2.0
    motion_gate: bool = True
    #: fraction of (downscaled) pixels that must change for a sample to count as moving
    motion_threshold: float = 0.002
    #: grey-level change of one pixel that counts as a change
    motion_pixel_delta: int = 20
    #: the sample rate may change every this many seconds of video
    epoch_s: float = 2.0
    #: a sample is looked at at least this often even when nothing moves
    force_interval_s: float = 2.0
    #: a change over this fraction of the picture is a scene cut (PTZ move): tracks end
    scene_cut_fraction: float = 0.55
    #: detections below this are not used at all
    det_conf: float = 0.2
    #: detections at or above this may start a track
    track_conf: float = 0.3
    #: an event spans its track's sightings at or above this confidence …
    span_conf: float = 0.4
    #: … is split where they are further apart than this …
    span_gap_s: float = 3.0
    #: … and needs one sighting at least this confident (exhaustive detection counts an object
    #: at 0.5 in any frame of a second; a sample sees one frame, and one at 0.45 is mostly an
    #: object some frame of its second shows at 0.5: on the development set, 44 files, 0.45
    #: against 0.5 took mean recall 0.951 -> 0.962 for mean precision 0.971 -> 0.958, and the
    #: files meeting both targets from 25 to 28)
    event_min_conf: float = 0.45
    #: … or this many sightings at ``span_conf`` or more (0: off; see :class:`SpanRules`)
    persist_hits: int = 3
    #: a stretch whose class changes for good is one event per class, when each class holds
    #: for this many samples (0: never; see :func:`detectors.spans.split_class_changes`)
    class_change_hits: int = 2
    #: a motorbike or bicycle under a rider seen at ``event_min_conf`` counts as seen at
    #: ``event_min_conf`` whenever the model gives it this much (see
    #: :func:`detectors.spans.support_riders`; 0: never)
    rider_support: float = 0.3
    #: footage of this many frames a second or fewer (an NVR that records one or two a second
    #: to save disk) is judged at ``presence_conf`` itself: the lower bars above
    #: (``event_min_conf``, ``span_conf``, ``persist_hits``, ``rider_support``) stand for the
    #: frames of a second that no sample looked at, and at a sample a second of two frames
    #: there is at most one. On the development set's six renditions at two frames a second
    #: (2026-12-07) precision min / mean went 0.742 / 0.859 -> 0.857 / 0.933, recall
    #: 0.977 / 0.996 -> 0.977 / 0.993, and 3 -> 5 of them met both targets; footage at more
    #: frames a second is judged as before (0: every file as before)
    few_frames_fps: float = 2.5
    #: the confidence at which exhaustive detection counts an object in a frame
    presence_conf: float = 0.5
    #: a track unseen for this long is finished (at least 2.5 sample intervals)
    max_gap_s: float = 1.0
    #: run inference asynchronously while decoding goes on (OpenVINO back end) …
    overlap: bool = True
    #: … with up to this many model inputs in flight
    inflight: int = 1
    #: skip decoding non-reference frames (nothing else depends on them)
    fast_decode: bool = True
    #: skip the deblocking filter when frames are shrunk at least this much for the model
    #: (main-stream footage: the blocks it leaves are averaged away by the downscale; at
    #: sub-stream sizes small objects lost 0.03-0.04 confidence to it)
    skip_loop_filter_below: float = 0.5
    #: convert and shrink in one pass (swscale) frames shrunk at least this much for the model
    fast_resize_below: float = 0.5
    #: do not decode the part of a GOP after its last sample
    gop_skip: bool = True
    #: model inputs cut to what the looks fill (OpenVINO: a 640x360 frame runs on a 384x640
    #: input, 40 % less work than the 640x640 letterbox; see :mod:`detectors.ovshape`). Off:
    #: the network is not translation-neutral to the padding (its attention block sees the
    #: whole input), so against exhaustive detection on the letterbox it loses more boxes
    #: across 0.5 than it gains (1.4-3.5x as many on the shared clips; motorcycles -0.08 to
    #: -0.32 confidence) and recall fell 0.893 -> 0.786 (vn_intersection), 0.922 -> 0.902
    #: (intersection_cctv)
    rect_inputs: bool = False
    #: decoder threads; 0 = one up to 1280x720, FFmpeg's choice above (see
    #: :mod:`detectors.decode`); -1 = FFmpeg's choice (frame + slice threads on every core)
    decode_threads: int = 0
    #: with a detector on CUDA, decode on the GPU's NVDEC where PyAV can (software otherwise);
    #: off by default: PyAV copies every decoded frame back to host memory, and on an H200
    #: node with 16 cores that made 1080p indexing slower (28x realtime against 79x for H.264
    #: and 47x for H.265 in software); it saves CPU (0.17 against 0.27 CPU-s per second of
    #: H.265), which pays on a GPU node with few cores (``WARDCAM_DETECTOR_HW_DECODE=1``)
    hw_decode: bool = False
    #: tracks that have ended are made events every this many seconds of video, and let go
    #: of (0: all at the end of the file; see :meth:`_Runner.retire`)
    retire_every_s: float = 10.0
    thumbnail_max_side: int = 320
    thumbnail_quality: int = 85

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PipelineConfig:
        """The defaults, with ``WARDCAM_DETECTOR_HW_DECODE`` (``1``/``true``: NVDEC on GPU)."""
        env = os.environ if environ is None else environ
        hw = env.get("WARDCAM_DETECTOR_HW_DECODE", "").strip().lower() in {"1", "true", "yes"}
        return cls(hw_decode=hw)

    def planner(self) -> PlannerConfig:
        return PlannerConfig(
            min_object_px=self.min_object_px,
            min_scale=self.min_scale,
            max_per_input=self.max_per_input,
            inferences_per_s=self.inferences_per_s,
            min_sample_fps=self.min_sample_fps,
            max_sample_fps=self.max_sample_fps,
            confirm_interval_s=self.confirm_interval_s,
            hard_boost=self.hard_boost,
            max_step_boxes=self.max_step_boxes,
        )

    def few_frames(self, fps: float) -> bool:
        """Whether footage at ``fps`` frames a second is judged at ``presence_conf`` (see
        ``few_frames_fps``)."""
        return 0 < fps <= self.few_frames_fps

    def spans(self, sample_interval: float, fps: float = 0.0) -> SpanRules:
        """The span rules for footage at ``fps`` frames a second (0: unknown)."""
        # where the planner shrinks frames, a vehicle too small for the shrunk looks is seen
        # confidently only by the full-frame look every ``confirm_interval_s``: that is not
        # a gap in its stay
        confirm = self.confirm_interval_s + 1.0 if self.adaptive else 0.0
        few = self.few_frames(fps)
        return SpanRules(
            span_conf=self.presence_conf if few else self.span_conf,
            event_min_conf=self.presence_conf if few else self.event_min_conf,
            persist_hits=0 if few else self.persist_hits,
            class_change_hits=self.class_change_hits,
            max_gap_s=max(self.span_gap_s, 2.5 * sample_interval, confirm),
        )


@dataclass
class Event:
    """One tracked object: what, when (seconds from file start), where (pixels), best view."""

    label: str
    start_s: float
    end_s: float
    confidence: float
    box: tuple[float, float, float, float]
    best_s: float
    color: str | None
    thumbnail_jpeg: bytes
    track_id: int
    frame_width: int
    frame_height: int
    hits: int = 0
    labels: dict[str, float] = field(default_factory=dict)  # label → best confidence seen

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly summary (no thumbnail bytes)."""
        return {
            "label": self.label,
            "start": round(self.start_s, 3),
            "end": round(self.end_s, 3),
            "confidence": round(self.confidence, 4),
            "color": self.color,
            "box": [round(v, 1) for v in self.box],
            "best": round(self.best_s, 3),
            "track_id": self.track_id,
            "labels": {k: round(v, 4) for k, v in self.labels.items()},
            "frame_width": self.frame_width,
            "frame_height": self.frame_height,
        }


@dataclass
class PipelineResult:
    events: list[Event]
    frames_total: int
    #: frames read up to (decoded, or skipped because sampling did not need them): how far the
    #: file could be read
    frames_decoded: int
    duration_s: float
    error: str | None = None
    #: machine-readable reason when ``error`` is set: ``unreadable`` (not a video / cannot be
    #: opened), ``decode_error`` (failed mid-way), ``truncated`` (ended early)
    error_code: str | None = None
    fps: float = 0.0
    width: int = 0
    height: int = 0
    samples: int = 0
    samples_detected: int = 0
    inferences: int = 0
    #: the layouts the scene planner chose, in order, with the time each was first used
    plans: list[tuple[float, str]] = field(default_factory=list)
    decode: DecodeStats = field(default_factory=DecodeStats)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def note(self) -> str | None:
        """What decoding could not read (damaged packets, where and what lies behind a
        rewind of the timestamps; None: it read everything): the events cannot say what
        passed there."""
        return self.decode.note()

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class _Best:
    crop: np.ndarray
    greyscale: bool
    t: float
    confidence: float
    box: Box
    gains: tuple[float, float, float] | None = None
    scene_lightness: float | None = None


@dataclass
class _Sample:
    t: float
    index: int
    frame: av.VideoFrame | None  # None: still sample, carried over
    look: Look | None = None
    cut: bool = False
    full: np.ndarray | None = None  # full-resolution BGR, once converted
    turns: int = 0  # quarter turns that show the stored picture upright

    def bgr(self) -> np.ndarray:
        """The full-resolution picture, upright (converted when first needed: thumbnails)."""
        if self.full is None:
            assert self.frame is not None
            self.full = to_bgr(self.frame, turns=self.turns)
        return self.full


def _motion_image(img: np.ndarray) -> np.ndarray:
    """A small blurred luma proxy (the green channel, about 160 px wide): cheap and enough."""
    step = max(1, img.shape[1] // 160)
    small = np.ascontiguousarray(img[::step, ::step, 1])
    return cv2.GaussianBlur(small, (5, 5), 0)


def _crop(img: np.ndarray, box: Box, margin: float = 0.1) -> np.ndarray:
    h, w = img.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    a, b = max(0, int(x1 - mx)), max(0, int(y1 - my))
    c, d = min(w, math.ceil(x2 + mx)), min(h, math.ceil(y2 + my))
    if c <= a or d <= b:
        return np.zeros((1, 1, 3), np.uint8)
    return img[b:d, a:c].copy()


def _encode_jpeg(crop: np.ndarray, max_side: int, quality: int) -> bytes:
    h, w = crop.shape[:2]
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        crop = cv2.resize(crop, (max(1, round(w * s)), max(1, round(h * s))),
                          interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return bytes(buf) if ok else b""


def _speeds(matched: list[tuple[Track, Detection]], native: float) -> list[float]:
    """Box widths per second each matched track moved since its previous real sighting."""
    out = []
    for tr, det in matched:
        real = [s for s in tr.sightings[:-1] if not s.held]
        if not real:
            continue
        prev = real[-1]
        dt = tr.last.t - prev.t
        width = max(8.0 * native, det.box[2] - det.box[0], 1.0)
        if dt <= 0:
            continue
        dx = (det.box[0] + det.box[2] - prev.box[0] - prev.box[2]) / 2
        dy = (det.box[1] + det.box[3] - prev.box[1] - prev.box[3]) / 2
        out.append(float(np.hypot(dx, dy)) / width / dt)
    return out


def _insert(times: list[float], t: float) -> None:
    """Add ``t`` to sorted ``times`` (mostly at the end: samples come in order, almost)."""
    if times and t < times[-1]:
        bisect.insort(times, t)
    else:
        times.append(t)


def _crop_inner(crop: np.ndarray) -> np.ndarray:
    """The thumbnail crop has a 10 % margin; colour looks at the box itself."""
    h, w = crop.shape[:2]
    mx, my = round(w * 0.1 / 1.2), round(h * 0.1 / 1.2)
    inner = crop[my : h - my or h, mx : w - mx or w]
    return inner if inner.size else crop


class _Runner:
    """The sample → look → detect → track loop."""

    def __init__(
        self,
        detector: Detector,
        config: PipelineConfig,
        info: VideoInfo,
        window: tuple[float, float] | None = None,
        edges: tuple[float, ...] = (),
        on_event: Callable[[Event], Event] | None = None,
    ) -> None:
        self.detector = detector
        self.on_event = on_event
        self.config = config
        self.width, self.height = info.width, info.height  # upright
        self.turns = info.turns
        self.planner = ScenePlanner(info.width or 1, info.height or 1, detector.input_size,
                                    config.planner())
        self.native = self.planner.native_scale
        self.native_size = (self.planner.native_w, self.planner.native_h)
        # from the native picture back to the frame, per axis (see :meth:`_to_frame`)
        self.back = (
            (info.width or 1) / self.planner.native_w,
            (info.height or 1) / self.planner.native_h,
        )
        self.gpu = detector.prefers_batches
        self.fixed_fps = config.sample_fps > 0
        self.sampler = Sampler(self.first_rate(), config.epoch_s, window)
        self.decided_epoch = 1  # the sampler starts with epochs 0 and 1 at the first rate
        self.tracker = SparseTracker(config.track_conf, self._track_gap())
        self.pending: list[_Sample] = []
        self.looks: list[Look] = []
        self.inflight: deque[tuple[list[_Sample], Callable[[], list[list[Detection]]]]] = deque()
        self.ref: np.ndarray | None = None
        self.last_detect_t = -math.inf
        self.rules = config.spans(1.0 / max(config.min_sample_fps, config.sample_fps, 1e-6),
                                  info.fps)
        #: a two-wheeler under a sure rider counts at this confidence or more (0: never)
        self.rider_support = 0.0 if config.few_frames(info.fps) else config.rider_support
        #: per track, per confident stretch, the best view of each label
        self.best: dict[int, list[dict[str, _Best]]] = {}
        #: where stretches of best views are cut as well: the edges of the window indexed
        #: (the warm-up before it and the look past it are context, not the event's views)
        self.edges = sorted(edges)
        self.last_sure: dict[int, float] = {}
        self.sample_times: list[float] = []  # sorted
        self.native_times: list[float] = []  # sorted
        #: events of the tracks that have ended (see :meth:`retire`; on the file's clock, in
        #: its upright pixels), and what is known of the part of the file they may lie in
        self.found: list[Event] = []
        self.from_s = self.edges[0] if self.edges else 0.0
        self.until = min(info.duration_s if info.duration_s > 0 else math.inf,
                         self.edges[1] if self.edges else math.inf)
        #: the looks up to this time have had their riders supported and ended tracks retired
        self.retired_upto = -math.inf
        self.samples = 0
        self.samples_detected = 0
        self.inferences = 0
        self.plans: list[tuple[float, str]] = []

    # ------------------------------------------------------------------ plan
    def _plan(self) -> LookPlan:
        if self.gpu or not self.config.adaptive:
            fps = self.config.gpu_sample_fps if self.gpu else self.config.min_sample_fps
            return LookPlan(None, 1.0, 1, fps, "full frames")
        return self.planner.plan

    def first_rate(self) -> float:
        return self.config.sample_fps if self.fixed_fps else self._plan().sample_fps

    def decide_upto(self, epoch: int) -> None:
        """Fix the sample rate of every epoch up to ``epoch`` from what was seen so far.

        Called before the first sample of epoch ``k`` is added (for epoch ``k + 1``), or when the
        decoder reached an undecided epoch without a sample in between. It uses what has been
        tracked at that point of the (single-threaded, ordered) sample loop, so the decision does
        not depend on thread timing.
        """
        while self.decided_epoch < epoch:
            nxt = self.decided_epoch + 1
            if not self.sampler.decided(nxt):
                fps = self.config.sample_fps if self.fixed_fps else self._plan().sample_fps
                self.sampler.decide(nxt, fps)
            self.decided_epoch = nxt

    def _track_gap(self) -> float:
        slowest = self.config.sample_fps if self.fixed_fps else self.config.min_sample_fps
        return max(self.config.max_gap_s, 2.5 / slowest) if slowest > 0 else 1.0

    # ------------------------------------------------------------------ samples
    def add(
        self,
        t: float,
        index: int,
        frame: av.VideoFrame,
        full: np.ndarray | None,
        native: np.ndarray,
    ) -> None:
        """A sample: the decoded frame, its full-resolution BGR picture if already converted,
        and its picture at native scale (see :meth:`prepare`)."""
        cfg = self.config
        self.decide_upto(self.sampler.epoch(t) + 1)
        self.samples += 1
        _insert(self.sample_times, t)
        cut = False
        moved_outside = False
        plan = self._plan()
        if cfg.motion_gate:
            small = _motion_image(native)
            if self.ref is not None and self.ref.shape == small.shape:
                changed = cv2.absdiff(small, self.ref) > cfg.motion_pixel_delta
                frac = float(np.count_nonzero(changed)) / changed.size
                still = frac < cfg.motion_threshold
                cut = frac >= cfg.scene_cut_fraction
                if still and t - self.last_detect_t < cfg.force_interval_s:
                    self.pending.append(_Sample(t, index, None))
                    return
                if plan.region is not None and not cut:
                    moved_outside = self._moved_outside(changed, plan.region, small.shape)
            self.ref = small
        if cut:
            self.planner.cut()
            plan = self._plan()
        self.last_detect_t = t
        if plan.full or self.gpu or moved_outside or self.planner.wants_full(t):
            look = Look(native, 1.0, None)
        else:
            look = Look(native, plan.scale, plan.region)
        if self.looks and not self.detector.fits_one_input([*self.looks, look]) \
                and not self.gpu:
            self.flush()
        self.pending.append(_Sample(t, index, frame, look, cut, full, self.turns))
        self.looks.append(look)
        limit = cfg.batch_size if self.gpu else max(1, plan.per_input)
        if len(self.looks) >= limit:
            self.flush()

    def prepare(self, frame: av.VideoFrame) -> tuple[np.ndarray | None, np.ndarray]:
        """(full-resolution BGR or None, the picture at native scale) of a decoded frame.

        Runs on the decoding thread, ahead of the model.

        Native scale is the size exhaustive detection (ultralytics' letterbox) shrinks a frame
        to, with its filter (bilinear on the full-resolution BGR picture). Main-stream frames
        shrunk ``fast_resize_below`` or more are converted and shrunk in one pass by FFmpeg
        (swscale) instead: converting a 1080p picture to BGR costs more than the model looks;
        the full-resolution picture is then converted only when a thumbnail needs it.
        """
        w, h = self.native_size
        turns = self.turns
        upright = (frame.height, frame.width) if turns % 2 else (frame.width, frame.height)
        if upright == (w, h):
            full = to_bgr(frame, turns=turns)
            return full, full
        if self.native <= self.config.fast_resize_below + 1e-9:
            return None, to_bgr(frame, w, h, turns)
        full = to_bgr(frame, turns=turns)
        return full, cv2.resize(full, (w, h), interpolation=cv2.INTER_LINEAR)

    def _moved_outside(
        self, changed: np.ndarray, region: tuple[int, int, int, int], shape: tuple[int, ...]
    ) -> bool:
        """Whether something moved outside the active region (a newcomer to look for)."""
        sy = shape[0] / self.native_size[1]
        sx = shape[1] / self.native_size[0]
        x0, y0, x1, y1 = region
        inside = changed[int(y0 * sy) : math.ceil(y1 * sy), int(x0 * sx) : math.ceil(x1 * sx)]
        outside = int(np.count_nonzero(changed)) - int(np.count_nonzero(inside))
        return outside >= max(6, self.config.motion_threshold * changed.size)

    def flush(self, final: bool = False) -> None:
        """Start detection on the pending looks; track the previous batch meanwhile."""
        batch, looks = self.pending, self.looks
        self.pending, self.looks = [], []
        future: Callable[[], list[list[Detection]]] = list
        if looks:
            if self.config.overlap:
                future = self.detector.submit_looks(looks, self.config.rect_inputs)
            else:
                done = self.detector.detect_looks(looks, self.config.rect_inputs)
                future = lambda: done  # noqa: E731
            self.inferences += self._inputs(looks)
            self.samples_detected += len(looks)
        self.inflight.append((batch, future))
        keep = 0 if final else max(1, self.config.inflight)
        while len(self.inflight) > keep:
            self._track(*self.inflight.popleft())

    def _inputs(self, looks: list[Look]) -> int:
        from .detector import pack_looks

        return len(pack_looks(looks, self.detector.input_size))

    def _to_frame(
        self, box: tuple[float, float, float, float]
    ) -> tuple[float, float, float, float]:
        """A box on the model's (native-scale) picture in the frame's pixels, inside the frame.

        The native picture is the frame resized per axis to whole pixels (854x480 -> 640x360:
        x by 1/1.3344, y by 1/1.3333), so a box maps back per axis; by the one scale
        ``1/native`` an edge box came back past the frame (480.4 on 854x480, 2162 on
        3840x2160) and every y was off by up to 0.08 %. The clamp only absorbs float noise.
        """
        w, h = float(self.width or 0), float(self.height or 0)
        sx, sy = self.back
        x1, y1, x2, y2 = box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy
        if w > 0 and h > 0:
            x1, x2 = min(max(x1, 0.0), w), min(max(x2, 0.0), w)
            y1, y2 = min(max(y1, 0.0), h), min(max(y2, 0.0), h)
        return (x1, y1, x2, y2)

    def _track(self, batch: list[_Sample], future: Callable[[], list[list[Detection]]]) -> None:
        results = future() if any(s.look is not None for s in batch) else []
        it = iter(results)
        inv = 1.0 / self.native
        for s in batch:
            if s.look is None or s.frame is None:
                self.tracker.hold(s.t)
                continue
            found = next(it)
            if s.cut:
                self.tracker.cut()
            dets = [
                Detection(d.label, d.confidence, self._to_frame(d.box))
                for d in found
                if d.confidence >= self.config.det_conf
            ]
            looks = [appearance(s.look.image, d.box) for d in found
                     if d.confidence >= self.config.det_conf]
            matched = self.tracker.update(s.t, dets, scale=s.look.scale, looks=looks)
            if s.look.scale >= 0.95:
                _insert(self.native_times, s.t)
            self._update_best(s, matched)
            self.planner.moved(s.t, _speeds(matched, inv))
            full = s.look.region is None and s.look.scale >= 0.999
            self.planner.observe(
                s.t,
                [(d.box, d.confidence) for d in found if d.confidence >= self.config.track_conf],
                full,
            )
            plan = self._plan()
            if not self.plans or self.plans[-1][1] != plan.reason:
                self.plans.append((s.t, plan.reason))
        every = self.config.retire_every_s
        last = batch[-1].t if batch else -math.inf
        if every > 0 and last >= self.retired_upto + every:
            self.retire(last)

    def _update_best(self, sample: _Sample, matched: list[tuple[Track, Detection]]) -> None:
        """Keep the best view per label of every confident stretch of every track.

        Stretches are cut where :mod:`detectors.spans` cuts events, so that each event gets a
        thumbnail (and colour) from its own stretch.
        """
        grey: bool | None = None
        gains: tuple[float, float, float] | None = None
        scene: float | None = None
        t = sample.t
        assert sample.look is not None
        native = sample.look.image
        for tr, det in matched:
            sighting = tr.last
            if tr.best is None or det.confidence > tr.best.confidence:
                tr.best = sighting
            # (two-wheelers lower: a rider may make a sighting of theirs count, see events())
            bar = self.rules.span_conf
            if det.label in TWO_WHEELERS and self.rider_support > 0:
                bar = min(bar, self.rider_support)
            if det.confidence < bar:
                continue
            runs = self.best.setdefault(tr.track_id, [])
            last = self.last_sure.get(tr.track_id)
            if (not runs or last is None or t - last > self.rules.max_gap_s + 1e-6
                    or self._part(last) != self._part(t)):
                runs.append({})
            self.last_sure[tr.track_id] = t
            kept = runs[-1].get(det.label)
            if kept is None or det.confidence > kept.confidence:
                if grey is None:
                    grey = colour_unreliable(native)
                    gains = frame_gains(native)
                    scene = frame_lightness(native, gains)
                runs[-1][det.label] = _Best(_crop(sample.bgr(), det.box, 0.1), grey, t,
                                            det.confidence, det.box, gains, scene)

    def _part(self, t: float) -> int:
        """Which part of the file ``t`` is in: before, inside or after the window indexed."""
        return bisect.bisect_right(self.edges, t + 1e-9)

    # ------------------------------------------------------------------ events
    def events(
        self,
        duration: float,
        record_size: tuple[int, int] | None,
        time_offset_s: float,
        from_s: float = 0.0,
    ) -> list[Event]:
        """The events of every track (those that ended earlier were found by :meth:`retire`);
        a track that began before ``from_s`` (seen in the warm-up before a window) starts
        there: it is still in the picture."""
        self.flush(final=True)
        tracks = self.tracker.finish()
        if self.rider_support > 0:
            support_riders(tracks, self.rules.event_min_conf, self.rider_support,
                           self.rules.event_min_conf, after=self.retired_upto)
        found = [*self.found, *(f for tr in tracks for f in self._found(tr, from_s, duration))]
        out_w, out_h = record_size or (self.width, self.height)
        fx = out_w / self.width if self.width else 1.0
        fy = out_h / self.height if self.height else 1.0
        events: list[Event] = []
        for f in found:
            start = max(f.start_s, from_s)
            end = min(f.end_s, duration) if duration > 0 else f.end_s
            if end <= start:
                continue
            x1, y1, x2, y2 = f.box
            events.append(replace(
                f,
                start_s=start + time_offset_s,
                end_s=end + time_offset_s,
                box=(x1 * fx, y1 * fy, x2 * fx, y2 * fy),
                best_s=min(max(f.best_s, start), end) + time_offset_s,
                frame_width=out_w,
                frame_height=out_h,
            ))
        events.sort(key=lambda e: (e.start_s, e.track_id))
        return events

    def retire(self, now: float) -> None:
        """Make events of the tracks that ended before ``now`` and let go of them.

        Every track and its best views (a picture each) were kept to the end of the file:
        over 60 minutes of the overpass clip (854x480, 20,358 events) the process grew by
        0.37 GB, and 1080p pictures are about five times the size. What an ended track's
        events need is known by then: the samples around it, the full-scale looks while it
        lasted, the riders seen with it (:func:`support_riders` is run on every look up to
        ``now`` first). Their times are cut to the file's end at :meth:`events`.
        """
        if self.rider_support > 0:
            support_riders([*self.tracker.active, *self.tracker.finished],
                           self.rules.event_min_conf, self.rider_support,
                           self.rules.event_min_conf, after=self.retired_upto, upto=now)
        self.retired_upto = now
        for tr in self.tracker.take_finished(before=now):
            self.found += self._found(tr, self.from_s, self.until)
            self.best.pop(tr.track_id, None)
            self.last_sure.pop(tr.track_id, None)

    def _found(self, tr: Track, from_s: float, duration: float) -> list[Event]:
        """The events of one track, on the file's clock and in its upright pixels, with their
        thumbnails and colours (times cut to ``from_s``-``duration`` only to pick views;
        :meth:`events` cuts, shifts and scales them)."""
        cfg = self.config
        out: list[Event] = []
        spans = track_spans(tr, self.rules, self.sample_times, self.native_times)
        for k, span in enumerate(spans):
            start = max(span.start_s, from_s)
            end = min(span.end_s, duration) if duration > 0 else span.end_s
            if end <= start:
                continue
            # its best view within the window; else (seen only in the warm-up or past
            # the end, and extended into the window) the best of its own stretch; else
            # (a two-wheeler's views are kept from ``rider_support``, so one stretch of them
            # may hold two events) the track's best in the window
            keep = (
                self._best_in(tr.track_id, span.label, start, end)
                or self._best_in(tr.track_id, span.label, span.start_s, span.end_s)
                or self._best_in(tr.track_id, span.label, from_s, duration or math.inf)
            )
            if keep is not None:
                crop, box, best_t = keep.crop, keep.box, keep.t
            else:
                top = max(span.sightings, key=lambda s: s.confidence)
                crop, box, best_t = np.zeros((1, 1, 3), np.uint8), top.box, top.t
            color: str | None = None
            if span.label in VEHICLE_LABELS:
                color = dominant_color(
                    _crop_inner(crop),
                    keep.greyscale if keep else True,
                    keep.gains if keep else None,
                    keep.scene_lightness if keep else None,
                    two_wheeler=span.label in TWO_WHEELERS,
                )
            labels: dict[str, float] = {}
            for s in span.sightings:
                if not s.held:
                    labels[s.label] = max(labels.get(s.label, 0.0), s.confidence)
            event = Event(
                label=span.label,
                start_s=span.start_s,
                end_s=span.end_s,
                confidence=float(span.confidence),
                box=box,
                best_s=best_t,
                color=color,
                thumbnail_jpeg=_encode_jpeg(crop, cfg.thumbnail_max_side,
                                            cfg.thumbnail_quality),
                track_id=tr.track_id if k == 0 else self.tracker.new_id(),
                frame_width=self.width,
                frame_height=self.height,
                hits=sum(1 for s in span.sightings if not s.held),
                labels=labels,
            )
            out.append(self.on_event(event) if self.on_event is not None else event)
        return out

    def _best_in(self, track_id: int, label: str, start: float, end: float) -> _Best | None:
        """The best view of ``label`` (else of any label) in the track's stretch at start-end."""
        found: _Best | None = None
        for run in self.best.get(track_id, []):
            inside = [b for b in run.values() if start - 1e-6 <= b.t <= end + 1e-6]
            if not inside:
                continue
            same = [b for b, lb in zip(run.values(), run.keys(), strict=True)
                    if lb == label and start - 1e-6 <= b.t <= end + 1e-6]
            pick = max(same or inside, key=lambda b: b.confidence)
            if found is None or pick.confidence > found.confidence:
                found = pick
        return found


@dataclass(frozen=True, slots=True)
class _Progress:
    done: int


@dataclass(frozen=True, slots=True)
class _EpochWait:
    epoch: int


@dataclass(frozen=True, slots=True)
class _Frame:
    t: float
    index: int
    frame: av.VideoFrame
    full: np.ndarray | None
    native: np.ndarray


_END = object()


def _sampled(
    decoder: Decoder,
    sampler: Sampler,
    prepare: Callable[[av.VideoFrame], tuple[np.ndarray | None, np.ndarray]],
    want_progress: bool,
) -> Generator[_Frame | _Progress | _EpochWait, None, None]:
    """Decode and pick the samples (as BGR arrays) on a worker thread, ahead of the caller.

    Decoding then goes on while the caller waits for the model, so that both cores stay busy.
    Decode errors are raised in the caller's thread.
    """
    fps = decoder.info.fps
    out: queue.Queue[object] = queue.Queue(maxsize=8)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def waiting(epoch: int) -> None:
        put(_EpochWait(epoch))

    sampler.on_wait = waiting

    def work() -> None:
        last_report = 0
        try:
            for t, idx, frame in decoder.frames(sampler.wants, sampler.next_wanted):
                if want_progress and decoder.frames_reached - last_report >= max(1, int(fps)):
                    last_report = decoder.frames_reached
                    if not put(_Progress(last_report)):
                        return
                if not put(_Frame(t, idx, frame, *prepare(frame))):
                    return
        except BaseException as exc:  # handed to the caller
            put(exc)
        finally:
            put(_END)

    worker = threading.Thread(target=work, name="wardcam-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, _Frame | _Progress | _EpochWait)
            yield item
    finally:
        stop.set()
        sampler.stop()
        worker.join()


def run_pipeline(
    path: str | Path,
    detector: Detector,
    config: PipelineConfig | None = None,
    progress: ProgressFn | None = None,
    *,
    record_size: tuple[int, int] | None = None,
    time_offset_s: float = 0.0,
    window: tuple[float, float] | None = None,
    warm_up_s: float = 0.0,
    follow_s: float = 0.0,
    on_event: Callable[[Event], Event] | None = None,
) -> PipelineResult:
    """Index one video file.  Never raises for bad video: see ``PipelineResult.error``.

    ``progress(done, total)`` is called about once per second of video with frame counts.
    A file that stops decoding part-way keeps the events found up to that point, with
    ``error``/``error_code`` set and ``frames_decoded`` saying how far it got.

    Dual-stream cameras: ``path`` is the detect (sub-)stream; ``record_size`` the record
    stream's ``(width, height)``: event boxes and frame sizes are given in its pixels;
    ``time_offset_s`` is added to every event time (the detect file's start on the clock the
    caller uses, e.g. seconds after the start of the record segment).

    ``window`` ``(start, end)``: only that part of the file (its seconds) is indexed; the
    GOPs outside it are not decoded and events lie within it. A dual-stream
    camera's detect segments are cut at other moments than its record segments, so a record
    segment needs only the edge of one of them: decoding it whole doubled the work.

    ``warm_up_s``: with a window, the file is looked at from this long before its start, for
    context only: what is in the picture at the window's start is tracked already (and its
    event starts at the window's start: it is still there), the scene's layout is known.
    ``follow_s``: and on for this long past its end: what the next sample after the window
    still sees was there up to its end (its event runs to the end, as it would at the end of
    the file: without it, up to a sample interval of presence before the cut was lost).

    ``on_event(event)``: each event as it is made (those of tracks that ended as the file is
    read, every ``retire_every_s``; the rest at the end), on the file's clock and in its
    pixels; what it returns is kept instead (e.g. the event without its thumbnail, written
    elsewhere: an hour of dense traffic is tens of MB of them). Its times and box are then cut,
    shifted and scaled as any event's; one cut away entirely is not returned.
    """
    if window is not None and not window[0] < window[1]:
        raise ValueError(f"empty window {window}")  # before the file is opened
    if warm_up_s < 0 or follow_s < 0:
        raise ValueError(f"negative warm-up {warm_up_s} or follow {follow_s}")
    cfg = config or PipelineConfig()
    fix_mmap_threshold()
    try:
        hwaccel = "cuda" if cfg.hw_decode and detector.prefers_batches else None
        decoder = Decoder(path, cfg.fast_decode, cfg.decode_threads, cfg.gop_skip, hwaccel)
    except DecodeFailure as exc:
        return PipelineResult([], 0, 0, 0.0, str(exc), exc.code)
    info = decoder.info
    if info.width and info.height and cfg.skip_loop_filter_below > 0:
        native = min(detector.input_size / info.width, detector.input_size / info.height)
        if native <= cfg.skip_loop_filter_below + 1e-9:
            decoder.skip_loop_filter()
    looked = None
    if window is not None:
        looked = (max(0.0, window[0] - warm_up_s), window[1] + follow_s)
    runner = _Runner(detector, cfg, info, looked, window or (), on_event)
    sampler = runner.sampler
    error: str | None = None
    code: str | None = None
    samples = _sampled(decoder, sampler, runner.prepare, progress is not None)
    try:
        for item in samples:
            if isinstance(item, _Progress):
                if progress is not None:
                    progress(min(item.done, info.frames_total or item.done), info.frames_total)
                continue
            if isinstance(item, _EpochWait):
                runner.decide_upto(item.epoch)
                continue
            runner.add(item.t, item.index, item.frame, item.full, item.native)
    except DecodeFailure as exc:
        error, code = str(exc), exc.code
    finally:
        samples.close()  # stops and joins the decode thread before the container closes
        decoder.close()
    reached = decoder.frames_reached
    total = info.frames_total
    if error is None and total and reached < total - max(3, int(info.fps * 0.5)):
        error = f"truncated: decoded {reached} of {total} frames"
        code = "truncated"
    if error is None and reached == 0:
        error, code = "no frame could be decoded", "unreadable"
    duration = info.duration_s
    if error is not None and info.fps:
        duration = min(duration, reached / info.fps) if duration else reached / info.fps
    if window is not None:
        duration = min(duration, window[1]) if duration else window[1]
    events = runner.events(duration, record_size, time_offset_s, window[0] if window else 0.0)
    if progress is not None:
        progress(reached if error else (total or reached), total or reached)
    out_w, out_h = record_size or (info.width, info.height)
    return PipelineResult(
        events=events,
        frames_total=total,
        frames_decoded=reached,
        duration_s=info.duration_s,
        error=error,
        error_code=code,
        fps=info.fps,
        width=out_w,
        height=out_h,
        samples=runner.samples,
        samples_detected=runner.samples_detected,
        inferences=runner.inferences,
        plans=runner.plans,
        decode=decoder.stats,
    )
