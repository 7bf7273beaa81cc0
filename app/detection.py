"""The detector of this process: one per process, loaded on first use and kept.

Loading a model takes a second or two, so indexing jobs and redaction share one. Only
workers detect: an API-only install (without the `detect` extra: no torch, OpenVINO,
onnxruntime or ultralytics) imports and serves without ever loading one, and a job that
needs it fails with a message saying what to install.
"""

from __future__ import annotations

import threading

from detectors import ENV_MODEL, Detector, DetectorLoadError


class DetectorProvider:
    def __init__(self, model: str, device: str) -> None:
        self.model = model
        self.device = device
        self._lock = threading.Lock()
        self._detector: Detector | None = None

    def get(self) -> Detector:
        """The process's detector. Raises `DetectorLoadError` naming WARDCAM_DETECTOR_MODEL
        for a missing or wrong model, or a missing `detect` extra."""
        with self._lock:
            if self._detector is None:
                try:
                    self._detector = Detector(self.model, self.device)
                except ImportError as exc:
                    raise DetectorLoadError(
                        f"{ENV_MODEL}: {self.model!r} needs the detector stack, which is not "
                        f"installed here (pip install 'wardcam[detect]'): {exc}"
                    ) from exc
            return self._detector
