"""Detector: loading (good and bad models), detection on real frames, tiling."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from detectors import Detection, Detector, DetectorLoadError, inference_threads, resolve_device
from detectors.detector import (
    LABELS,
    Look,
    _OnnxBackend,
    _OpenVINOBackend,
    _split_detections,
    cpu_cores,
    tile_layout,
)
from detectors.tracker import iou

from .assets import INTERSECTION, MOTORCYCLES, NIGHT, ONNX_MODEL, OPENVINO_MODEL, STREET


def _frames(path: Path, indices: set[int]) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in indices:
                out.append(frame.to_ndarray(format="bgr24"))
            if i >= max(indices):
                break
    return out


@pytest.fixture(scope="module")
def street_frames() -> list[np.ndarray]:
    return _frames(STREET, {0, 40, 80, 120})


def test_missing_model_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(DetectorLoadError, match="WARDCAM_DETECTOR_MODEL") as info:
        Detector(str(tmp_path / "nope.onnx"), device="cpu")
    assert "does not exist" in str(info.value)


def test_non_model_file_names_the_variable(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"this is not an onnx model")
    with pytest.raises(DetectorLoadError, match=r"^WARDCAM_DETECTOR_MODEL: "):
        Detector(str(fake), device="cpu")


def test_video_given_as_model_is_refused() -> None:
    with pytest.raises(DetectorLoadError, match="WARDCAM_DETECTOR_MODEL"):
        Detector(str(NIGHT), device="cpu")


def test_plain_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DetectorLoadError, match=r"WARDCAM_DETECTOR_MODEL.*not an OpenVINO"):
        Detector(str(tmp_path), device="cpu")


def test_unknown_device_names_its_variable() -> None:
    with pytest.raises(DetectorLoadError, match="WARDCAM_DETECTOR_DEVICE"):
        resolve_device("tpu")


def test_cuda_without_gpu_is_a_clear_error() -> None:
    if resolve_device("auto") != "cpu":
        pytest.skip("a GPU is present")
    with pytest.raises(DetectorLoadError, match="WARDCAM_DETECTOR_DEVICE"):
        Detector(str(ONNX_MODEL), device="cuda")


def test_a_cpu_machine_loads_the_detector_without_torch() -> None:
    """Asking torch whether a GPU is there costs 1.4 s of import: on a machine without a GPU's
    device node, `auto` is the CPU without it (`wardcam detect` on a 7 s clip: 3.5 s -> 1.2 s)."""
    import os
    import subprocess
    import sys

    from detectors.detector import GPU_DEVICE_NODES

    if any(os.path.exists(n) for n in GPU_DEVICE_NODES):
        pytest.skip("a GPU device node is here: torch is asked")
    code = (
        "import sys; from detectors import Detector; "
        f"d = Detector({str(OPENVINO_MODEL)!r}, device='auto'); "
        "print(d.device, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["cpu", "False"]


def test_detects_vehicles_and_people(detector: Detector, street_frames: list[np.ndarray]) -> None:
    assert detector.backend_name == "openvino"
    results = detector.detect(street_frames)
    assert len(results) == len(street_frames)
    labels = {d.label for dets in results for d in dets}
    assert {"car", "person"} <= labels
    assert labels <= set(LABELS)
    h, w = street_frames[0].shape[:2]
    for dets in results:
        for d in dets:
            assert isinstance(d, Detection)
            x1, y1, x2, y2 = d.box
            assert -1 <= x1 < x2 <= w + 1 and -1 <= y1 < y2 <= h + 1
            assert detector.conf <= d.confidence <= 1


def test_matches_ultralytics_predict(detector: Detector, street_frames: list[np.ndarray]) -> None:
    from ultralytics import YOLO

    ours = detector.detect(street_frames[:1])[0]
    res = YOLO(str(OPENVINO_MODEL), task="detect").predict(
        street_frames[0], imgsz=640, conf=detector.conf, verbose=False
    )[0]
    theirs = [
        (res.names[int(c)], float(p), b)
        for c, p, b in zip(
            res.boxes.cls.tolist(), res.boxes.conf.tolist(), res.boxes.xyxy.tolist(), strict=True
        )
        if res.names[int(c)] in LABELS
    ]
    assert len(ours) == len(theirs)
    for label, conf, box in theirs:
        best = max(ours, key=lambda d: iou(d.box, tuple(box)) if d.label == label else 0)
        assert best.label == label
        assert abs(best.confidence - conf) < 0.02
        assert iou(best.box, tuple(box)) > 0.95


def test_tiled_boxes_map_back_to_each_frame(
    detector: Detector, street_frames: list[np.ndarray]
) -> None:
    full = detector.detect(street_frames[:2])
    tiled = detector.detect_tiled(street_frames[:2], tiles=2)
    assert len(tiled) == 2
    for f, t in zip(full, tiled, strict=True):
        top = max(f, key=lambda d: d.confidence)
        match = max(t, key=lambda d: iou(d.box, top.box) if d.label == top.label else 0)
        assert match.label == top.label
        assert iou(match.box, top.box) > 0.8


def test_a_box_to_the_edge_of_a_shrunk_picture_maps_back_to_the_edge_of_the_frame(
    detector: Detector,
) -> None:
    """A 640x360 picture shrunk by 0.889 is 569x320 in the model's input: x by 0.8891, y by
    0.8889 once rounded to whole pixels. Mapped back by the one scale, a box to the bottom of
    the picture ended 0.08 px short of the frame's (359.92) and a box's height was off by
    0.03 % everywhere; per axis it is exact."""
    image = np.zeros((360, 640, 3), np.uint8)
    for look in (Look(image, 0.889), Look(image, 0.889, (40, 20, 600, 350))):
        x0, y0, x1, y1 = look.rect()
        canvas, placed = detector._look_canvas([look], [(0, 0, 0)])
        ((_, p),) = placed
        w, h = look.size()
        assert p.sx != pytest.approx(p.sy, abs=1e-5)  # the premise: rounded per axis
        whole = Detection("car", 0.9, (p.dx, p.dy, p.dx + w, p.dy + h))
        ((back,),) = _split_detections([whole], [p])
        assert back.box == pytest.approx((x0, y0, x1, y1), abs=1e-9)
        mid = Detection("car", 0.9, (p.dx + w / 4, p.dy + h / 4, p.dx + w / 2, p.dy + h / 2))
        ((back,),) = _split_detections([mid], [p])
        assert back.box == pytest.approx(
            (x0 + (x1 - x0) / 4, y0 + (y1 - y0) / 4, x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2),
            abs=1e-9,
        )
    assert canvas.shape[:2] == (detector.input_size, detector.input_size)


def test_tile_layout() -> None:
    assert tile_layout(640, 360, 640, 1) == (1, 1, 1.0)
    rows, cols, scale = tile_layout(640, 360, 640, 2)
    assert (rows, cols) == (2, 1) and scale == pytest.approx(640 / 720)
    rows, cols, scale = tile_layout(640, 480, 640, 4)
    assert rows * cols >= 4 and scale == pytest.approx(0.5)


def test_onnx_model_loads_and_detects(street_frames: list[np.ndarray]) -> None:
    det = Detector(str(ONNX_MODEL), device="cpu", conf=0.4)
    assert det.backend_name == "onnxruntime"
    labels = {d.label for d in det.detect(street_frames[:1])[0]}
    assert "car" in labels


def test_empty_input(detector: Detector) -> None:
    assert detector.detect([]) == []


@pytest.mark.gpu
def test_cuda_batched() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    frames = _frames(STREET, set(range(0, 160, 10)))
    gpu = Detector(str(ONNX_MODEL), device="cuda", conf=0.4)
    assert gpu.is_gpu and gpu.prefers_batches
    results = gpu.detect(frames)
    assert len(results) == len(frames)
    cpu = Detector(str(ONNX_MODEL), device="cpu", conf=0.4)
    ref = cpu.detect(frames[:1])[0]
    top = max(ref, key=lambda d: d.confidence)
    assert any(d.label == top.label and iou(d.box, top.box) > 0.8 for d in results[0])


@pytest.mark.gpu
def test_cuda_half_precision_pt() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    pt = Path("yolo11n.pt")
    if not pt.exists():
        pytest.skip("no .pt weights on this machine")
    det = Detector(str(pt), device="cuda")
    assert det.half
    assert len(det.detect(_frames(STREET, {0, 1, 2, 3}))) == 4


def test_from_env(tmp_path: Path) -> None:
    det = Detector.from_env(
        {"WARDCAM_DETECTOR_MODEL": str(OPENVINO_MODEL), "WARDCAM_DETECTOR_DEVICE": "cpu"}
    )
    assert det.backend_name == "openvino" and det.device == "cpu"
    with pytest.raises(DetectorLoadError, match="WARDCAM_DETECTOR_MODEL"):
        Detector.from_env(
            {"WARDCAM_DETECTOR_MODEL": str(tmp_path / "missing"), "WARDCAM_DETECTOR_DEVICE": "cpu"}
        )


def _onnx_model(path: Path, output_shape: tuple[int, ...]) -> Path:
    """A tiny valid ONNX graph with a 1x3x640x640 input, the given output shape and the COCO
    metadata ultralytics exports carry (what a YOLO26-style end-to-end export looks like from
    outside: (1, 300, 6), one row per box after NMS inside the graph)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    size = int(np.prod(output_shape))
    consts = {
        "flat": [1, -1], "starts": [0], "ends": [size], "axes": [1], "shape": list(output_shape),
    }
    graph = helper.make_graph(
        [
            helper.make_node("Reshape", ["images", "flat"], ["f"]),
            helper.make_node("Slice", ["f", "starts", "ends", "axes"], ["s"]),
            helper.make_node("Reshape", ["s", "shape"], ["output0"]),
        ],
        "yolo-like",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output_shape))],
        [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in consts.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    names = {i: f"class{i}" for i in range(80)} | dict(
        zip((0, 1, 2, 3, 5, 7), LABELS, strict=True)
    )
    for key, value in {"names": str(names), "task": "detect", "imgsz": "[640, 640]"}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def test_end_to_end_export_is_refused_at_load(tmp_path: Path) -> None:
    """A YOLO26-style end-to-end export, (1, 300, 6), cannot be decoded: refused when loaded,
    naming the variable and the shape, not with an IndexError on the first segment."""
    from detectors import UnsupportedModelOutput

    model = _onnx_model(tmp_path / "yolo26n.onnx", (1, 300, 6))
    with pytest.raises(UnsupportedModelOutput) as info:
        Detector(str(model), device="cpu")
    assert isinstance(info.value, DetectorLoadError)
    assert info.value.shape == (1, 300, 6)
    message = str(info.value)
    assert message.startswith("WARDCAM_DETECTOR_MODEL: ")
    assert "(1, 300, 6)" in message and "(1, 84, 8400)" in message
    assert "end-to-end" in message


def test_segmentation_head_is_refused_at_load(tmp_path: Path) -> None:
    model = _onnx_model(tmp_path / "seg.onnx", (1, 116, 8400))
    with pytest.raises(DetectorLoadError, match=r"WARDCAM_DETECTOR_MODEL: .*\(1, 116, 8400\)"):
        Detector(str(model), device="cpu")


def test_raw_detection_head_shape_loads(tmp_path: Path) -> None:
    """The check refuses shapes, not ONNX files: a graph with the YOLOv8/11 head shape loads
    and runs (its numbers are nonsense)."""
    model = _onnx_model(tmp_path / "raw.onnx", (1, 84, 8400))
    det = Detector(str(model), device="cpu")
    assert det.backend_name == "onnxruntime"
    found = det.detect([np.full((360, 640, 3), 114, np.uint8)])
    assert len(found) == 1 and isinstance(found[0], list)


def _rect_vs_square(
    detector: Detector, frames: list[np.ndarray]
) -> tuple[int, int, int, list[float]]:
    """Full frames at native scale on the square letterbox and on a rectangular input:
    (sure boxes on the square, of them not found on the rectangle, sure boxes only on the
    rectangle, confidence differences of the matched boxes)."""
    from detectors import Look

    sure = missed = extra = 0
    diffs: list[float] = []
    for frame in frames:
        square = detector.detect_looks([Look(frame)], rectangular=False)[0]
        rect = detector.detect_looks([Look(frame)], rectangular=True)[0]
        for d in square:
            same = [r for r in rect if r.label == d.label and iou(r.box, d.box) > 0.7]
            sure += d.confidence >= 0.5
            if same:
                diffs.append(max(r.confidence for r in same) - d.confidence)
            elif d.confidence >= 0.5:
                missed += 1
        extra += sum(
            1 for r in rect if r.confidence >= 0.5
            and not any(d.label == r.label and iou(r.box, d.box) > 0.7 for d in square)
        )
    return sure, missed, extra, diffs


@pytest.mark.parametrize(
    ("clip", "shape"), [(MOTORCYCLES, (384, 640)), (INTERSECTION, (480, 640))]
)
def test_rectangular_input_finds_what_the_letterbox_finds(
    detector: Detector, clip: Path, shape: tuple[int, int]
) -> None:
    """Asked for (``rectangular``), a 640x360 frame runs on a 384x640 input, a 640x480 one on
    480x640 (the OpenVINO model reshaped, see detectors.ovshape): on real footage it finds the
    same objects, in frame pixels, at about the same confidence as the 640x640 letterbox.
    (About, not the same: see PipelineConfig.rect_inputs for why the pipeline keeps it off.)"""
    from detectors import Look

    frames = _frames(clip, set(range(0, 300, 15)))
    detector.detect_looks([Look(frames[0])], rectangular=True)  # compiles the shape
    assert shape in detector._backend._pools  # type: ignore[union-attr]
    sure, missed, extra, diffs = _rect_vs_square(detector, frames)
    assert sure >= 40
    assert missed <= max(1, sure // 50) and extra <= max(1, sure // 50)
    assert abs(float(np.mean(diffs))) < 0.02
    assert float(np.mean(np.abs(diffs))) < 0.05


def test_ovshape_refuses_what_it_does_not_know() -> None:
    import openvino as ov

    from detectors.ovshape import anchor_points, anchors, reshape_ir

    assert anchors(640, 640) == 8400 and anchors(384, 640) == 5040
    points, strides = anchor_points(64, 64)
    assert points.shape == (2, 84) and strides.tolist().count(8.0) == 64
    net = ov.Core().read_model(str(next(OPENVINO_MODEL.glob("*.xml"))))
    with pytest.raises(ValueError, match="multiple of 32"):
        reshape_ir(net, 640, 360, 640)


def test_inference_threads_share_the_cores_between_jobs() -> None:
    cores = cpu_cores()
    assert inference_threads() == cores  # a pipeline alone: every core
    assert inference_threads(cores) == 1
    assert inference_threads(4 * cores) == 1  # never none
    assert inference_threads(2) == max(1, cores // 2)


@pytest.mark.parametrize("threads", [None, 1, 3])
def test_the_backends_run_on_the_threads_asked_for(threads: int | None) -> None:
    want = threads or cpu_cores()
    ov = Detector(str(OPENVINO_MODEL), device="cpu", threads=threads)
    assert ov.threads == want
    assert isinstance(ov._backend, _OpenVINOBackend)
    compiled = [p.compiled for p in ov._backend._pools.values()]
    # OpenVINO never takes more threads than there are cores
    assert [c.get_property("INFERENCE_NUM_THREADS") for c in compiled] == [min(want, cpu_cores())]
    onnx = Detector(str(ONNX_MODEL), device="cpu", threads=threads)
    assert isinstance(onnx._backend, _OnnxBackend)
    assert onnx._backend.session.get_session_options().intra_op_num_threads == want


def test_pipelines_sharing_a_detector_at_once_find_what_each_finds_alone() -> None:
    """A worker's `--concurrency 2` runs two pipelines on one detector with two OpenVINO
    streams: the shared infer requests must never mix one pipeline's pictures or results
    with the other's."""
    import threading

    from detectors import run_pipeline

    det = Detector(str(OPENVINO_MODEL), device="cpu", threads=1, streams=2)
    assert [p.compiled.get_property("NUM_STREAMS") for p in det._backend._pools.values()] == [
        min(2, cpu_cores())
    ]

    def events(path: Path) -> list[tuple[str, float, float, float]]:
        result = run_pipeline(path, det)
        return [(e.label, e.start_s, e.end_s, e.confidence) for e in result.events]

    files = [INTERSECTION, MOTORCYCLES, STREET]
    alone = {f: events(f) for f in files}
    together: dict[Path, list[list[tuple[str, float, float, float]]]] = {f: [] for f in files}

    def run(order: list[Path]) -> None:
        for f in order:
            together[f].append(events(f))

    threads = [threading.Thread(target=run, args=(o,)) for o in (files, files[::-1])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for f in files:
        assert alone[f], f
        assert together[f] == [alone[f], alone[f]], f
