"""Frames in, sightings out: YOLO detector, motion-gated sampling pipeline, tracker, colour.

No imports from ``app``; no I/O beyond reading video files.
"""

from .color import PALETTE, colour_unreliable, dominant_color, frame_gains, is_greyscale
from .detector import (
    ENV_DEVICE,
    ENV_MODEL,
    KEEP_CLASSES,
    LABELS,
    Detection,
    Detector,
    DetectorLoadError,
    resolve_device,
)
from .pipeline import Event, PipelineConfig, PipelineResult, run_pipeline

__all__ = [
    "ENV_DEVICE",
    "ENV_MODEL",
    "KEEP_CLASSES",
    "LABELS",
    "PALETTE",
    "Detection",
    "Detector",
    "DetectorLoadError",
    "Event",
    "PipelineConfig",
    "PipelineResult",
    "colour_unreliable",
    "dominant_color",
    "frame_gains",
    "is_greyscale",
    "resolve_device",
    "run_pipeline",
]
