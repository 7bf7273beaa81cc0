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

    Many CCTV cameras have a strong colour cast (the shared day clips are blue, one of them
    very); without this every dark vehicle in them comes out blue.
    """
    means = frame_bgr[::8, ::8].reshape(-1, 3).mean(axis=0).astype(np.float64) + 1e-6
    grey = float(means.mean())
    g = np.clip(grey / means, 1 / _MAX_GAIN, _MAX_GAIN)
    return (float(g[0]), float(g[1]), float(g[2]))


def frame_lightness(
    frame_bgr: np.ndarray, gains: tuple[float, float, float] | None = None
) -> float:
    """Median CIELAB lightness (0-100) of the white-balanced frame: what "dark" is measured to.

    A black car in the sun can be as light as a grey one in the shade; compared with the
    scene around it (the road, mostly), it is darker.
    """
    small = frame_bgr[::8, ::8]
    if gains is not None:
        small = _balance(small, gains)
    lab = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_BGR2LAB)
    return float(np.median(lab[..., 0])) * 100.0 / 255.0


def _balance(img: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    out = img.astype(np.float32) * np.asarray(gains, np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


# Each chromatic colour of the palette by the CIELAB hue angle of its sRGB primary; a pixel
# takes the nearest (magenta counts as red, cyan falls to green or blue by distance).
_HUES: tuple[tuple[str, float], ...] = (
    ("red", 40.0),
    ("red", 328.0),
    ("brown", 67.0),  # orange; brown is a dark orange
    ("yellow", 102.0),
    ("green", 136.0),
    ("blue", 306.0),
)
_MAX_GAIN = 3.0
# A pixel is coloured when its CIELAB chroma reaches this (less for dark pixels, whose chroma
# is small whatever their paint) …
_MIN_CHROMA = 18.0
# … and a vehicle is that colour when that many of its body pixels are. Blue needs more: sky
# reflections and a leftover cast turn silver and black blue.
_MIN_SHARE = 0.2
_MIN_SHARE_BLUE = 0.4
# Achromatic vehicles by lightness relative to the scene: black when the body's median is
# below this share of the frame's, or its darker quarter below the second …
_BLACK_MEDIAN = 0.7
_BLACK_QUARTER = 0.45
# … white when above this share, or light in absolute terms.
_WHITE_MEDIAN = 1.15
_WHITE_L = 60.0
_DEFAULT_SCENE_L = 50.0
# A two-wheeler is mostly its rider (clothes, hair, helmet), its seat and its tyres: its paint is
# a minority of the box, so a white scooter's median and darker quarter are a black one's. What
# tells them apart is the bright part: white when this share of the body is at least this much
# lighter than the scene (the labelled black motorbikes: a tenth had 7 % or more, half 3 %; the
# white ones: a tenth 12 % or less, half 17 %).
_TWO_WHEEL_BRIGHT = 1.6
_TWO_WHEEL_BRIGHT_SHARE = 0.10


def dominant_color(
    crop_bgr: np.ndarray,
    frame_is_greyscale: bool = False,
    gains: tuple[float, float, float] | None = None,
    scene_lightness: float | None = None,
    two_wheeler: bool = False,
) -> str:
    """Body colour of a vehicle crop (BGR), one of :data:`PALETTE`.

    ``frame_is_greyscale``: the crop comes from a frame where colour cannot be told (see
    :func:`colour_unreliable`); the answer is then ``unknown``.  ``gains``: the frame's white
    balance (:func:`frame_gains`), applied to the crop first.  ``scene_lightness``: the
    frame's :func:`frame_lightness` (default: mid grey), which black and white are judged by.
    ``two_wheeler``: the crop is a motorcycle or bicycle (and its rider): white is judged by
    its bright part before black by its dark part.

    Looks at the central part of the box (the body, not the road around it) in CIELAB: a
    colour wins when a fair share of the body has clear chroma of its hue (windows, tyres and
    shadows are grey or black on every car); otherwise the body's lightness against the scene
    says black, grey or white.
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
        body = _balance(body, gains)
    lab = cv2.cvtColor(np.ascontiguousarray(body), cv2.COLOR_BGR2LAB).reshape(-1, 3)
    light = lab[:, 0].astype(np.float32) * (100.0 / 255.0)
    a = lab[:, 1].astype(np.float32) - 128.0
    b = lab[:, 2].astype(np.float32) - 128.0
    chroma = np.hypot(a, b)
    need = np.maximum(4.0, _MIN_CHROMA * np.minimum(1.0, light / 40.0))
    coloured = (chroma >= need) & (light >= 8.0)
    n = len(light)
    if coloured.any():
        hue = np.degrees(np.arctan2(b[coloured], a[coloured])) % 360.0
        anchors = np.asarray([deg for _, deg in _HUES], np.float32)
        dist = np.abs(hue[:, None] - anchors[None, :])
        nearest = np.minimum(dist, 360.0 - dist).argmin(axis=1)
        counts: dict[str, int] = {}
        for k, (name, _) in enumerate(_HUES):
            counts[name] = counts.get(name, 0) + int((nearest == k).sum())
        best = max(counts, key=lambda k: counts[k])
        share = _MIN_SHARE_BLUE if best == "blue" else _MIN_SHARE
        if counts[best] >= share * n:
            return best
    scene = scene_lightness if scene_lightness and scene_lightness > 1.0 else _DEFAULT_SCENE_L
    median = float(np.median(light))
    if two_wheeler and (light >= _TWO_WHEEL_BRIGHT * scene).mean() >= _TWO_WHEEL_BRIGHT_SHARE:
        return "white"
    if median < _BLACK_MEDIAN * scene or float(np.percentile(light, 25)) < _BLACK_QUARTER * scene:
        return "black"
    if median >= _WHITE_MEDIAN * scene or median >= _WHITE_L:
        return "white"
    return "grey"
