"""The detector of this process: one per process, loaded on first use and kept.

Loading a model takes a second or two, so indexing jobs and redaction share one. Only
workers detect: an API-only install (without the `detect` extra: no torch, OpenVINO,
onnxruntime or ultralytics) imports and serves without ever loading one.

A process whose model is missing or wrong still starts and serves (search and evidence need
no detector): `/readyz` reports the detector as unavailable, with the fix, and every index job
fails with the same one line (`DetectorLoadError`). Loading is retried on the next job, so a
model mounted later is picked up without a restart.
"""

from __future__ import annotations

import threading

from detectors import ENV_MODEL, Detector, DetectorLoadError, inference_threads

FIX = (
    f"set {ENV_MODEL} to a detection model that exists on this machine (a .pt, .onnx, "
    "OpenVINO directory or .engine; the image has /opt/wardcam/models/yolo11n.pt)"
)


def one_line(message: str) -> str:
    return " ".join(message.split())


class DetectorProvider:
    def __init__(self, model: str, device: str, threads: int = 0) -> None:
        self.model = model
        self.device = device
        self.threads = threads
        """`WARDCAM_DETECTOR_THREADS`; 0: the cores shared between `jobs_at_once`."""
        self.jobs_at_once = 1
        """Index jobs this process runs at once (its pool's threads, a worker's concurrency);
        set before the detector is loaded."""
        self.used_here = False
        """Set when this process runs index jobs (the in-process pool, a worker)."""
        self._lock = threading.Lock()
        self._detector: Detector | None = None
        self._error: str | None = None

    def get(self) -> Detector:
        """The process's detector. Raises `DetectorLoadError` with one line saying what is
        wrong and how to fix it (a missing or wrong model, a missing `detect` extra)."""
        with self._lock:
            if self._detector is None:
                try:
                    threads = self.threads or inference_threads(self.jobs_at_once)
                    self._detector = Detector(
                        self.model,
                        self.device,
                        threads=threads,
                        streams=self.jobs_at_once,
                    )
                except ImportError as exc:
                    self._error = one_line(
                        f"{ENV_MODEL}={self.model!r} needs the detector stack, which is not "
                        f"installed here: pip install 'wardcam[detect]' ({exc})"
                    )
                    raise DetectorLoadError(self._error) from exc
                except DetectorLoadError as exc:
                    self._error = one_line(f"{exc}; {FIX}")
                    raise DetectorLoadError(self._error) from exc
                self._error = None
            return self._detector

    def status(self) -> str:
        """For /readyz: `ok`, `unavailable: <what and how to fix it>`, or why not loaded."""
        if self._detector is not None:
            return "ok"
        if self._error is not None:
            return f"unavailable: {self._error}"
        return "not loaded yet" if self.used_here else "not used here (no index jobs run here)"
