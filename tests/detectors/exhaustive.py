"""Exhaustive detection for the quality tests: the model on every frame, at full frame.

This is the reference the index is judged against (the definition of
``benchmarks/indexing.py``): a class is present in a second when one of that second's frames
has a box of it at confidence >= 0.5. Every frame is decoded without shortcuts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av

from detectors import Detection, Detector, Event

PRESENT = 0.5


@dataclass
class Exhaustive:
    fps: float
    frames: list[tuple[float, list[Detection]]]  # (t, detections at >= 0.25)

    def presence(self, label: str | None = None) -> set[tuple[int, str]]:
        return {
            (math.floor(t + 1e-9), d.label)
            for t, dets in self.frames
            for d in dets
            if d.confidence >= PRESENT and (label is None or d.label == label)
        }

    def seconds(self) -> set[int]:
        return {math.floor(t + 1e-9) for t, _ in self.frames}

    def at(self, t: float) -> list[Detection]:
        """Detections of the frame nearest ``t``."""
        return min(self.frames, key=lambda f: abs(f[0] - t))[1]


def exhaustive(path: Path, detector: Detector) -> Exhaustive:
    frames: list[tuple[float, list[Detection]]] = []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        tb = float(s.time_base or 0)
        start = (s.start_time or 0) * tb
        fps = float(s.average_rate or 25)
        for frame in c.decode(s):
            img = frame.to_ndarray(format="bgr24")
            dets = [d for d in detector.detect([img])[0] if d.confidence >= 0.25]
            frames.append((frame.pts * tb - start, dets))
    return Exhaustive(fps, frames)


def covered(events: list[Event], seconds: set[int], label: str | None = None) -> set[
    tuple[int, str]
]:
    """(second, class) pairs an event of that class overlaps (the benchmark's rule)."""
    out: set[tuple[int, str]] = set()
    for ev in events:
        if label is not None and ev.label != label:
            continue
        for sec in range(math.floor(ev.start_s), math.ceil(ev.end_s) + 1):
            if sec in seconds and ev.start_s < sec + 1 and ev.end_s > sec:
                out.add((sec, ev.label))
    return out
