"""Vehicle colour on synthetic crops, and the night / IR rule."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detectors import PALETTE, dominant_color, frame_gains, is_greyscale


def _solid(bgr: tuple[int, int, int], size: tuple[int, int] = (60, 100)) -> np.ndarray:
    img = np.zeros((*size, 3), np.uint8)
    img[:] = bgr
    return img


@pytest.mark.parametrize(
    ("bgr", "name"),
    [
        ((255, 255, 255), "white"),
        ((235, 238, 240), "white"),
        ((10, 10, 10), "black"),
        ((40, 40, 40), "black"),
        ((128, 128, 128), "grey"),
        ((30, 30, 200), "red"),
        ((200, 60, 20), "blue"),
        ((40, 160, 40), "green"),
        ((20, 220, 230), "yellow"),
        ((20, 120, 230), "brown"),  # orange
        ((30, 60, 110), "brown"),
    ],
)
def test_solid_colours(bgr: tuple[int, int, int], name: str) -> None:
    assert dominant_color(_solid(bgr)) == name


def test_car_body_with_windows_and_tyres() -> None:
    crop = _solid((30, 30, 200), (100, 160))  # red body
    crop[10:35, 30:130] = (40, 40, 40)  # windscreen
    crop[85:, 10:40] = (5, 5, 5)  # tyres
    crop[85:, 120:150] = (5, 5, 5)
    assert dominant_color(crop) == "red"


def test_greyscale_frame_gives_unknown() -> None:
    assert dominant_color(_solid((30, 30, 200)), frame_is_greyscale=True) == "unknown"
    grey = cv2.cvtColor(
        cv2.cvtColor(
            np.random.default_rng(1).integers(0, 255, (90, 160, 3), np.uint8), cv2.COLOR_BGR2GRAY
        ),
        cv2.COLOR_GRAY2BGR,
    )
    assert is_greyscale(grey)
    colourful = np.random.default_rng(2).integers(0, 255, (90, 160, 3), np.uint8)
    assert not is_greyscale(colourful)


def test_tiny_crop_is_unknown() -> None:
    assert dominant_color(np.zeros((2, 2, 3), np.uint8)) == "unknown"


def test_palette() -> None:
    assert set(PALETTE) >= {
        "white",
        "black",
        "grey",
        "red",
        "blue",
        "green",
        "yellow",
        "brown",
        "unknown",
    }


def test_white_balance_removes_a_colour_cast() -> None:
    cast = np.array([1.5, 1.0, 0.75])  # a blue-tinted camera (BGR gains)
    scene = np.random.default_rng(3).integers(40, 200, (90, 160, 3)).astype(np.float64)
    scene[:] = scene.mean(axis=2, keepdims=True)  # a neutral scene …
    frame = np.clip(scene * cast, 0, 255).astype(np.uint8)  # … seen through the cast
    grey_car = np.clip(np.full((60, 100, 3), 90.0) * cast, 0, 255).astype(np.uint8)
    assert dominant_color(grey_car) == "blue"
    assert dominant_color(grey_car, gains=frame_gains(frame)) in {"grey", "black"}
