"""Frames in, sightings out: YOLO detector, per-scene sampling pipeline, tracker, colour.

No imports from ``app``; no I/O beyond reading video files.
"""

from .color import (
    PALETTE,
    colour_unreliable,
    dominant_color,
    frame_gains,
    frame_lightness,
    is_greyscale,
)
from .detector import (
    ENV_DEVICE,
    ENV_MODEL,
    Detection,
    Detector,
    DetectorLoadError,
    Look,
    UnsupportedModelOutput,
    inference_threads,
    resolve_device,
)
from .pipeline import Event, PipelineConfig, PipelineResult, run_pipeline
from .tracker import SparseTracker
from .vocab import COLOURS, FAMILY, KEEP_CLASSES, LABELS, VEHICLE_LABELS

__all__ = [
    "COLOURS",
    "ENV_DEVICE",
    "ENV_MODEL",
    "FAMILY",
    "KEEP_CLASSES",
    "LABELS",
    "PALETTE",
    "VEHICLE_LABELS",
    "Detection",
    "Detector",
    "DetectorLoadError",
    "Event",
    "Look",
    "PipelineConfig",
    "PipelineResult",
    "SparseTracker",
    "UnsupportedModelOutput",
    "colour_unreliable",
    "dominant_color",
    "frame_gains",
    "frame_lightness",
    "inference_threads",
    "is_greyscale",
    "resolve_device",
    "run_pipeline",
]
