"""Vehicle colour: a small named palette, and ``unknown`` for night / IR (greyscale) footage."""

from __future__ import annotations

import cv2
import numpy as np

from .vocab import COLOURS

#: The palette: what ``Event.color`` can be (``None`` for people).
PALETTE: tuple[str, ...] = COLOURS

# Mean per-pixel channel spread (max-min of B, G, R) of a whole frame below which it is
# treated as greyscale (IR night mode, monochrome cameras).
_GREYSCALE_SPREAD = 8.0
# Mean brightness (0-255) of a whole frame below which colours cannot be told (night).
_TOO_DARK = 40.0


def is_greyscale(frame_bgr: np.ndarray) -> bool:
    """True for IR / monochrome frames: (almost) no chroma anywhere."""
    small = frame_bgr[::8, ::8]
    if small.size == 0:
        return True
    b = small[..., 0].astype(np.int16)
    g = small[..., 1].astype(np.int16)
    r = small[..., 2].astype(np.int16)
    spread = np.maximum(np.maximum(b, g), r) - np.minimum(np.minimum(b, g), r)
    return float(spread.mean()) < _GREYSCALE_SPREAD


def colour_unreliable(frame_bgr: np.ndarray) -> bool:
    """True when vehicle colours cannot be told in this frame: IR / greyscale, or too dark."""
    if is_greyscale(frame_bgr):
        return True
    return float(frame_bgr[::8, ::8].mean()) < _TOO_DARK


def frame_gains(frame_bgr: np.ndarray) -> tuple[float, float, float]:
    """Grey-world white balance of a frame: per-channel gains that make its mean neutral.

    Many CCTV cameras have a strong colour cast (the shared day clips are blue); without this
    every dark vehicle in them comes out blue.
    """
    means = frame_bgr[::8, ::8].reshape(-1, 3).mean(axis=0).astype(np.float64) + 1e-6
    grey = float(means.mean())
    g = np.clip(grey / means, 0.5, 2.0)
    return (float(g[0]), float(g[1]), float(g[2]))


def dominant_color(
    crop_bgr: np.ndarray,
    frame_is_greyscale: bool = False,
    gains: tuple[float, float, float] | None = None,
) -> str:
    """Dominant body colour of a vehicle crop (BGR), one of :data:`PALETTE`.

    ``frame_is_greyscale``: the crop comes from a frame where colour cannot be told (see
    :func:`colour_unreliable`); the answer is then ``unknown``.  ``gains``: the frame's white
    balance (:func:`frame_gains`), applied to the crop first.

    Looks at the central part of the box (the body, not the road around it), classifies each
    pixel by HSV into the palette and returns the most common colour; chromatic colours win
    over the achromatic ones when they cover a fair share of the body, since windows, tyres and
    shadows are grey or black on every car.
    """
    if frame_is_greyscale:
        return "unknown"
    h, w = crop_bgr.shape[:2]
    if h < 4 or w < 4:
        return "unknown"
    body = crop_bgr[int(h * 0.2) : max(int(h * 0.2) + 1, int(h * 0.85)),
                    int(w * 0.15) : max(int(w * 0.15) + 1, int(w * 0.85))]
    if body.shape[0] * body.shape[1] > 64 * 64:
        body = cv2.resize(body, (64, 64), interpolation=cv2.INTER_AREA)
    if gains is not None:
        body = np.clip(body.astype(np.float32) * np.asarray(gains, np.float32), 0, 255).astype(
            np.uint8
        )
    hsv = cv2.cvtColor(np.ascontiguousarray(body), cv2.COLOR_BGR2HSV).reshape(-1, 3)
    hue = hsv[:, 0].astype(np.int32) * 2  # degrees
    sat = hsv[:, 1].astype(np.int32)
    val = hsv[:, 2].astype(np.int32)
    chroma = (sat >= 70) & (val >= 50)
    counts: dict[str, int] = {}
    n = len(hue)
    counts["black"] = int(((val < 50)).sum())
    achrom = ~chroma & (val >= 50)
    counts["white"] = int((achrom & (val >= 150) & (sat < 40)).sum())
    counts["grey"] = int((achrom & ~((val >= 150) & (sat < 40))).sum())
    hc = hue[chroma]
    counts["red"] = int(((hc < 12) | (hc >= 340)).sum())
    orange = (hc >= 12) & (hc < 45)
    counts["brown"] = int(orange.sum())
    counts["yellow"] = int(((hc >= 45) & (hc < 70)).sum())
    counts["green"] = int(((hc >= 70) & (hc < 170)).sum())
    counts["blue"] = int(((hc >= 170) & (hc < 260)).sum())
    counts["red"] += int(((hc >= 260) & (hc < 340)).sum())  # magenta/purple → red family
    chromatic = {k: counts[k] for k in ("red", "brown", "yellow", "green", "blue")}
    best_chroma = max(chromatic, key=lambda k: chromatic[k])
    if chromatic[best_chroma] >= 0.25 * n:
        return best_chroma
    achromatic = {k: counts[k] for k in ("white", "grey", "black")}
    return max(achromatic, key=lambda k: achromatic[k])
