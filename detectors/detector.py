"""The YOLO detector: any model ultralytics loads, with direct fast paths for CPU.

``Detector(model, device)`` accepts whatever ``WARDCAM_DETECTOR_MODEL`` names: an ultralytics
``.pt``, an ``.onnx`` export, an OpenVINO export directory, a TensorRT ``.engine``.  On CPU an
OpenVINO directory runs through OpenVINO directly and an ``.onnx`` file through onnxruntime
directly (no torch import, less per-call overhead); every other case, and every CUDA case, goes
through ``ultralytics.YOLO``.  On CUDA the model runs batched and in half precision where the
format allows it.

Only the classes wardcam indexes are returned: person, bicycle, car, motorcycle, bus, truck.
Class choice follows ultralytics (the best-scoring of all 80 COCO classes per anchor, then
class-aware NMS) and is filtered afterwards, so results match ``YOLO.predict`` on the same model.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from .vocab import KEEP_CLASSES, LABELS, VEHICLE_LABELS

ENV_MODEL = "WARDCAM_DETECTOR_MODEL"
ENV_DEVICE = "WARDCAM_DETECTOR_DEVICE"


def cpu_cores() -> int:
    """Cores this process may run on (its CPU affinity: a container's cpuset, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def inference_threads(jobs_at_once: int = 1) -> int:
    """CPU threads for one inference when this process runs ``jobs_at_once`` pipelines at once:
    the cores shared evenly between them, at least one.

    A pipeline alone gets every core. Its decoder runs on a thread of its own, but at
    sub-stream sizes the model is the larger part of the work and waits for nothing; on an
    otherwise quiet 2-core machine, two threads took the four shared sub-stream clips from
    26.1x to 35.3x realtime (the same events, per CPU-second 19.6x and 19.2x), and with
    another process busy on one core they were level (18.7-21.7x against 20.3x). Several
    pipelines at once (a worker's ``--concurrency``) share the cores instead of fighting over
    them.
    """
    return max(1, cpu_cores() // max(1, jobs_at_once))

__all__ = [
    "ENV_DEVICE",
    "ENV_MODEL",
    "KEEP_CLASSES",
    "LABELS",
    "VEHICLE_LABELS",
    "Detection",
    "Detector",
    "DetectorLoadError",
    "Look",
    "UnsupportedModelOutput",
    "cpu_cores",
    "decode_yolo_output",
    "inference_threads",
    "resolve_device",
    "tile_layout",
]

_PAD_VALUE = 114  # ultralytics' letterbox grey
_RESIZE_DOWN = cv2.INTER_AREA  # LINEAR is faster but measurably worse (bus recall)


class DetectorLoadError(RuntimeError):
    """The configured model cannot be loaded or is not an object detector.

    The message always starts with the name of the variable to fix
    (``WARDCAM_DETECTOR_MODEL: ...`` or ``WARDCAM_DETECTOR_DEVICE: ...``).
    """


class UnsupportedModelOutput(DetectorLoadError):
    """The model loads but gives an output wardcam cannot decode (found at load, not on footage).

    ``shape`` is the output shape the model gave for one input.
    """

    def __init__(self, message: str, shape: tuple[int, ...]) -> None:
        super().__init__(message)
        self.shape = shape


@dataclass(frozen=True, slots=True)
class Detection:
    """One box: ``box`` is pixel ``(x1, y1, x2, y2)`` in the frame that was passed in."""

    label: str
    confidence: float
    box: tuple[float, float, float, float]


class _Backend(Protocol):
    """Runs the network on BGR uint8 ``input_size`` squares; returns (N, 4+nc, anchors)."""

    def infer(self, canvases: Sequence[np.ndarray]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where one source region went in a canvas: canvas = (src - (ox, oy)) * (sx, sy) + (dx, dy).

    Per axis, because the region was resized to whole pixels in each (640x360 -> 569x320 is
    x 0.8891, y 0.8889): one scale would misplace boxes by up to a pixel at the far edge.
    """

    sx: float
    sy: float
    dx: float
    dy: float
    width: int  # source region size
    height: int
    ox: int = 0  # source region origin
    oy: int = 0


@dataclass(frozen=True, slots=True)
class Look:
    """One region of one image for the model: ``image[y0:y1, x0:x1]`` resized by ``scale``.

    ``region`` None is the whole image. Detections come back in ``image`` pixels, clipped to
    the region. A look alone in a model input is centred in it, as ultralytics' letterbox does.
    """

    image: np.ndarray
    scale: float = 1.0
    region: tuple[int, int, int, int] | None = None

    def rect(self) -> tuple[int, int, int, int]:
        if self.region is not None:
            return self.region
        return (0, 0, int(self.image.shape[1]), int(self.image.shape[0]))

    def size(self) -> tuple[int, int]:
        x0, y0, x1, y1 = self.rect()
        return max(1, round((x1 - x0) * self.scale)), max(1, round((y1 - y0) * self.scale))


def pack_looks(looks: Sequence[Look], size: int) -> list[list[tuple[int, int, int]]]:
    """Shelf-pack looks into ``size`` squares: per canvas, ``(look index, x, y)`` of each."""
    canvases: list[list[tuple[int, int, int]]] = []
    cur: list[tuple[int, int, int]] = []
    x = y = shelf = 0
    for k, look in enumerate(looks):
        w, h = (min(size, v) for v in look.size())
        if x + w > size:
            x, y, shelf = 0, y + shelf, 0
        if y + h > size:
            canvases.append(cur)
            cur, x, y, shelf = [], 0, 0, 0
        cur.append((k, x, y))
        x += w
        shelf = max(shelf, h)
    if cur:
        canvases.append(cur)
    return canvases


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in {"", "0", "false", "no", "off"}


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``; other values are checked."""
    dev = (device or "auto").strip().lower()
    if dev == "auto":
        return "cuda" if _cuda_available() else "cpu"
    if dev == "cpu":
        return "cpu"
    if dev == "cuda" or (dev.startswith("cuda:") and dev[5:].isdigit()) or dev.isdigit():
        if not _cuda_available():
            raise DetectorLoadError(f"{ENV_DEVICE}: {device!r} asked for, but no CUDA device")
        return dev if not dev.isdigit() else f"cuda:{dev}"
    raise DetectorLoadError(f"{ENV_DEVICE}: unknown device {device!r} (cpu, cuda, cuda:N, auto)")


#: device nodes one of which a GPU torch can use needs: NVIDIA's, WSL's GPU bridge, ROCm's
GPU_DEVICE_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg", "/dev/kfd")


def _cuda_available() -> bool:
    """Whether torch sees a GPU. Importing torch costs 1.4 s (of the 3.5 s `wardcam detect`
    took on a 7 s clip), so it is asked only where a GPU's device node is there."""
    if not any(os.path.exists(node) for node in GPU_DEVICE_NODES):
        return False
    try:
        import torch
    except Exception:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


def _parse_names(raw: Any) -> dict[int, str]:
    if isinstance(raw, str):
        import ast

        try:
            raw = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return {}
    if isinstance(raw, dict):
        return {int(k): str(v) for k, v in raw.items()}
    if isinstance(raw, list | tuple):
        return {i: str(v) for i, v in enumerate(raw)}
    return {}


def _check_names(model: str, names: dict[int, str], task: str | None) -> None:
    if task is not None and task != "detect":
        raise DetectorLoadError(
            f"{ENV_MODEL}: {model!r} is a {task!r} model, not an object detector (task=detect)"
        )
    missing = [n for i, n in KEEP_CLASSES.items() if names.get(i) != n]
    if missing:
        raise DetectorLoadError(
            f"{ENV_MODEL}: {model!r} is not a COCO detector "
            f"(class ids for {', '.join(missing)} do not match)"
        )


class _OpenVINOBackend:
    """OpenVINO on CPU, asynchronous; one compiled model per input shape (see
    :mod:`detectors.ovshape`): the square ``input_size`` one at load, the others when first
    asked for by :meth:`canvas_shape`."""

    #: compiled shapes kept at most (each costs a compile, about 0.5-1 s, and some memory)
    MAX_SHAPES = 6
    #: reuse a compiled shape holding the wanted one when it has at most this much more area
    REUSE_AREA = 1.15

    def __init__(self, model_dir: Path, model_name: str, threads: int, streams: int) -> None:
        import yaml

        xmls = sorted(model_dir.glob("*.xml"))
        if not xmls:
            raise DetectorLoadError(f"{ENV_MODEL}: {model_name!r} has no OpenVINO .xml file")
        meta_path = model_dir / "metadata.yaml"
        meta: dict[str, Any] = {}
        if meta_path.is_file():
            with meta_path.open(encoding="utf-8") as fh:
                loaded = yaml.safe_load(fh)
            if isinstance(loaded, dict):
                meta = loaded
        self.names = _parse_names(meta.get("names"))
        _check_names(model_name, self.names, meta.get("task"))
        self._xml = xmls[0]
        self._props: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads,
        }
        if streams > 1:  # several pipelines at once: each inference on a stream of its own
            self._props = {
                "PERFORMANCE_HINT": "THROUGHPUT",
                "NUM_STREAMS": streams,
                "INFERENCE_NUM_THREADS": threads * streams,
            }
        self._requests = max(4, 2 * streams + 2)
        self._lock = threading.Lock()
        try:
            import openvino as ov

            self._core = ov.Core()
            compiled = self._compile(None)
        except DetectorLoadError:
            raise
        except Exception as exc:
            raise DetectorLoadError(
                f"{ENV_MODEL}: OpenVINO cannot load {model_name!r}: {exc}"
            ) from exc
        shape = list(compiled.inputs[0].get_partial_shape())
        self.input_size = _static_square([shape[0], shape[3], shape[1], shape[2]], model_name)
        size = self.input_size
        self._pools: dict[tuple[int, int], _OVPool] = {
            (size, size): _OVPool(compiled, self._requests)
        }
        #: False once a reshape failed (another graph): square inputs only
        self.rectangular = True

    def _compile(self, shape: tuple[int, int] | None) -> Any:
        import openvino as ov
        from openvino.preprocess import ColorFormat, PrePostProcessor

        from .ovshape import reshape_ir

        net = self._core.read_model(str(self._xml))
        if shape is not None:
            reshape_ir(net, self.input_size, *shape)
        # uint8 BGR NHWC in, the conversion to float RGB NCHW / 255 runs inside the graph
        ppp = PrePostProcessor(net)
        ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(
            ov.Layout("NHWC")
        ).set_color_format(ColorFormat.BGR)
        ppp.input().model().set_layout(ov.Layout("NCHW"))
        ppp.input().preprocess().convert_element_type(ov.Type.f32).convert_color(
            ColorFormat.RGB
        ).scale(255.0)
        return self._core.compile_model(ppp.build(), "CPU", self._props)

    def canvas_shape(self, height: int, width: int) -> tuple[int, int]:
        """The (height, width) of the smallest model input holding ``height`` x ``width``
        pixels: rounded up to multiples of 32, or a compiled shape with little more area, or
        the square."""
        with self._lock:  # pipelines running at once may both ask for a new shape
            return self._canvas_shape(height, width)

    def _canvas_shape(self, height: int, width: int) -> tuple[int, int]:
        size = self.input_size
        want = (min(size, -(-max(1, height) // 32) * 32), min(size, -(-max(1, width) // 32) * 32))
        if not self.rectangular or want in self._pools:
            return want if want in self._pools else (size, size)
        area = want[0] * want[1]
        holding = [s for s in self._pools if s[0] >= want[0] and s[1] >= want[1]]
        best = min(holding, key=lambda s: s[0] * s[1])
        if best[0] * best[1] <= self.REUSE_AREA * area or len(self._pools) >= self.MAX_SHAPES:
            return best
        try:
            pool = _OVPool(self._compile(want), self._requests)
            pool.start(np.full((*want, 3), _PAD_VALUE, np.uint8)).result()  # the slow first run
        except Exception:  # a graph ovshape does not know: stay square
            self.rectangular = False
            return (size, size)
        self._pools[want] = pool
        return want

    def start(self, canvas: np.ndarray) -> _OVJob:
        """Start an asynchronous inference; the job's ``result()`` waits for it."""
        h, w = canvas.shape[:2]
        pool = self._pools.get((h, w))
        if pool is None:
            raise ValueError(f"no model compiled for a {w}x{h} input (see canvas_shape)")
        return pool.start(canvas)

    def infer(self, canvases: Sequence[np.ndarray]) -> np.ndarray:
        """Square canvases only (the outputs are stacked)."""
        jobs = [self.start(c) for c in canvases]
        return np.concatenate([j.result() for j in jobs], axis=0)


class _OVPool:
    """Infer requests of one compiled model, used round-robin; shared by the pipelines a
    process runs at once (a worker's ``--concurrency``), hence the lock."""

    def __init__(self, compiled: Any, requests: int = 4) -> None:
        self.compiled = compiled
        self._requests = [compiled.create_infer_request() for _ in range(requests)]
        self._owners: list[_OVJob | None] = [None] * requests
        self._next = 0
        self._lock = threading.Lock()

    def start(self, canvas: np.ndarray) -> _OVJob:
        with self._lock:
            k = self._next
            self._next = (k + 1) % len(self._requests)
            owner = self._owners[k]
            if owner is not None:
                owner.result()  # collect before the request is reused
            job = _OVJob(self._requests[k])
            self._owners[k] = job
            job.request.start_async({0: np.ascontiguousarray(canvas[None])})
            return job


class _OVJob:
    def __init__(self, request: Any) -> None:
        self.request = request
        self._out: np.ndarray | None = None
        self._lock = threading.Lock()  # its owner and the pool reusing the request

    def result(self) -> np.ndarray:
        with self._lock:
            if self._out is None:
                self.request.wait()
                self._out = np.array(self.request.get_output_tensor(0).data, copy=True)
            return self._out


class _OnnxBackend:
    def __init__(self, path: Path, model_name: str, threads: int) -> None:
        try:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            self.session = ort.InferenceSession(
                str(path), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise DetectorLoadError(
                f"{ENV_MODEL}: onnxruntime cannot load {model_name!r}: {exc}"
            ) from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        self.names = _parse_names(meta.get("names"))
        _check_names(model_name, self.names, meta.get("task"))
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.input_size = _static_square(list(inp.shape), model_name)
        self.batch_fixed = isinstance(inp.shape[0], int)

    def infer(self, canvases: Sequence[np.ndarray]) -> np.ndarray:
        blob = cv2.dnn.blobFromImages(list(canvases), 1.0 / 255.0, swapRB=True)
        if self.batch_fixed:
            outs = [self.session.run(None, {self.input_name: blob[i : i + 1]})[0]
                    for i in range(blob.shape[0])]
            return np.concatenate(outs, axis=0)
        return np.asarray(self.session.run(None, {self.input_name: blob})[0])


def anchor_count(size: int) -> int:
    """Anchors of a YOLOv8/YOLO11 head (strides 8, 16, 32) on a ``size`` square input."""
    return sum((size // stride) ** 2 for stride in (8, 16, 32))


def check_output_shape(
    shape: tuple[int, ...], classes: int, size: int, model_name: str
) -> None:
    """Refuse, at load, a model whose output :func:`decode_yolo_output` cannot read.

    wardcam decodes the raw detection head: ``(batch, 4 + classes, anchors)`` (or transposed).
    End-to-end exports (YOLO26-style, NMS inside the graph, ``(1, 300, 6)``), segmentation or
    pose heads and classifiers give other shapes and would otherwise fail on the first segment.
    """
    want = 4 + classes
    anchors = anchor_count(size)
    dims = shape[1:] if len(shape) == 3 else ()
    if len(shape) == 3 and want in dims and anchors in dims:
        return
    hint = ""
    if len(shape) == 3 and shape[-1] in (6, 7) and shape[1] < anchors:
        hint = (
            "; this looks like an end-to-end export (NMS inside the model, one row per box: "
            "x1 y1 x2 y2 score class), e.g. YOLO26; use an export with the raw detection head "
            "such as YOLOv8 or YOLO11"
        )
    elif len(shape) == 3 and anchors in dims:
        hint = f"; {max(dims) if min(dims) == anchors else min(dims)} values per anchor is not " \
            f"a detection head with {classes} classes (segmentation or pose?)"
    raise UnsupportedModelOutput(
        f"{ENV_MODEL}: {model_name!r} gives output of shape {tuple(shape)}, "
        f"wardcam needs a YOLO detection head of shape (1, {want}, {anchors}) for "
        f"{classes} classes at {size}x{size}{hint}",
        tuple(shape),
    )


def _static_square(shape: list[Any], model_name: str) -> int:
    try:
        h, w = int(str(shape[2])), int(str(shape[3]))
    except (ValueError, IndexError, TypeError):
        return 640  # dynamic input: use the ultralytics default
    if h != w:
        raise DetectorLoadError(f"{ENV_MODEL}: {model_name!r} has a non-square input {h}x{w}")
    return h


class Detector:
    """Object detector for person and vehicle classes.

    ``model``: path of a ``.pt``/``.onnx``/``.engine`` file or an OpenVINO export directory (a
    bare ultralytics asset name like ``yolo11n.pt`` is fetched by ultralytics unless
    ``YOLO_OFFLINE`` is set).  ``device``: ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
    ``conf``: lowest confidence returned.  ``threads``: CPU threads of one inference on the
    OpenVINO / onnxruntime fast paths (default :func:`inference_threads`: every core).
    ``streams``: pipelines sharing this detector at once (OpenVINO runs that many inferences
    side by side, each on ``threads``; one pipeline at a time: 1).
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        device: str = "auto",
        conf: float = 0.25,
        iou: float = 0.7,
        half: bool | None = None,
        threads: int | None = None,
        streams: int = 1,
    ) -> None:
        self.model_name = str(model)
        self.conf = float(conf)
        self.iou = float(iou)
        if not self.model_name.strip():
            raise DetectorLoadError(f"{ENV_MODEL}: empty model path")
        path = Path(self.model_name).expanduser()
        bare_asset = (
            os.sep not in self.model_name
            and path.suffix == ".pt"
            and not _truthy(os.environ.get("YOLO_OFFLINE"))
        )
        if not path.exists() and not bare_asset:
            raise DetectorLoadError(f"{ENV_MODEL}: model {self.model_name!r} does not exist")
        self.device = resolve_device(device)
        #: CPU threads one inference uses (the OpenVINO / onnxruntime paths)
        self.threads = threads if threads else inference_threads()
        #: inferences that may run side by side (OpenVINO streams; never more than cores)
        self.streams = max(1, min(streams, cpu_cores()))
        self.backend_name: str
        self._backend: _Backend | None = None
        self._yolo: Any = None
        is_openvino = path.is_dir() and any(path.glob("*.xml"))
        if path.is_dir() and not is_openvino and not any(path.glob("*.onnx")):
            raise DetectorLoadError(
                f"{ENV_MODEL}: {self.model_name!r} is a directory but not an OpenVINO export"
            )
        if self.device.startswith("cuda") and is_openvino:
            raise DetectorLoadError(
                f"{ENV_DEVICE}: {self.device!r} cannot run the OpenVINO model {self.model_name!r};"
                " use a .pt, .onnx or .engine model for CUDA"
            )
        if self.device == "cpu" and is_openvino:
            ov_backend = _OpenVINOBackend(path, self.model_name, self.threads, self.streams)
            self._backend, self.names = ov_backend, ov_backend.names
            self.input_size = ov_backend.input_size
            self.backend_name = "openvino"
        elif self.device == "cpu" and path.suffix.lower() == ".onnx" and path.is_file():
            onnx_backend = _OnnxBackend(path, self.model_name, self.threads)
            self._backend, self.names = onnx_backend, onnx_backend.names
            self.input_size = onnx_backend.input_size
            self.backend_name = "onnxruntime"
        else:
            self._load_ultralytics()
        if self._backend is not None:
            # the first inference of a compiled model is slow: pay it here, not on footage; and
            # what it gives back says whether wardcam can decode it at all
            try:
                out = self._backend.infer(
                    [np.full((self.input_size, self.input_size, 3), _PAD_VALUE, np.uint8)]
                )
            except Exception as exc:
                raise DetectorLoadError(
                    f"{ENV_MODEL}: {self.model_name!r} does not run on a "
                    f"{self.input_size}x{self.input_size} image: {exc}"
                ) from exc
            check_output_shape(tuple(out.shape), len(self.names), self.input_size,
                               self.model_name)
        if half is None:
            half = self.device.startswith("cuda") and self.backend_name in {
                "ultralytics:pt",
                "ultralytics:engine",
            }
        self.half = bool(half)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Detector:
        """Build from ``WARDCAM_DETECTOR_MODEL`` (default ``yolo11n.pt``) and
        ``WARDCAM_DETECTOR_DEVICE`` (default ``auto``)."""
        env = os.environ if environ is None else environ
        return cls(env.get(ENV_MODEL) or "yolo11n.pt", env.get(ENV_DEVICE) or "auto", **kwargs)

    # ------------------------------------------------------------------ loading
    def _load_ultralytics(self) -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        try:
            from ultralytics import YOLO

            yolo = YOLO(self.model_name, task="detect")
            task = getattr(yolo, "task", None)
            names = _parse_names(getattr(yolo, "names", None) or {})
        except DetectorLoadError:
            raise
        except Exception as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise DetectorLoadError(
                f"{ENV_MODEL}: cannot load {self.model_name!r} as an ultralytics model: "
                f"{first_line}"
            ) from exc
        if not names:
            # exported formats only know their names once the predictor is set up
            try:
                yolo.predict(np.zeros((64, 64, 3), np.uint8), device=self.device, verbose=False)
                names = _parse_names(yolo.names)
            except Exception as exc:
                raise DetectorLoadError(
                    f"{ENV_MODEL}: {self.model_name!r} does not run as a detector: {exc}"
                ) from exc
        _check_names(self.model_name, names, task)
        self._yolo = yolo
        self.names = names
        self.input_size = 640
        suffix = Path(self.model_name).suffix.lower().lstrip(".") or "dir"
        self.backend_name = f"ultralytics:{suffix}"

    # ------------------------------------------------------------------ properties
    @property
    def is_gpu(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def prefers_batches(self) -> bool:
        """True when running several full frames per call pays (GPU); on CPU tile instead."""
        return self.is_gpu

    # ------------------------------------------------------------------ public API
    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detect in each BGR ``HxWx3`` uint8 frame (any size), one frame per model input."""
        return self.detect_tiled(frames, tiles=1)

    def detect_tiled(self, frames: Sequence[np.ndarray], tiles: int = 1) -> list[list[Detection]]:
        """Like :meth:`detect`, but packs up to ``tiles`` downscaled frames into each model input.

        A 640x360 frame at scale 0.89 fills half a 640x640 input, so ``tiles=2`` costs one
        inference per two frames with almost no loss of resolution; ``tiles=4`` halves the
        resolution.  Boxes are mapped back to each source frame's pixels.
        """
        if not frames:
            return []
        tiles = max(1, int(tiles))
        if self._yolo is not None and tiles == 1:
            return self._detect_ultralytics(frames)
        results: list[list[Detection]] = []
        for start in range(0, len(frames), tiles):
            group = list(frames[start : start + tiles])
            canvas, placements = self.make_canvas(group, tiles)
            dets = self._detect_canvas(canvas)
            results.extend(_split_detections(dets, placements))
        return results

    def submit_tiled(
        self, frames: Sequence[np.ndarray], tiles: int = 1
    ) -> Callable[[], list[list[Detection]]]:
        """Start :meth:`detect_tiled` and return a function that waits for its result.

        With the OpenVINO back end the inference runs while the caller goes on decoding; the
        other back ends compute at once.
        """
        backend = self._backend
        if not isinstance(backend, _OpenVINOBackend) or not frames:
            done = self.detect_tiled(frames, tiles)
            return lambda: done
        tiles = max(1, int(tiles))
        jobs: list[tuple[_OVJob, list[_Placement]]] = []
        for start in range(0, len(frames), tiles):
            canvas, placements = self.make_canvas(list(frames[start : start + tiles]), tiles)
            jobs.append((backend.start(canvas), placements))
        conf, iou = self.conf, self.iou

        def result() -> list[list[Detection]]:
            out: list[list[Detection]] = []
            for job, placements in jobs:
                dets = decode_yolo_output(job.result()[0], conf, iou)
                out.extend(_split_detections(dets, placements))
            return out

        return result

    # ------------------------------------------------------------------ looks
    def fits_one_input(self, looks: Sequence[Look]) -> bool:
        return len(pack_looks(looks, self.input_size)) <= 1

    def submit_looks(
        self, looks: Sequence[Look], rectangular: bool = False
    ) -> Callable[[], list[list[Detection]]]:
        """Pack looks into as few model inputs as they fit and start detection on them.

        Returns a function that waits for the result: per look, its detections in the
        look's image pixels. With the OpenVINO back end inference runs meanwhile; with
        ``rectangular`` on inputs cut to what the looks fill (cheaper, but not the same
        numbers as the square letterbox: see ``PipelineConfig.rect_inputs``).
        """
        if not looks:
            return lambda: []
        groups = pack_looks(looks, self.input_size)
        canvases = [self._look_canvas(looks, group, rectangular) for group in groups]
        backend = self._backend
        conf, iou = self.conf, self.iou
        if isinstance(backend, _OpenVINOBackend):
            jobs = [backend.start(canvas) for canvas, _ in canvases]

            def outputs() -> list[list[Detection]]:
                return [decode_yolo_output(j.result()[0], conf, iou) for j in jobs]
        elif self._yolo is not None:
            done = self._detect_ultralytics([c for c, _ in canvases])
            outputs = lambda: done  # noqa: E731
        else:
            assert backend is not None
            raw = backend.infer([c for c, _ in canvases])
            done = [decode_yolo_output(r, conf, iou) for r in raw]
            outputs = lambda: done  # noqa: E731

        def result() -> list[list[Detection]]:
            per_look: list[list[Detection]] = [[] for _ in looks]
            for dets, (_, placed) in zip(outputs(), canvases, strict=True):
                split = _split_detections(dets, [p for _, p in placed])
                for (k, _), found in zip(placed, split, strict=True):
                    per_look[k] = found
            return per_look

        return result

    def detect_looks(
        self, looks: Sequence[Look], rectangular: bool = False
    ) -> list[list[Detection]]:
        return self.submit_looks(looks, rectangular)()

    def _look_canvas(
        self, looks: Sequence[Look], group: list[tuple[int, int, int]], rectangular: bool = False
    ) -> tuple[np.ndarray, list[tuple[int, _Placement]]]:
        """One model input holding the looks of ``group``: the ``input_size`` square, or with
        ``rectangular`` as small as the backend allows (OpenVINO: the packed looks' extent
        rounded up to 32 px, see :meth:`_OpenVINOBackend.canvas_shape`).  A look alone is
        centred, as ultralytics' letterbox does."""
        size = self.input_size
        items: list[tuple[int, int, int, int, int, float]] = []  # k, x, y, w, h, scale
        for k, x, y in group:
            look = looks[k]
            x0, y0, x1, y1 = look.rect()
            w, h = look.size()
            s = look.scale
            if w > size or h > size:  # too big for the input: shrink to fit
                s = min(size / (x1 - x0), size / (y1 - y0))
                w, h = max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s))
            items.append((k, x, y, w, h, s))
        used_w = max(min(size, x + w) for _, x, _, w, _, _ in items)
        used_h = max(min(size, y + h) for _, _, y, _, h, _ in items)
        ch, cw = self._canvas_shape(used_h, used_w) if rectangular else (size, size)
        canvas = np.full((ch, cw, 3), _PAD_VALUE, np.uint8)
        placed: list[tuple[int, _Placement]] = []
        for k, x, y, w, h, s in items:
            look = looks[k]
            x0, y0, x1, y1 = look.rect()
            if len(items) == 1:
                x, y = (cw - w) // 2, (ch - h) // 2
            crop = look.image[y0:y1, x0:x1]
            if (w, h) != (x1 - x0, y1 - y0):
                crop = cv2.resize(crop, (w, h), interpolation=_RESIZE_DOWN if s < 1
                                  else cv2.INTER_LINEAR)
            canvas[y : y + h, x : x + w] = crop
            placed.append((k, _Placement(w / (x1 - x0), h / (y1 - y0), float(x), float(y),
                                         x1 - x0, y1 - y0, x0, y0)))
        return canvas, placed

    def _canvas_shape(self, height: int, width: int) -> tuple[int, int]:
        backend = self._backend
        if isinstance(backend, _OpenVINOBackend):
            return backend.canvas_shape(height, width)
        return self.input_size, self.input_size

    # ------------------------------------------------------------------ canvases
    def make_canvas(
        self, frames: Sequence[np.ndarray], tiles: int
    ) -> tuple[np.ndarray, list[_Placement]]:
        """Pack frames (all the same size, or not) into one square canvas of the input size."""
        size = self.input_size
        h0, w0 = frames[0].shape[:2]
        rows, cols, scale = tile_layout(w0, h0, size, tiles)
        canvas = np.full((size, size, 3), _PAD_VALUE, np.uint8)
        cell_w, cell_h = size / cols, size / rows
        placements: list[_Placement] = []
        for k, frame in enumerate(frames):
            h, w = frame.shape[:2]
            s = min(cell_w / w, cell_h / h) if (h, w) != (h0, w0) else scale
            nw, nh = max(1, round(w * s)), max(1, round(h * s))
            r, c = divmod(k, cols)
            if rows * cols == 1:  # single frame: centre it, as letterbox does
                x0, y0 = (size - nw) // 2, (size - nh) // 2
            else:
                x0, y0 = int(c * cell_w), int(r * cell_h)
            img = frame if (nw, nh) == (w, h) else cv2.resize(
                frame, (nw, nh), interpolation=_RESIZE_DOWN if s < 1 else cv2.INTER_LINEAR
            )
            canvas[y0 : y0 + nh, x0 : x0 + nw] = img
            placements.append(_Placement(nw / w, nh / h, float(x0), float(y0), w, h))
        return canvas, placements

    def _detect_canvas(self, canvas: np.ndarray) -> list[Detection]:
        if self._yolo is not None:
            return self._detect_ultralytics([canvas])[0]
        assert self._backend is not None
        out = self._backend.infer([canvas])
        return decode_yolo_output(out[0], self.conf, self.iou)

    def _detect_ultralytics(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        results = self._yolo.predict(
            list(frames),
            imgsz=self.input_size,
            conf=self.conf,
            iou=self.iou,
            device=self.device,
            half=self.half,
            batch=max(1, len(frames)) if self.is_gpu else 1,
            verbose=False,
        )
        out: list[list[Detection]] = []
        for res in results:
            boxes = res.boxes
            cls = boxes.cls.cpu().numpy().astype(int)
            confs = boxes.conf.cpu().numpy()
            xyxy = boxes.xyxy.cpu().numpy()
            dets = [
                Detection(KEEP_CLASSES[int(c)], float(p), _box(b))
                for c, p, b in zip(cls, confs, xyxy, strict=True)
                if int(c) in KEEP_CLASSES
            ]
            out.append(dets)
        return out


def _box(b: Sequence[float] | np.ndarray) -> tuple[float, float, float, float]:
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def tile_layout(width: int, height: int, size: int, tiles: int) -> tuple[int, int, float]:
    """Best rows x cols grid holding at least ``tiles`` frames of ``width``x``height``.

    Returns ``(rows, cols, scale)`` maximising the per-frame scale.
    """
    best = (1, 1, min(size / width, size / height))
    best_scale = -1.0
    for rows in range(1, tiles + 1):
        cols = math.ceil(tiles / rows)
        scale = min(size / (cols * width), size / (rows * height))
        if scale > best_scale + 1e-9:
            best_scale, best = scale, (rows, cols, scale)
    return best


def decode_yolo_output(out: np.ndarray, conf: float, iou: float) -> list[Detection]:
    """(4+nc, anchors) YOLOv8/11 head output → kept-class detections after class-aware NMS."""
    if out.ndim != 2:
        raise ValueError(f"unexpected output shape {out.shape}")
    if out.shape[0] > out.shape[1]:
        out = out.T
    keep_ids = np.fromiter(KEEP_CLASSES.keys(), dtype=np.int64)
    # cheap prefilter: anchors where some kept class reaches conf
    cand = np.flatnonzero(out[4 + keep_ids].max(axis=0) >= conf)
    if cand.size == 0:
        return []
    scores = out[4:, cand]
    cls = scores.argmax(axis=0)  # ultralytics picks the best of all classes per anchor
    best = scores[cls, np.arange(cand.size)]
    mask = (best >= conf) & np.isin(cls, keep_ids)
    if not mask.any():
        return []
    sel = cand[mask]
    cx, cy, w, h = out[0, sel], out[1, sel], out[2, sel], out[3, sel]
    confs = best[mask]
    classes = cls[mask]
    xywh = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
    idx = cv2.dnn.NMSBoxesBatched(
        xywh.tolist(), confs.tolist(), classes.tolist(), float(conf), float(iou)
    )
    dets: list[Detection] = []
    for i in np.asarray(idx, dtype=int).reshape(-1):
        x, y, bw, bh = xywh[i]
        dets.append(
            Detection(
                KEEP_CLASSES[int(classes[i])],
                float(confs[i]),
                (float(x), float(y), float(x + bw), float(y + bh)),
            )
        )
    dets.sort(key=lambda d: -d.confidence)
    return dets


def _split_detections(
    dets: Sequence[Detection], placements: Sequence[_Placement]
) -> list[list[Detection]]:
    """Assign canvas detections to the tile holding their centre and map them back."""
    out: list[list[Detection]] = [[] for _ in placements]
    for det in dets:
        x1, y1, x2, y2 = det.box
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        for k, p in enumerate(placements):
            tx1, ty1 = p.dx, p.dy
            tx2, ty2 = p.dx + p.width * p.sx, p.dy + p.height * p.sy
            if tx1 <= cx < tx2 and ty1 <= cy < ty2:
                bx1 = (max(x1, tx1) - p.dx) / p.sx + p.ox
                by1 = (max(y1, ty1) - p.dy) / p.sy + p.oy
                bx2 = (min(x2, tx2) - p.dx) / p.sx + p.ox
                by2 = (min(y2, ty2) - p.dy) / p.sy + p.oy
                out[k].append(Detection(det.label, det.confidence, (bx1, by1, bx2, by2)))
                break
    return out
