"""Rectangular inputs for a static YOLOv8/YOLO11 OpenVINO export.

The pipeline's model inputs are mostly not square: a 640x360 frame letterboxed into 640x640
spends 44 % of the inference on grey padding, a 640x480 one 25 %.  The network itself is fully
convolutional, but a static export bakes its input size into a few constants, so that
OpenVINO's ``Model.reshape`` refuses another shape: the reshapes of YOLO11's attention block
(``[1, 2, 128, 400]``, ``[1, 128, 20, 20]`` at 640), the head's DFL reshapes
(``[1, 4, 16, 8400]``, ``[1, 4, 8400]``) and the anchor points and strides of the box decoder
(``[1, 2, 8400]``, ``[1, 1, 8400]``).  :func:`reshape_ir` rewrites exactly those for an
``H x W`` input (multiples of 32) and reshapes the model; anything it does not recognise
raises :class:`ValueError` and the caller keeps the square input.

The output keeps the head's layout, ``(1, 4 + classes, anchors)`` with boxes already decoded to
input pixels, so :func:`detectors.detector.decode_yolo_output` reads it unchanged; only the
number of anchors differs (5,040 for 384x640 instead of 8,400).
"""

from __future__ import annotations

from typing import Any

import numpy as np

STRIDES = (8, 16, 32)


def anchors(height: int, width: int) -> int:
    """Anchors of the head on a ``height`` x ``width`` input."""
    return sum((height // s) * (width // s) for s in STRIDES)


def anchor_points(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(2, anchors) grid-cell centres and (anchors,) strides, in ultralytics' order."""
    points, strides = [], []
    for s in STRIDES:
        gh, gw = height // s, width // s
        sy, sx = np.meshgrid(np.arange(gh) + 0.5, np.arange(gw) + 0.5, indexing="ij")
        points.append(np.stack([sx.ravel(), sy.ravel()]))
        strides.append(np.full(gh * gw, s))
    return (np.concatenate(points, axis=1).astype(np.float32),
            np.concatenate(strides).astype(np.float32))


def _reshape_target(values: list[int], size: int, height: int, width: int) -> list[int]:
    a_old, a_new = anchors(size, size), anchors(height, width)
    g, gh, gw = size // 32, height // 32, width // 32
    out: list[int] = []
    i = 0
    while i < len(values):
        v = values[i]
        if v == a_old:
            out.append(a_new)
        elif v == g and i + 1 < len(values) and values[i + 1] == g:
            out += [gh, gw]
            i += 1
        elif v == g * g and i >= 2:
            out.append(gh * gw)
        else:
            out.append(v)
        i += 1
    return out


def reshape_ir(model: Any, size: int, height: int, width: int) -> Any:
    """Rewrite a static ``size`` x ``size`` YOLO IR (``openvino.Model``, NCHW input) in place
    for ``height`` x ``width``; returns it.  Raises ``ValueError`` when the graph is not the
    one this knows (the anchor constants are checked against ultralytics' grid)."""
    import openvino as ov
    import openvino.opset13 as ops

    if height % 32 or width % 32 or height <= 0 or width <= 0:
        raise ValueError(f"input {height}x{width} is not a multiple of 32")
    a_old = anchors(size, size)
    points, strides = anchor_points(size, size)
    new_points, new_strides = anchor_points(height, width)
    found_points = found_strides = False
    replacements: list[tuple[Any, np.ndarray]] = []
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Constant":
            continue
        shape = list(op.get_output_shape(0))
        data = np.asarray(op.get_data())
        if shape == [1, 2, a_old]:
            if not np.allclose(data.reshape(2, a_old), points):
                raise ValueError("anchor points are not ultralytics' grid")
            replacements.append((op, new_points[None].astype(data.dtype)))
            found_points = True
        elif shape == [1, 1, a_old]:
            if not np.allclose(data.reshape(a_old), strides):
                raise ValueError("strides are not 8/16/32")
            replacements.append((op, new_strides[None, None].astype(data.dtype)))
            found_strides = True
        elif len(shape) == 1 and any(
            t.get_node().get_type_name() == "Reshape" and t.get_index() == 1
            for t in op.output(0).get_target_inputs()
        ):
            values = [int(v) for v in data]
            target = _reshape_target(values, size, height, width)
            if target != values:
                replacements.append((op, np.asarray(target, dtype=data.dtype)))
    if not (found_points and found_strides):
        raise ValueError("no anchor constants: not a YOLOv8/YOLO11 detection head")
    for op, value in replacements:
        const = ops.constant(value)
        for target in list(op.output(0).get_target_inputs()):
            target.replace_source_output(const.output(0))
    # Model.reshape validates the old constants against the new shape first: set the input
    # shape and infer the types once everything is rewritten
    model.get_parameters()[0].set_partial_shape(ov.PartialShape([1, 3, height, width]))
    model.validate_nodes_and_infer_types()
    out = list(model.outputs[0].get_partial_shape().to_shape())
    if anchors(height, width) not in out:
        raise ValueError(f"reshaped output {out} has not {anchors(height, width)} anchors")
    return model
