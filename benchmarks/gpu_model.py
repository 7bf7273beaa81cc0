"""A float ultralytics ``.pt`` for the GPU benchmark, rebuilt from the shared INT8 ONNX.

Why: the GPU path of :class:`detectors.detector.Detector` (batched, half precision) needs a
``.pt`` or ``.engine`` model, and the shared assets hold only quantized exports (onnxruntime
dynamic INT8 ``yolov8n_int8.onnx`` and an OpenVINO INT8 ``yolo11n``).  This script builds
ultralytics' **yolov8n** architecture from its packaged ``yolov8n.yaml`` (no download), and
loads each of its 64 convolutions with the ONNX weights dequantized: ``(w_q - zero_point) *
scale`` per ``ConvInteger`` weight, the bias from the ``Add`` that follows.  The ONNX export
had its batch norms folded into the convolutions, so each model ``Conv`` gets the dequantized
kernel and a batch norm that is the identity plus that bias: exactly the fused convolution once
ultralytics fuses the model at load, as it does for any checkpoint.  The DFL's fixed
``arange(16)`` kernel is kept as built (its quantized copy is checked against it).

The result is a **dequantized yolov8n**, not the float weights ultralytics released: it carries
the INT8 weight rounding (the activations then run in float/half, so it is, if anything, closer
to the original than the INT8 model).  ``--verify`` compares it with onnxruntime on the INT8
ONNX on frames of the shared footage, both through wardcam's ``Detector``, and runs the
pipeline once on CPU with it.

    .venv/bin/python -m benchmarks.gpu_model --out /work/main/.gpu/yolov8n_float.pt --verify
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared" / "assets").resolve()
ONNX_PATH = SHARED / "models" / "yolov8n_int8.onnx"
FOOTAGE = SHARED / "footage"
DEFAULT_OUT = Path("/work/main/.gpu/yolov8n_float.pt")


def _quantized_convs(onnx_path: Path) -> list[dict[str, Any]]:
    """Each ``ConvInteger`` of the graph in order: name, dequantized weight, bias, attributes."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    producers = {out: node for node in graph.node for out in node.output}
    convs: list[dict[str, Any]] = []
    for node in graph.node:
        if node.op_type != "ConvInteger":
            continue
        wq_name, wzp_name = node.input[1], node.input[3]
        if not wq_name.endswith(".weight_quantized"):
            raise SystemExit(f"unexpected ConvInteger weight name {wq_name!r}")
        base = wq_name[: -len("_quantized")]  # e.g. model.0.conv.weight
        scale = inits[f"{base}_scale"].astype(np.float64)
        zp = inits[wzp_name].astype(np.float64)
        if scale.ndim == 1:  # per output channel
            scale, zp = scale.reshape(-1, 1, 1, 1), zp.reshape(-1, 1, 1, 1)
        weight = ((inits[wq_name].astype(np.float64) - zp) * scale).astype(np.float32)
        # ConvInteger -> Cast -> Mul (x_scale * w_scale) -> Add(bias reshaped)?
        bias: np.ndarray | None = None
        out = node.output[0]
        for _ in range(3):
            nxt = consumers.get(out, [])
            if len(nxt) != 1:
                break
            nxt_node = nxt[0]
            if nxt_node.op_type == "Add":
                other = next(i for i in nxt_node.input if i != out)
                src = producers.get(other)
                bname = src.input[0] if src is not None and src.op_type == "Reshape" else other
                bias = inits[bname].astype(np.float32).reshape(-1)
                break
            out = nxt_node.output[0]
        attrs = {a.name: list(a.ints) if a.ints else a.i for a in node.attribute}
        convs.append({"name": base[: -len(".weight")], "weight": weight, "bias": bias,
                      "attrs": attrs})
    return convs


def _coco_names(onnx_path: Path) -> dict[int, str]:
    import ast

    import onnx

    meta = {p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}
    names = ast.literal_eval(meta["names"])
    return {int(k): str(v) for k, v in names.items()}


def build(onnx_path: Path = ONNX_PATH) -> Any:
    """The yolov8n ``DetectionModel`` with the dequantized ONNX weights (unfused, eval, fp32)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torch
    from ultralytics import YOLO
    from ultralytics.nn.modules import Conv

    model: Any = YOLO("yolov8n.yaml", task="detect").model  # architecture only, random
    convs = _quantized_convs(onnx_path)
    # model convolutions in module order: ultralytics Conv blocks (conv+bn) and the head's
    # plain nn.Conv2d outputs (cv2.i.2 / cv3.i.2, which have their own bias), then the DFL
    targets: list[tuple[str, Any]] = []
    inside_conv: set[str] = set()
    for name, mod in model.named_modules():
        if isinstance(mod, Conv):
            targets.append((name, mod))
            inside_conv.add(f"{name}.conv")
        elif isinstance(mod, torch.nn.Conv2d) and name not in inside_conv:
            targets.append((name, mod))
    if len(targets) != len(convs):
        raise SystemExit(f"{len(convs)} ONNX convolutions for {len(targets)} in yolov8n.yaml")
    # the ONNX graph lists them in execution order (a C2f's cv2 after its bottlenecks), the
    # model in definition order: pair them by the module name the export kept, one to one
    by_name = {c["name"].removesuffix(".conv") if not c["name"].endswith("dfl.conv")
               else c["name"]: c for c in convs}
    if len(by_name) != len(convs) or set(by_name) != {n for n, _ in targets}:
        missing = sorted(set(by_name) ^ {n for n, _ in targets})
        raise SystemExit(f"ONNX and yolov8n.yaml convolutions differ: {missing[:6]}")
    loaded = 0
    with torch.no_grad():
        for name, mod in targets:
            src = by_name[name]
            conv = mod.conv if isinstance(mod, Conv) else mod
            weight = torch.from_numpy(src["weight"])
            if tuple(conv.weight.shape) != tuple(weight.shape):
                raise SystemExit(f"{name}: shape {tuple(weight.shape)} in ONNX, "
                                 f"{tuple(conv.weight.shape)} in the model")
            if list(conv.stride) != src["attrs"].get("strides", list(conv.stride)):
                raise SystemExit(f"{name}: stride differs from the ONNX graph")
            if name.endswith(".dfl.conv"):
                # fixed arange(16) kernel, not learned: keep it exact, check the ONNX agrees
                err = float((conv.weight - weight).abs().max())
                if err > 0.1:
                    raise SystemExit(f"{name}: DFL kernel differs from arange(16) by {err}")
                continue
            bias = torch.from_numpy(src["bias"]) if src["bias"] is not None else None
            if bias is None or bias.numel() != weight.shape[0]:
                raise SystemExit(f"{name}: no bias of {weight.shape[0]} after its ConvInteger")
            conv.weight.copy_(weight)
            if isinstance(mod, Conv):
                bn: Any = mod.bn
                bn.weight.fill_(1.0)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)  # (x - 0) / sqrt(1 - eps + eps) * 1 + b
                bn.bias.copy_(bias)
            else:
                conv_bias: Any = conv.bias
                conv_bias.copy_(bias)
            loaded += 1
    model.names = _coco_names(onnx_path)
    model.yaml["description"] = "yolov8n dequantized from yolov8n_int8.onnx (wardcam GPU bench)"
    model.args = {"task": "detect", "imgsz": 640}
    model.eval()
    print(f"loaded {loaded} convolutions (+ DFL kept) from {onnx_path.name} into yolov8n.yaml",
          flush=True)
    return model


def save(model: Any, out: Path) -> Path:
    """An ultralytics checkpoint dict, as ``YOLO(path)`` loads it (fp16, like released ones)."""
    import copy
    from datetime import UTC, datetime

    import torch
    import ultralytics

    out.parent.mkdir(parents=True, exist_ok=True)
    ckpt = {
        "date": datetime.now(UTC).isoformat(),
        "version": ultralytics.__version__,
        "license": "AGPL-3.0 (weights: Ultralytics yolov8n, dequantized from the INT8 ONNX)",
        "docs": "benchmarks/gpu_model.py",
        "epoch": -1,
        "best_fitness": None,
        "model": copy.deepcopy(model).half(),
        "ema": None,
        "updates": None,
        "optimizer": None,
        "train_args": {"task": "detect", "imgsz": 640, "model": "yolov8n.yaml"},
        "train_metrics": {},
        "train_results": {},
        "source": "dequantized yolov8n from shared/assets/models/yolov8n_int8.onnx",
    }
    tmp = out.with_suffix(".part")
    torch.save(ckpt, tmp)
    tmp.replace(out)
    return out


# ---------------------------------------------------------------------------- verification
def _frames(per_clip: int, footage: Path = FOOTAGE) -> list[tuple[str, np.ndarray]]:
    import av

    out: list[tuple[str, np.ndarray]] = []
    for clip in sorted(footage.glob("*.mp4")):
        with av.open(str(clip)) as c:
            s = c.streams.video[0]
            total = s.frames or 0
            frames = [f.to_ndarray(format="bgr24") for f in c.decode(s)]
        total = len(frames) or total
        picks: Any = np.linspace(0, total - 1, per_clip).round().astype(int) if total else []
        out.extend((f"{clip.stem}#{i}", frames[i]) for i in sorted(set(picks)))
    return out


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _matched(ref: list[Any], other: list[Any], iou: float) -> int:
    """Greedy one-to-one matches of ``ref`` boxes in ``other``: same label, IoU ≥ ``iou``."""
    used: set[int] = set()
    hits = 0
    for d in sorted(ref, key=lambda d: -d.confidence):
        best, best_j = iou, -1
        for j, o in enumerate(other):
            if j in used or o.label != d.label:
                continue
            v = _iou(d.box, o.box)
            if v >= best:
                best, best_j = v, j
        if best_j >= 0:
            used.add(best_j)
            hits += 1
    return hits


def verify(pt: Path, onnx_path: Path = ONNX_PATH, per_clip: int = 10,
           conf: float = 0.5, iou: float = 0.7, floor: float = 0.25) -> float:
    """Agreement of the float model with onnxruntime on the INT8 ONNX; returns the min share.

    Boxes of one model at ``conf`` or more are looked for among the other's boxes, either at
    ``conf`` or more too (strict: a box at 0.49 in the other counts as missed) or at ``floor``
    or more (wardcam's detector threshold): same class, IoU at least ``iou``, one to one.
    """
    from detectors.detector import Detector

    frames = _frames(per_clip)
    ref = Detector(str(onnx_path), "cpu", conf=floor)
    flt = Detector(str(pt), "cpu", conf=floor)
    print(f"backends: reference {ref.backend_name} ({onnx_path.name}), "
          f"float {flt.backend_name} ({pt.name}); {len(frames)} frames; boxes at conf >= {conf},"
          f" match = same class and IoU >= {iou} among the other's boxes at conf >= {conf} "
          f"(strict) or >= {floor}", flush=True)
    # per clip: int8 boxes, found strict, found loose, float boxes, found strict, found loose
    stats: dict[str, list[int]] = {}
    at_05 = [0, 0]
    for tag, img in frames:
        a_all, b_all = ref.detect([img])[0], flt.detect([img])[0]
        a = [d for d in a_all if d.confidence >= conf]
        b = [d for d in b_all if d.confidence >= conf]
        st = stats.setdefault(tag.split("#")[0], [0] * 6)
        st[0] += len(a)
        st[1] += _matched(a, b, iou)
        st[2] += _matched(a, b_all, iou)
        st[3] += len(b)
        st[4] += _matched(b, a, iou)
        st[5] += _matched(b, a_all, iou)
        at_05[0] += len(a)
        at_05[1] += _matched(a, b, 0.5)
    tot = [sum(v[i] for v in stats.values()) for i in range(6)]

    def pct(n: int, d: int) -> str:
        return f"{n / max(1, d):6.1%}"

    print(f"{'clip':28} {'int8':>5} {'found by float':>15} {'':>7} {'float':>6} "
          f"{'found by int8':>14}")
    print(f"{'':28} {'boxes':>5} {'strict':>7} {'>=' + str(floor):>7} {'':>7} {'boxes':>6} "
          f"{'strict':>7} {'>=' + str(floor):>7}")
    for clip, v in [*stats.items(), ("all", tot)]:
        print(f"{clip:28} {v[0]:5d} {pct(v[1], v[0]):>7} {pct(v[2], v[0]):>7} {'':>7} "
              f"{v[3]:6d} {pct(v[4], v[3]):>7} {pct(v[5], v[3]):>7}")
    print(f"strict at IoU >= 0.5 instead: {at_05[1]} of {at_05[0]} INT8 boxes found "
          f"({pct(at_05[1], at_05[0]).strip()}): the misses are boxes near the threshold, "
          f"not boxes in another place", flush=True)
    raw_check(pt, onnx_path, frames)
    return min(tot[2] / max(1, tot[0]), tot[5] / max(1, tot[3]))


def raw_check(pt: Path, onnx_path: Path, frames: list[tuple[str, np.ndarray]]) -> None:
    """The two networks' raw outputs on the same inputs: how far the INT8 rounding moves them."""
    import cv2
    import onnxruntime as ort
    import torch
    from ultralytics import YOLO

    net = YOLO(str(pt)).model.float().eval()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    corr, dbox = [], []
    for _, img in frames[:: max(1, len(frames) // 12)]:
        x = cv2.resize(img, (640, 640), interpolation=cv2.INTER_AREA)[:, :, ::-1]
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
        a = sess.run(None, {sess.get_inputs()[0].name: x})[0][0]
        with torch.no_grad():
            b = net(torch.from_numpy(x))
        b = (b[0] if isinstance(b, list | tuple) else b)[0].numpy()
        sa, sb = a[4:].max(0), b[4:].max(0)
        corr.append(float(np.corrcoef(sa, sb)[0, 1]))
        sure = sa >= 0.5
        if sure.any():
            dbox.append(float(np.abs(a[:4, sure] - b[:4, sure]).mean()))
    print(f"raw outputs on {len(corr)} frames: best-class score correlation "
          f"{np.mean(corr):.4f} (min {np.min(corr):.4f}); mean |box difference| on anchors "
          f"scoring >= 0.5 in INT8: {np.mean(dbox) if dbox else float('nan'):.2f} px (640 input)",
          flush=True)


def pipeline_check(pt: Path, clip: Path) -> None:
    """``run_pipeline`` on CPU with the checkpoint through wardcam's Detector (loads, runs)."""
    from detectors.detector import Detector
    from detectors.pipeline import run_pipeline

    det = Detector(str(pt), "cpu")
    t0 = time.perf_counter()
    res = run_pipeline(clip, det)
    wall = time.perf_counter() - t0
    labels: dict[str, int] = {}
    for ev in res.events:
        labels[ev.label] = labels.get(ev.label, 0) + 1
    print(f"run_pipeline({clip.name}, Detector({pt.name!r}, 'cpu') [{det.backend_name}]): "
          f"error={res.error} events={len(res.events)} {labels} "
          f"{res.duration_s:.1f} s of video in {wall:.1f} s", flush=True)
    if res.error:
        raise SystemExit(f"pipeline failed: {res.error}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--onnx", type=Path, default=ONNX_PATH)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--verify", action="store_true", help="compare with onnxruntime INT8")
    p.add_argument("--per-clip", type=int, default=10, help="frames per shared clip (verify)")
    p.add_argument("--pipeline-clip", type=Path, default=FOOTAGE / "driveway_ir_night.mp4")
    args = p.parse_args(argv)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    model = build(args.onnx)
    out = save(model, args.out)
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB): dequantized yolov8n "
          f"(from {args.onnx.name}), fp16 checkpoint", flush=True)
    if args.verify:
        share = verify(out, args.onnx, args.per_clip)
        pipeline_check(out, args.pipeline_clip)
        if share < 0.9:
            print(f"agreement {share:.1%} < 90 %", flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
