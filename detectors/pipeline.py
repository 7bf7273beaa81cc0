"""Indexing pipeline: decode → sample → motion gate → detect → track → events.

``run_pipeline(path, detector, config, progress)`` reads one video file and returns
:class:`PipelineResult` with one :class:`Event` per tracked object (times in seconds from the
start of the file; the caller adds the segment's corrected start time).

Speed comes from doing little work per second of video:

* decoding with PyAV on all cores, skipping non-reference frames and the H.264 loop filter
  (``fast_decode``) and converting only the sampled frames to BGR;
* sampling ``sample_fps`` frames per second;
* a motion gate on a small greyscale copy: a sample that did not change since the last
  detected one is not run through the model; its tracks are carried over, and a detection is
  forced every ``force_interval_s`` so that parked vehicles and still people are kept up to date;
* on CPU, packing ``tiles`` downscaled samples into each 640x640 model input (the models have a
  fixed input size, so a 640x360 frame otherwise wastes 44 % of it); on GPU, batching.
"""

from __future__ import annotations

import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from .color import colour_unreliable, dominant_color, frame_gains
from .detector import VEHICLE_LABELS, Detection, Detector, tile_layout
from .tracker import Box, Sighting, SparseTracker, Track

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class PipelineConfig:
    """Knobs of the pipeline; the defaults are what ``benchmarks/indexing.py`` measured best.

    Trade-off on the shared footage (per-second class presence against ultralytics ``track()``
    on every frame): 1 sample/s with frames tiled at >= 0.66 scale keeps recall >= 0.95 on
    every clip; 1.5-2 samples/s buys a little recall for 1.5-2x the model time; tiling at
    0.5 scale (4 frames per input) loses small objects (recall 0.46 on the street clip).
    Raise ``sample_fps`` for fast traffic seen in a narrow field of view.
    """

    sample_fps: float = 1.0
    #: smallest scale a frame may be shrunk to when tiling several into one model input (CPU).
    min_tile_scale: float = 0.66
    #: hard cap on frames per model input (CPU); 1 disables tiling.
    max_tiles: int = 4
    #: frames per batch on GPU
    batch_size: int = 16
    motion_gate: bool = True
    #: fraction of (downscaled) pixels that must change for a sample to count as moving
    motion_threshold: float = 0.002
    #: grey-level change of one pixel that counts as a change
    motion_pixel_delta: int = 20
    #: a sample is detected at least this often even when nothing moves
    force_interval_s: float = 2.0
    #: a change over this fraction of the picture is a scene cut (PTZ move): tracks end
    scene_cut_fraction: float = 0.55
    #: detections below this are not used at all
    det_conf: float = 0.2
    #: detections at or above this may start a track
    track_conf: float = 0.4
    #: an event needs a sighting at least this confident …
    event_min_conf: float = 0.55
    #: … and at least this many sightings at or above ``span_conf``
    event_min_hits: int = 1
    #: the event spans the sightings at or above this confidence
    span_conf: float = 0.35
    #: a track unseen for this long is finished (at least 2.5 sample intervals)
    max_gap_s: float = 1.0
    #: run inference asynchronously while decoding goes on (OpenVINO back end) …
    overlap: bool = True
    #: … with up to this many model inputs in flight
    inflight: int = 1
    #: decode shortcuts (skip non-reference frames and the loop filter)
    fast_decode: bool = True
    #: decoder threads; 0 = FFmpeg's choice (frame + slice threads on every core)
    decode_threads: int = 0
    thumbnail_max_side: int = 320
    thumbnail_quality: int = 85


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

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class _Best:
    crop: np.ndarray
    greyscale: bool
    sighting: Sighting
    gains: tuple[float, float, float] | None = None


@dataclass
class _Sample:
    t: float
    index: int
    image: np.ndarray | None  # None: still sample, carried over
    cut: bool = False


@dataclass
class _VideoInfo:
    fps: float
    frames_total: int
    duration_s: float
    width: int
    height: int


class _DecodeFailure(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class _Decoder:
    """Yields ``(t_seconds, frame_index, av.VideoFrame)``, skipping what ``fast`` allows."""

    def __init__(self, path: Path, fast: bool, threads: int = 0) -> None:
        try:
            self.container = av.open(str(path))
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise _DecodeFailure(f"cannot open as video: {exc}", "unreadable") from exc
        if not self.container.streams.video:
            self.container.close()
            raise _DecodeFailure("no video stream", "unreadable")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.stream.thread_count = max(0, threads)
        if fast:
            self.stream.codec_context.skip_frame = "NONREF"
            self.stream.codec_context.options = {"skip_loop_filter": "all"}
        rate = self.stream.average_rate or self.stream.guessed_rate or Fraction(25)
        fps = float(rate)
        tb = self.stream.time_base or Fraction(1, 90000)
        if self.stream.duration is not None:
            duration = float(self.stream.duration * tb)
        elif self.container.duration is not None:
            duration = self.container.duration / 1_000_000
        else:
            duration = 0.0
        frames = int(self.stream.frames or 0) or round(duration * fps)
        cc = self.stream.codec_context
        self.info = _VideoInfo(fps, frames, duration, int(cc.width or 0), int(cc.height or 0))
        self.start = float((self.stream.start_time or 0) * tb)
        self.time_base = tb
        self.frames_reached = 0

    def __iter__(self) -> Iterator[tuple[float, int, av.VideoFrame]]:
        fps = self.info.fps
        tb = float(self.time_base)
        n = 0
        try:
            for frame in self.container.decode(self.stream):
                if frame.pts is not None:
                    t = frame.pts * tb - self.start
                    idx = max(n, round(t * fps))
                else:
                    idx = n
                    t = n / fps
                n = idx + 1
                self.frames_reached = max(self.frames_reached, n)
                yield t, idx, frame
        except av.FFmpegError as exc:
            raise _DecodeFailure(f"decoding failed after frame {n}: {exc}", "decode_error") from exc

    def close(self) -> None:
        self.container.close()


def _tiles_for(config: PipelineConfig, detector: Detector, width: int, height: int) -> int:
    if detector.prefers_batches:
        return 1
    best = 1
    for k in range(1, max(1, config.max_tiles) + 1):
        _, _, scale = tile_layout(width, height, detector.input_size, k)
        if scale >= config.min_tile_scale:
            best = k
    return best


def _motion_image(img: np.ndarray) -> np.ndarray:
    """A small blurred luma proxy (the green channel, every 4th pixel): cheap and enough."""
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


class _Runner:
    """The sample → detect → track loop, shared by :func:`run_pipeline` and person tracks."""

    def __init__(
        self,
        detector: Detector,
        config: PipelineConfig,
        width: int,
        height: int,
        on_sample: Callable[[float, int, list[tuple[Track, Detection]]], None] | None = None,
    ) -> None:
        self.detector = detector
        self.config = config
        self.tiles = _tiles_for(config, detector, width, height)
        self.batch = config.batch_size if detector.prefers_batches else self.tiles
        gap = max(config.max_gap_s, 2.5 / config.sample_fps) if config.sample_fps > 0 else 1.0
        self.tracker = SparseTracker(config.track_conf, gap)
        self.pending: list[_Sample] = []
        self.pending_images = 0
        self.inflight: deque[tuple[list[_Sample], Callable[[], list[list[Detection]]]]] = deque()
        self.ref: np.ndarray | None = None
        self.last_detect_t = -math.inf
        self.best: dict[tuple[int, str], _Best] = {}
        self.samples = 0
        self.samples_detected = 0
        self.inferences = 0
        self.on_sample = on_sample

    def add(self, t: float, index: int, img: np.ndarray) -> None:
        cfg = self.config
        self.samples += 1
        cut = False
        if cfg.motion_gate:
            small = _motion_image(img)
            if self.ref is not None and self.ref.shape == small.shape:
                diff = cv2.absdiff(small, self.ref)
                frac = float(np.count_nonzero(diff > cfg.motion_pixel_delta)) / diff.size
                still = frac < cfg.motion_threshold
                cut = frac >= cfg.scene_cut_fraction
                if still and t - self.last_detect_t < cfg.force_interval_s:
                    self.pending.append(_Sample(t, index, None))
                    return
            self.ref = small
        self.last_detect_t = t
        self.pending.append(_Sample(t, index, img, cut))
        self.pending_images += 1
        if self.pending_images >= self.batch:
            self.flush()

    def flush(self, final: bool = False) -> None:
        """Start detection on the pending samples; track the previous batch meanwhile."""
        images = [s.image for s in self.pending if s.image is not None]
        batch = self.pending
        self.pending = []
        self.pending_images = 0
        future: Callable[[], list[list[Detection]]] = list
        if images:
            if self.detector.prefers_batches:
                done = self.detector.detect(images)
                future = lambda: done  # noqa: E731
                self.inferences += math.ceil(len(images) / max(1, self.config.batch_size))
            elif self.config.overlap:
                future = self.detector.submit_tiled(images, self.tiles)
                self.inferences += math.ceil(len(images) / self.tiles)
            else:
                done = self.detector.detect_tiled(images, self.tiles)
                future = lambda: done  # noqa: E731
                self.inferences += math.ceil(len(images) / self.tiles)
            self.samples_detected += len(images)
        self.inflight.append((batch, future))
        keep = 0 if final else max(1, self.config.inflight)
        while len(self.inflight) > keep:
            self._track(*self.inflight.popleft())

    def _track(
        self, batch: list[_Sample], future: Callable[[], list[list[Detection]]]
    ) -> None:
        results = future() if any(s.image is not None for s in batch) else []
        it = iter(results)
        for s in batch:
            if s.image is None:
                self.tracker.hold(s.t)
                if self.on_sample is not None:
                    self.on_sample(s.t, s.index, [])
                continue
            dets = [d for d in next(it) if d.confidence >= self.config.det_conf]
            if s.cut:
                self.tracker.cut()
            matched = self.tracker.update(s.t, dets)
            self._update_best(s.image, matched)
            if self.on_sample is not None:
                self.on_sample(s.t, s.index, matched)

    def _update_best(self, img: np.ndarray, matched: list[tuple[Track, Detection]]) -> None:
        grey: bool | None = None
        gains: tuple[float, float, float] | None = None
        for tr, det in matched:
            sighting = tr.last
            if tr.best is None or det.confidence > tr.best.confidence:
                tr.best = sighting
            # the best view per label, so that an event's box and thumbnail show its label
            key = (tr.track_id, det.label)
            kept = self.best.get(key)
            if kept is None or det.confidence > kept.sighting.confidence:
                if grey is None:
                    grey = colour_unreliable(img)
                    gains = frame_gains(img)
                self.best[key] = _Best(_crop(img, det.box, 0.1), grey, sighting, gains)

    def events(self, duration: float, width: int, height: int) -> list[Event]:
        self.flush(final=True)
        cfg = self.config
        half = 0.5 / cfg.sample_fps
        events: list[Event] = []
        for tr in self.tracker.finish():
            best_by_label: dict[str, float] = {}
            for s in tr.sightings:
                if not s.held:
                    best_by_label[s.label] = max(best_by_label.get(s.label, 0.0), s.confidence)
            label = tr.label()
            conf = best_by_label.get(label, 0.0)
            if conf < cfg.event_min_conf:
                # the object may be mostly one class but clearly another at its best view
                label, conf = max(best_by_label.items(), key=lambda kv: kv[1], default=(label, 0))
            strong = [s for s in tr.sightings if s.confidence >= cfg.span_conf]
            if (
                not strong
                or conf < cfg.event_min_conf
                or tr.hits(cfg.span_conf) < cfg.event_min_hits
            ):
                continue
            # the span: first to last sighting (held ones included: the object was still there)
            start = max(0.0, strong[0].t - half)
            end = strong[-1].t + half
            if duration > 0:
                end = min(end, duration)
            keep = self.best.get((tr.track_id, label))
            best = keep.sighting if keep is not None else (tr.best or strong[0])
            crop = keep.crop if keep is not None else np.zeros((1, 1, 3), np.uint8)
            color: str | None = None
            if label in VEHICLE_LABELS:
                color = dominant_color(
                    _crop_inner(crop),
                    keep.greyscale if keep else True,
                    keep.gains if keep else None,
                )
            events.append(
                Event(
                    label=label,
                    start_s=start,
                    end_s=end,
                    confidence=float(conf),
                    box=best.box,
                    best_s=best.t,
                    color=color,
                    thumbnail_jpeg=_encode_jpeg(crop, cfg.thumbnail_max_side,
                                                cfg.thumbnail_quality),
                    track_id=tr.track_id,
                    frame_width=width,
                    frame_height=height,
                    hits=tr.hits(),
                    labels=best_by_label,
                )
            )
        events.sort(key=lambda e: (e.start_s, e.track_id))
        return events


def _crop_inner(crop: np.ndarray) -> np.ndarray:
    """The thumbnail crop has a 10 % margin; colour looks at the box itself."""
    h, w = crop.shape[:2]
    mx, my = round(w * 0.1 / 1.2), round(h * 0.1 / 1.2)
    inner = crop[my : h - my or h, mx : w - mx or w]
    return inner if inner.size else crop


@dataclass(frozen=True, slots=True)
class _Progress:
    done: int


@dataclass(frozen=True, slots=True)
class _Frame:
    t: float
    index: int
    image: np.ndarray


_END = object()


def _sampled(
    decoder: _Decoder, config: PipelineConfig, want_progress: bool
) -> Generator[_Frame | _Progress, None, None]:
    """Decode and pick the samples (as BGR arrays) on a worker thread, ahead of the caller.

    Decoding then goes on while the caller waits for the model, so that both cores stay busy.
    Decode errors are raised in the caller's thread.
    """
    interval = 1.0 / config.sample_fps if config.sample_fps > 0 else 0.0
    fps = decoder.info.fps
    out: queue.Queue[object] = queue.Queue(maxsize=max(4, 2 * config.batch_size))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        next_t = 0.0
        last_report = -1
        try:
            for t, idx, frame in decoder:
                if want_progress and idx - last_report >= max(1, int(fps)):
                    if not put(_Progress(idx + 1)):
                        return
                    last_report = idx
                if t + 1e-6 < next_t:
                    continue
                next_t = (math.floor(t / interval + 1e-6) + 1) * interval if interval else 0.0
                if not put(_Frame(t, idx, frame.to_ndarray(format="bgr24"))):
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
            assert isinstance(item, _Frame | _Progress)
            yield item
    finally:
        stop.set()
        worker.join()


def _drive(
    path: str | Path,
    detector: Detector,
    config: PipelineConfig,
    progress: ProgressFn | None,
    on_sample: Callable[[float, int, list[tuple[Track, Detection]]], None] | None = None,
) -> tuple[PipelineResult, _Runner | None]:
    path = Path(path)
    try:
        decoder = _Decoder(path, config.fast_decode, config.decode_threads)
    except _DecodeFailure as exc:
        return PipelineResult([], 0, 0, 0.0, str(exc), exc.code), None
    info = decoder.info
    runner = _Runner(detector, config, info.width, info.height, on_sample)
    error: str | None = None
    code: str | None = None
    width, height = info.width, info.height
    samples = _sampled(decoder, config, progress is not None)
    try:
        for item in samples:
            if isinstance(item, _Progress):
                assert progress is not None
                progress(min(item.done, info.frames_total or item.done), info.frames_total)
                continue
            height, width = item.image.shape[:2]
            runner.add(item.t, item.index, item.image)
    except _DecodeFailure as exc:
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
    events = runner.events(duration, width, height)
    if progress is not None:
        progress(reached if error else (total or reached), total or reached)
    result = PipelineResult(
        events=events,
        frames_total=total,
        frames_decoded=reached,
        duration_s=info.duration_s,
        error=error,
        error_code=code,
        fps=info.fps,
        width=width,
        height=height,
        samples=runner.samples,
        samples_detected=runner.samples_detected,
        inferences=runner.inferences,
    )
    return result, runner


def run_pipeline(
    path: str | Path,
    detector: Detector,
    config: PipelineConfig | None = None,
    progress: ProgressFn | None = None,
) -> PipelineResult:
    """Index one video file.  Never raises for bad video: see ``PipelineResult.error``.

    ``progress(done, total)`` is called about once per second of video with frame counts.
    A file that stops decoding part-way keeps the events found up to that point, with
    ``error``/``error_code`` set and ``frames_decoded`` saying how far it got.
    """
    result, _ = _drive(path, detector, config or PipelineConfig(), progress)
    return result
