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
MOTORCYCLES = FOOTAGE / "motorcycles_cctv_day.mp4"
VN_INTERSECTION = FOOTAGE / "vn_intersection_saigon_day.mp4"
VN_OVERPASS = FOOTAGE / "vn_overpass_motorbikes_day.mp4"
INTERSECTION = FOOTAGE / "intersection_cctv_day.mp4"
