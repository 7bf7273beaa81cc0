"""Paths of the shared test assets (model and footage) used by the detector tests."""

from __future__ import annotations

from pathlib import Path

ASSETS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "assets").resolve()
MODELS = ASSETS / "models"
FOOTAGE = ASSETS / "footage"
OPENVINO_MODEL = MODELS / "yolo11n_int8_openvino_model"
ONNX_MODEL = MODELS / "yolov8n_int8.onnx"
STREET = FOOTAGE / "street_crossing_day.mp4"
NIGHT = FOOTAGE / "driveway_ir_night.mp4"
