"""Redaction: re-encode a clip with every detected person pixelated.

Persons come either from a detector (anything with ``detect(frames) -> list[list[det]]``, each
det having ``label``, ``confidence`` and ``box=(x1, y1, x2, y2)`` in pixels, such as
``detectors.Detector``) run on frames sampled at ``sample_fps``, or from a callable giving the
boxes of each frame (precomputed boxes, a different detector...).

Between two detector samples a person is covered by the *hull* of their boxes at both samples
(the area they can have crossed moving steadily), boxes that appear or vanish are held over the
whole interval, and a track that the detector misses for up to ``max_missed`` samples keeps its
last box. Tracks come from the indexing tracker (``detectors.tracker``); pairing the boxes of two
consecutive samples for the hull is a simple generous nearest match (:func:`interval_boxes`),
since a wrong pair only blurs more. Every box is grown by ``margin`` before pixelation. The
clip is decoded, edited in its own YUV planes (no colour conversion for frames without
persons) and encoded with libx264. The input clip is only read.

A clip stored turned with a display rotation (a phone's) is shown to the detector upright, as
players show it (on its side the model finds few people), and boxes, detected or given, are in
the upright picture's pixels; the stored frames are edited where those boxes fall and the
output keeps the rotation.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import av.video.frame
import cv2
import numpy as np

from detectors.decode import to_bgr
from detectors.detector import Detection
from detectors.rotation import file_turns, stored_box
from detectors.tracker import SparseTracker, iou
from evidence.cut import tool_versions
from evidence.errors import RedactError
from evidence.hashing import sha256_file

Box = tuple[float, float, float, float]
#: (frame index, seconds from clip start) -> boxes in that frame, in the upright picture's pixels
BoxSource = Callable[[int, float], Sequence[Box]]


class DetectionLike(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def confidence(self) -> float: ...

    @property
    def box(self) -> tuple[float, float, float, float]: ...


class DetectorLike(Protocol):
    def detect(self, frames: Sequence[np.ndarray]) -> Sequence[Sequence[Any]]: ...


@dataclass
class RedactResult:
    path: Path
    source_path: Path
    source_sha256: str
    sha256: str
    size: int
    frames: int
    frames_redacted: int
    boxes_blurred: int
    samples: int
    duration_s: float
    elapsed_s: float
    parameters: dict[str, Any] = field(default_factory=dict)
    #: packets of the source the decoder refused as damaged: skipped (no frame in the copy)
    damaged_packets: int = 0

    @property
    def x_realtime(self) -> float:
        return self.duration_s / self.elapsed_s if self.elapsed_s > 0 else float("inf")

    def derivation(self) -> dict[str, Any]:
        return {
            "method": "decode, pixelate every person box (grown by a margin, held and "
            "interpolated between detector samples), re-encode H.264 with libx264",
            "tool": {**tool_versions(), "opencv": cv2.__version__, "encoder": "libx264"},
            "source_sha256": self.source_sha256,
            "source_file": self.source_path.name,
            "parameters": self.parameters,
            "frames": self.frames,
            "frames_redacted": self.frames_redacted,
            "boxes_blurred": self.boxes_blurred,
            "detector_samples": self.samples,
            "source_damaged_packets_skipped": self.damaged_packets,
        }


# ----------------------------------------------------------------------------- boxes


def grow(box: Box, margin: float, width: int, height: int, min_px: float = 4.0) -> (
    tuple[int, int, int, int]
):
    """Box grown by ``margin`` of its size on every side (at least ``min_px``), clipped."""
    x1, y1, x2, y2 = box
    mx = max(min_px, (x2 - x1) * margin)
    my = max(min_px, (y2 - y1) * margin)
    a = max(0, int(np.floor(x1 - mx)))
    b = max(0, int(np.floor(y1 - my)))
    c = min(width, int(np.ceil(x2 + mx)))
    d = min(height, int(np.ceil(y2 + my)))
    return a, b, c, d


#: disjoint boxes at two samples are taken for the same person if their centres are within
#: this many box sizes; a wrong match only blurs a larger area, a missed one could leave a
#: fast-moving person unblurred between samples, so the reach is generous
MATCH_REACH = 4.0


def _near(a: Box, b: Box) -> float:
    """Similarity for matching: IoU, or for disjoint boxes a score from centre distance."""
    v = iou(a, b)
    if v > 0:
        return 1.0 + v
    ca = ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2)
    cb = ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    size = max(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1], 1.0)
    d = ((ca[0] - cb[0]) ** 2 + (ca[1] - cb[1]) ** 2) ** 0.5 / size / MATCH_REACH
    return 1.0 - d if d < 1.0 else 0.0


def _match(a: Sequence[Box], b: Sequence[Box]) -> list[tuple[int, int]]:
    """Greedy best-first matching of two box sets."""
    pairs = sorted(
        ((_near(x, y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)), reverse=True
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    out = []
    for score, i, j in pairs:
        if score <= 0:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        out.append((i, j))
    return out


def interval_boxes(a: Sequence[Box], b: Sequence[Box]) -> list[Box]:
    """Boxes to blur in every frame between two samples with boxes ``a`` and ``b``."""
    pairs = _match(a, b)
    out: list[Box] = []
    ma = {i for i, _ in pairs}
    mb = {j for _, j in pairs}
    for i, j in pairs:
        x, y = a[i], b[j]
        out.append((min(x[0], y[0]), min(x[1], y[1]), max(x[2], y[2]), max(x[3], y[3])))
    out.extend(x for i, x in enumerate(a) if i not in ma)
    out.extend(y for j, y in enumerate(b) if j not in mb)
    return out


class _Tracks:
    """Keeps a box alive for ``max_missed`` samples in which the detector misses it.

    The tracking itself is wardcam's one tracker (:class:`detectors.tracker.SparseTracker`,
    the one indexing uses), fed one sample per time unit: every detection may start a track,
    a track unseen for more than ``max_missed`` samples ends, and a track missed in this sample
    is held at its last box.
    """

    def __init__(self, max_missed: int) -> None:
        self.max_missed = max_missed
        self._tracker = SparseTracker(high_conf=0.0, max_gap_s=max_missed + 0.5)
        self._t = 0

    def update(self, dets: Sequence[Box]) -> list[Box]:
        t = float(self._t)
        self._t += 1
        matched = self._tracker.update(t, [Detection("person", 1.0, b) for b in dets])
        seen = {id(tr) for tr, _ in matched}
        held = [tr.last.box for tr in self._tracker.active if id(tr) not in seen]
        return [det.box for _, det in matched] + held


# ----------------------------------------------------------------------------- pixels


def _pixelate(region: np.ndarray, block: int) -> None:
    """Replace ``region`` (a view) by blocks of its mean values, in place.

    The block-aligned core is averaged with an integer-factor INTER_AREA resize (OpenCV's
    fast path) and expanded with ``np.repeat``; the leftover strips on the right and bottom
    copy the neighbouring blocks, so no original detail survives anywhere in the region.
    """
    h, w = region.shape[:2]
    if h == 0 or w == 0:
        return
    block = max(1, min(block, h, w))
    nh, nw = h // block, w // block
    hh, ww = nh * block, nw * block
    core = region[:hh, :ww]
    small = cv2.resize(core, (nw, nh), interpolation=cv2.INTER_AREA)
    core[...] = np.repeat(np.repeat(small, block, axis=0), block, axis=1)
    if ww < w:
        region[:hh, ww:] = core[:, ww - 1 : ww]
    if hh < h:
        region[hh:, :] = region[hh - 1 : hh, :]


def merge_boxes(boxes: Iterable[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Replace overlapping (or touching) rectangles by their bounding rectangle, until none
    overlap: each area is pixelated once, and crowds become one region."""
    out = [b for b in boxes if b[2] > b[0] and b[3] > b[1]]
    merged = True
    while merged and len(out) > 1:
        merged = False
        i = 0
        while i < len(out):
            a = out[i]
            j = i + 1
            while j < len(out):
                b = out[j]
                if a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]:
                    a = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    out[i] = a
                    del out[j]
                    merged = True
                else:
                    j += 1
            i += 1
    return out


def _block_for(w: int, h: int, min_block: int, blocks_across: int) -> int:
    return max(min_block, round(max(w, h) / blocks_across))


def redact_yuv420(
    arr: np.ndarray,
    width: int,
    height: int,
    boxes: Iterable[tuple[int, int, int, int]],
    min_block: int,
    blocks_across: int,
) -> None:
    """Pixelate boxes (pixel coords, already grown) in a (H*3/2, W) yuv420p array, in place."""
    y = arr[:height]
    q = height // 4
    u = arr[height : height + q].reshape(height // 2, width // 2)
    v = arr[height + q : height + 2 * q].reshape(height // 2, width // 2)
    for x1, y1, x2, y2 in boxes:
        x1 &= ~1
        y1 &= ~1
        x2 = min(width, (x2 + 1) & ~1)
        y2 = min(height, (y2 + 1) & ~1)
        if x2 <= x1 or y2 <= y1:
            continue
        block = _block_for(x2 - x1, y2 - y1, min_block, blocks_across)
        _pixelate(y[y1:y2, x1:x2], block)
        cb = max(1, block // 2)
        _pixelate(u[y1 // 2 : y2 // 2, x1 // 2 : x2 // 2], cb)
        _pixelate(v[y1 // 2 : y2 // 2, x1 // 2 : x2 // 2], cb)


def redact_bgr(
    arr: np.ndarray, boxes: Iterable[tuple[int, int, int, int]], min_block: int, blocks_across: int
) -> None:
    for x1, y1, x2, y2 in boxes:
        if x2 <= x1 or y2 <= y1:
            continue
        _pixelate(arr[y1:y2, x1:x2], _block_for(x2 - x1, y2 - y1, min_block, blocks_across))


# ----------------------------------------------------------------------------- main


def _dets_to_boxes(
    dets: Sequence[Any], labels: frozenset[str], min_confidence: float
) -> list[Box]:
    out: list[Box] = []
    for d in dets:
        if d.label in labels and d.confidence >= min_confidence:
            x1, y1, x2, y2 = d.box
            out.append((float(x1), float(y1), float(x2), float(y2)))
    return out


def redact_clip(
    clip_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    detector: DetectorLike | None = None,
    boxes: BoxSource | None = None,
    sample_fps: float = 2.0,
    labels: Iterable[str] = ("person",),
    min_confidence: float = 0.2,
    margin: float = 0.15,
    max_missed: int = 1,
    tiles: int = 2,
    min_block: int = 8,
    blocks_across: int = 8,
    crf: int = 20,
    preset: str = "veryfast",
    threads: int = 0,
    source_sha256: str | None = None,
) -> RedactResult:
    """Re-encode ``clip_path`` to ``out_path`` (H.264 MP4) with every person pixelated.

    Give exactly one of ``detector`` (sampled at ``sample_fps``, ``tiles`` sampled frames per
    model input when it has ``detect_tiled``) or ``boxes`` (called for every frame). Frame count
    and timestamps are kept. The output is written atomically; the input is only read.
    """
    if (detector is None) == (boxes is None):
        raise ValueError("give exactly one of detector= or boxes=")
    if sample_fps <= 0:
        raise ValueError("sample_fps must be positive")
    t_start = time.perf_counter()
    src = Path(clip_path)
    out = Path(out_path)
    tmp = out.with_name(f".{out.name}.part")
    label_set = frozenset(labels)
    src_hash = source_sha256 or sha256_file(src)
    params: dict[str, Any] = {
        "box_source": "detector" if detector is not None else "given boxes",
        "labels": sorted(label_set),
        "margin": margin,
        "pixelation": {"min_block_px": min_block, "blocks_across_box": blocks_across},
        "encoder": {"codec": "libx264", "crf": crf, "preset": preset, "pix_fmt": "yuv420p"},
    }
    if detector is not None:
        params.update(
            {
                "sample_fps": sample_fps,
                "min_confidence": min_confidence,
                "max_missed_samples": max_missed,
                "tiles": tiles,
                "detector": {
                    "class": type(detector).__name__,
                    "model": str(getattr(detector, "model_name", "")),
                    "backend": str(getattr(detector, "backend_name", "")),
                },
                "interpolation": "hull of matched boxes at the surrounding samples; "
                "unmatched boxes held over the interval",
            }
        )
    try:
        stats = _run(src, tmp, detector, boxes, sample_fps, label_set, min_confidence, margin,
                     max_missed, tiles, min_block, blocks_across, crf, preset, threads)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return RedactResult(
        path=out,
        source_path=src,
        source_sha256=src_hash,
        sha256=sha256_file(out),
        size=out.stat().st_size,
        frames=stats["frames"],
        frames_redacted=stats["frames_redacted"],
        boxes_blurred=stats["boxes"],
        samples=stats["samples"],
        duration_s=stats["duration"],
        elapsed_s=time.perf_counter() - t_start,
        parameters=params,
        damaged_packets=stats["damaged"],
    )


def _run(
    src: Path,
    tmp: Path,
    detector: DetectorLike | None,
    box_source: BoxSource | None,
    sample_fps: float,
    labels: frozenset[str],
    min_confidence: float,
    margin: float,
    max_missed: int,
    tiles: int,
    min_block: int,
    blocks_across: int,
    crf: int,
    preset: str,
    threads: int,
) -> dict[str, Any]:
    try:
        ic = av.open(str(src), "r")
    except (av.FFmpegError, OSError) as exc:
        raise RedactError(f"{src}: cannot open clip ({exc})") from exc
    stats = {"frames": 0, "frames_redacted": 0, "boxes": 0, "samples": 0, "duration": 0.0,
             "damaged": 0}
    with ic:
        if not ic.streams.video:
            raise RedactError(f"{src}: no video stream")
        ist = ic.streams.video[0]
        ist.thread_type = "AUTO"
        tb = Fraction(ist.time_base) if ist.time_base else Fraction(1, 90000)
        width, height = ist.codec_context.width, ist.codec_context.height  # stored
        turns = file_turns(src, ic.format.name)

        def stored(boxes: Iterable[Box]) -> list[Box]:
            return [stored_box(b, turns, width, height) for b in boxes]
        rate = ist.average_rate or ist.guessed_rate or Fraction(30)
        yuv_ok = width % 2 == 0 and height % 2 == 0
        first_pts: int | None = None
        last_end = 0

        with av.open(str(tmp), "w", format="mp4") as oc:
            ost = oc.add_stream("libx264", rate=rate)
            ost.width = width
            ost.height = height
            ost.pix_fmt = "yuv420p"
            ost.time_base = tb
            ost.codec_context.time_base = tb
            ost.thread_count = threads
            ost.thread_type = "AUTO"
            ost.options = {"crf": str(crf), "preset": preset}
            if turns:
                ost.set_display_rotation(90 * turns)

            def encode(frame: av.video.frame.VideoFrame | None) -> None:
                for pkt in ost.encode(frame):
                    oc.mux_one(pkt)

            def emit(frame: av.video.frame.VideoFrame, fboxes: Sequence[Box]) -> None:
                grown = merge_boxes(grow(b, margin, width, height) for b in fboxes)
                stats["frames"] += 1
                if not grown:
                    if frame.format.name != "yuv420p":
                        frame = frame.reformat(format="yuv420p")
                    encode(frame)
                    return
                stats["frames_redacted"] += 1
                stats["boxes"] += len(grown)
                if yuv_ok:
                    f2 = frame if frame.format.name == "yuv420p" else frame.reformat(
                        format="yuv420p"
                    )
                    arr = f2.to_ndarray()
                    redact_yuv420(arr, width, height, grown, min_block, blocks_across)
                    nf = av.VideoFrame.from_ndarray(arr, format="yuv420p")
                else:
                    arr = frame.to_ndarray(format="bgr24")
                    redact_bgr(arr, grown, min_block, blocks_across)
                    nf = av.VideoFrame.from_ndarray(arr, format="bgr24").reformat(
                        format="yuv420p"
                    )
                nf.pts = frame.pts
                nf.time_base = frame.time_base
                encode(nf)

            def frames() -> Iterable[tuple[int, float, av.video.frame.VideoFrame]]:
                nonlocal first_pts, last_end
                idx = 0
                for frame in _decoded(ic, ist, stats):
                    if frame.pts is None:
                        continue
                    if first_pts is None:
                        first_pts = frame.pts
                    t = float((frame.pts - first_pts) * tb)
                    dur = frame.duration or 0
                    last_end = max(last_end, frame.pts + (dur or round(1 / (rate * tb))))
                    yield idx, t, frame
                    idx += 1

            try:
                if box_source is not None:
                    for idx, t, frame in frames():
                        emit(frame, stored(box_source(idx, t)))
                else:
                    assert detector is not None
                    _sampled(frames(), emit, detector, sample_fps, labels, min_confidence,
                             max_missed, tiles, stats, turns, stored)
                encode(None)
            except av.FFmpegError as exc:
                raise RedactError(f"{src}: cannot decode or encode ({exc})") from exc
        if first_pts is not None:
            stats["duration"] = float((last_end - first_pts) * tb)
    if stats["frames"] == 0:
        raise RedactError(f"{src}: no frames decoded")
    return stats


def _decoded(
    ic: av.container.InputContainer, ist: av.video.stream.VideoStream, stats: dict[str, Any]
) -> Iterator[av.video.frame.VideoFrame]:
    """The stream's frames; a packet the decoder refuses as damaged is skipped and counted
    (as players skip it: the rest of the clip is still redacted and delivered)."""
    for packet in ic.demux(ist):
        try:
            decoded = ist.codec_context.decode(packet)
        except av.InvalidDataError:
            stats["damaged"] += 1
            continue
        yield from decoded


def _sampled(
    frames: Iterable[tuple[int, float, av.video.frame.VideoFrame]],
    emit: Callable[[av.video.frame.VideoFrame, Sequence[Box]], None],
    detector: DetectorLike,
    sample_fps: float,
    labels: frozenset[str],
    min_confidence: float,
    max_missed: int,
    tiles: int,
    stats: dict[str, Any],
    turns: int = 0,
    stored: Callable[[Iterable[Box]], list[Box]] = list,
) -> None:
    """Detect on sampled frames (``tiles`` per call), upright (``turns``), then emit the frames
    in between; ``stored`` takes the detector's boxes to the stored frames' pixels."""
    period = 1.0 / sample_fps
    tiled = getattr(detector, "detect_tiled", None)
    tracks = _Tracks(max_missed)
    prev_boxes: list[Box] | None = None  # boxes at the last emitted sample
    # frames since the last emitted sample; entries: (frame, is_sample)
    pending: list[tuple[av.video.frame.VideoFrame, bool]] = []
    sample_imgs: list[np.ndarray] = []
    next_t = 0.0
    last_frame: av.video.frame.VideoFrame | None = None

    def run_detector() -> None:
        nonlocal prev_boxes, sample_imgs
        if not sample_imgs:
            return
        if tiled is not None and tiles > 1 and not getattr(detector, "prefers_batches", False):
            results = tiled(sample_imgs, tiles=tiles)
        else:
            results = detector.detect(sample_imgs)
        stats["samples"] += len(sample_imgs)
        sample_imgs = []
        found = iter([tracks.update(stored(_dets_to_boxes(r, labels, min_confidence)))
                      for r in results])
        # emit every pending frame up to and including the last sample
        last_sample = max(i for i, (_, s) in enumerate(pending) if s)
        seg_start = 0
        for i in range(last_sample + 1):
            frame, is_sample = pending[i]
            if not is_sample:
                continue
            cur = next(found)
            inner = interval_boxes(prev_boxes, cur) if prev_boxes is not None else cur
            for j in range(seg_start, i):
                emit(pending[j][0], inner)
            emit(frame, interval_boxes(cur, cur) if prev_boxes is None else inner)
            prev_boxes = cur
            seg_start = i + 1
        del pending[: last_sample + 1]

    for _idx, t, frame in frames:
        is_sample = t >= next_t - 1e-6
        if is_sample:
            next_t = t + period
            sample_imgs.append(to_bgr(frame, turns=turns))
        pending.append((frame, is_sample))
        last_frame = frame
        if len(sample_imgs) >= max(1, tiles):
            run_detector()
    if pending and last_frame is not None:
        # the last frame closes the final interval: sample it if it is not one already
        if not pending[-1][1]:
            pending[-1] = (last_frame, True)
            sample_imgs.append(to_bgr(last_frame, turns=turns))
        run_detector()
