"""Per-frame person boxes for a clip, for redaction (blurring people in evidence exports).

The pipeline only looks at a few frames per second; :func:`person_tracks` runs it, then
interpolates each person track's box linearly between its sightings and holds it for half a
sample interval before the first and after the last one, so that every frame in between gets a
box.  Recall matters more than precision here, so the default thresholds are lower than for
indexing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .detector import Detector
from .pipeline import PipelineConfig, PipelineResult, ProgressFn, _drive
from .tracker import Box, Track

#: Defaults for redaction: more samples, and weak person sightings count.
REDACTION_CONFIG = PipelineConfig(
    sample_fps=4.0,
    min_tile_scale=0.85,
    det_conf=0.2,
    track_conf=0.25,
    span_conf=0.25,
    event_min_conf=0.3,
    max_gap_s=1.5,
)


def person_tracks(
    path: str | Path,
    detector: Detector,
    config: PipelineConfig | None = None,
    progress: ProgressFn | None = None,
    min_confidence: float = 0.3,
) -> dict[int, list[Box]]:
    """``{frame_index: [box, ...]}`` of people in every frame (pixels, x1 y1 x2 y2).

    Frames without people are absent.  A track counts when one of its sightings reaches
    ``min_confidence``.  Raises ``ValueError`` when the file cannot be decoded at all; a file
    that fails part-way gives boxes up to the failure.
    """
    boxes, result = person_tracks_with_result(path, detector, config, progress, min_confidence)
    if result.error_code == "unreadable":
        raise ValueError(result.error)
    return boxes


def person_tracks_with_result(
    path: str | Path,
    detector: Detector,
    config: PipelineConfig | None = None,
    progress: ProgressFn | None = None,
    min_confidence: float = 0.3,
) -> tuple[dict[int, list[Box]], PipelineResult]:
    """As :func:`person_tracks`, also returning the pipeline result (errors, frame counts)."""
    cfg = config or REDACTION_CONFIG
    if cfg.motion_gate and cfg.force_interval_s > 1.0:
        cfg = replace(cfg, force_interval_s=1.0)
    result, runner = _drive(path, detector, cfg, progress)
    out: dict[int, list[Box]] = {}
    if runner is None:
        return out, result
    fps = result.fps or 25.0
    last_frame = max(0, (result.frames_decoded or result.frames_total) - 1)
    half = 0.5 / cfg.sample_fps if cfg.sample_fps > 0 else 0.0
    for track in runner.tracker.finished:
        if track.family != 0 or not _strong(track, min_confidence):
            continue
        for idx, box in _interpolate(track, fps, half, last_frame):
            out.setdefault(idx, []).append(box)
    return dict(sorted(out.items())), result


def _strong(track: Track, min_confidence: float) -> bool:
    return any(not s.held and s.confidence >= min_confidence for s in track.sightings)


def _interpolate(track: Track, fps: float, half: float, last_frame: int) -> list[tuple[int, Box]]:
    points = [(s.t, s.box) for s in track.sightings]
    out: list[tuple[int, Box]] = []
    first_t, first_box = points[0]
    last_t, last_box = points[-1]
    start = max(0, round((first_t - half) * fps))
    end = min(last_frame, round((last_t + half) * fps))
    k = 0
    for idx in range(start, end + 1):
        t = idx / fps
        if t <= first_t:
            out.append((idx, first_box))
            continue
        if t >= last_t:
            out.append((idx, last_box))
            continue
        while k + 1 < len(points) and points[k + 1][0] < t:
            k += 1
        (t0, b0), (t1, b1) = points[k], points[k + 1]
        a = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
        out.append((idx, (
            b0[0] + (b1[0] - b0[0]) * a,
            b0[1] + (b1[1] - b0[1]) * a,
            b0[2] + (b1[2] - b0[2]) * a,
            b0[3] + (b1[3] - b0[3]) * a,
        )))
    return out
