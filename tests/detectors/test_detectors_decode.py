"""Frame conversion for the pipeline: :func:`detectors.decode.to_bgr` against PyAV's own."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np

from detectors.decode import to_bgr

from .assets import NIGHT, STREET, VN_INTERSECTION


def _frames(path: Path, every: int = 9, n: int = 6) -> list[av.VideoFrame]:
    out: list[av.VideoFrame] = []
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i % every == 0:
                out.append(frame)
            if len(out) >= n:
                break
    assert len(out) == n, f"{path.name}: too few frames"
    return out


def test_same_pixels_as_pyav_at_full_size_and_shrunk() -> None:
    # three sources of different sizes interleaved in one thread: each keeps its own context
    sources = [_frames(p) for p in (STREET, VN_INTERSECTION, NIGHT)]
    for frames in zip(*sources, strict=True):
        for frame in frames:
            full = to_bgr(frame)
            assert full.shape == (frame.height, frame.width, 3)
            assert np.array_equal(full, frame.to_ndarray(format="bgr24"))
            w, h = frame.width // 3 // 2 * 2, frame.height // 3 // 2 * 2
            small = to_bgr(frame, w, h)
            expected = frame.reformat(
                width=w, height=h, format="bgr24", interpolation="BILINEAR"
            ).to_ndarray()
            assert small.shape == (h, w, 3)
            assert np.array_equal(small, expected)


def test_threads_convert_side_by_side() -> None:
    frames = _frames(VN_INTERSECTION, every=3, n=12)
    expected = [f.to_ndarray(format="bgr24") for f in frames]
    results: dict[int, list[bool]] = {}

    def work(k: int) -> None:
        pairs = list(zip(frames, expected, strict=True))
        results[k] = [np.array_equal(to_bgr(f), e) for _ in range(3) for f, e in pairs]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2]
    assert all(all(r) for r in results.values())
