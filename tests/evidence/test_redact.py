"""Redaction of real footage: given boxes, and the real person detector when it is there."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from detectors.rotation import display_turns
from evidence.cut import ClipResult, SourceSegment, cut_clip
from evidence.hashing import sha256_file
from evidence.redact import Box, _Tracks, grow, interval_boxes, redact_clip
from tests.detectors.assets import damaged_copy, turned_copy
from tests.evidence.conftest import MODELS


def gray_frames(path: Path) -> tuple[list[np.ndarray], list[int]]:
    frames, pts = [], []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="gray"))
            pts.append(int(f.pts or 0))
    return frames, pts


def bgr_frames(path: Path) -> list[np.ndarray]:
    """The frames as a player shows them: upright where the file has a display rotation."""
    with av.open(str(path)) as c:
        return [
            np.ascontiguousarray(np.rot90(f.to_ndarray(format="bgr24"), display_turns(f.rotation)))
            for f in c.decode(video=0)
        ]


def detail_kept(orig: np.ndarray, out: np.ndarray) -> float:
    """Correlation of the fine detail (high-pass) of two patches: ~1 the same picture,
    ~0 the detail of the original is gone."""
    a = orig.astype(np.float64)
    b = out.astype(np.float64)
    a = (a - cv2.GaussianBlur(a, (0, 0), 2.0)).ravel()
    b = (b - cv2.GaussianBlur(b, (0, 0), 2.0)).ravel()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-9))


@pytest.fixture(scope="module")
def clip(segments: list[SourceSegment], tmp_path_factory: pytest.TempPathFactory) -> ClipResult:
    tmp = tmp_path_factory.mktemp("redact")
    start = segments[0].start + timedelta(seconds=0.5)
    return cut_clip(segments, start, start + timedelta(seconds=3), tmp / "clip.mp4")


def moving_box(i: int, t: float) -> list[Box]:
    """A box that walks right 2 px per frame, plus a fixed one."""
    return [(120.0 + 2 * i, 170.0, 200.0 + 2 * i, 300.0), (400.0, 260.0, 470.0, 380.0)]


def test_given_boxes_are_pixelated(clip: ClipResult, tmp_path: Path) -> None:
    before = sha256_file(clip.path)
    out = tmp_path / "clip_redacted.mp4"
    res = redact_clip(clip.path, out, boxes=moving_box, margin=0.0)
    assert sha256_file(clip.path) == before == clip.sha256, "the clip must be untouched"
    assert res.source_sha256 == before and res.sha256 == sha256_file(out)

    orig, opts = gray_frames(clip.path)
    red, rpts = gray_frames(out)
    assert len(red) == len(orig) == res.frames == clip.packets
    assert rpts == opts, "same timestamps, frame for frame"
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264"
        dur = float(s.duration * s.time_base)
    assert abs(dur - clip.duration_s) < 0.05

    for i in range(0, len(orig), 7):
        for x1, y1, x2, y2 in (tuple(int(v) for v in b) for b in moving_box(i, 0.0)):
            a = orig[i][y1 + 2 : y2 - 2, x1 + 2 : x2 - 2]
            b = red[i][y1 + 2 : y2 - 2, x1 + 2 : x2 - 2]
            assert detail_kept(a, b) < 0.3, f"frame {i}: box still shows detail"
            assert np.abs(a.astype(int) - b).mean() > 8
        # far from both boxes: only the encoder's small differences
        far_a = orig[i][:120, 500:]
        far_b = red[i][:120, 500:]
        assert np.abs(far_a.astype(int) - far_b).mean() < 3.0
        assert detail_kept(far_a, far_b) > 0.9
    assert res.frames_redacted == res.frames
    assert res.derivation()["source_sha256"] == before


def test_a_turned_clip_is_redacted_where_a_player_shows_the_boxes(
    clip: ClipResult, tmp_path: Path
) -> None:
    """A clip stored on its side with a display rotation (a phone's): boxes are in the upright
    picture a player shows, and the redacted clip keeps the rotation."""
    turned = turned_copy(clip.path, tmp_path / "turned.mp4")
    res = redact_clip(turned, tmp_path / "r.mp4", boxes=moving_box, margin=0.0)
    with av.open(str(res.path)) as c:
        first = next(c.decode(video=0))
        assert display_turns(first.rotation) == 1, "the rotation must be kept"
    orig = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in bgr_frames(turned)]
    red = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in bgr_frames(res.path)]
    assert len(orig) == len(red) == res.frames and orig[0].shape == red[0].shape
    assert orig[0].shape[1] > orig[0].shape[0], "upright: wider than tall, as the clip"
    for i in range(0, len(orig), 7):
        for x1, y1, x2, y2 in (tuple(int(v) for v in b) for b in moving_box(i, 0.0)):
            a = orig[i][y1 + 2 : y2 - 2, x1 + 2 : x2 - 2]
            b = red[i][y1 + 2 : y2 - 2, x1 + 2 : x2 - 2]
            assert detail_kept(a, b) < 0.3, f"frame {i}: box still shows detail"
        assert detail_kept(orig[i][:120, 500:], red[i][:120, 500:]) > 0.9


def test_a_clip_with_damaged_packets_is_still_redacted(clip: ClipResult, tmp_path: Path) -> None:
    """Packets the decoder refuses are skipped and said in the derivation; every frame that
    decodes is redacted and delivered (before, the whole redaction failed)."""
    damaged = damaged_copy(clip.path, tmp_path / "damaged.mp4", at_s=1.0, packets=2)
    box = (400.0, 260.0, 470.0, 380.0)
    res = redact_clip(damaged, tmp_path / "r.mp4", boxes=lambda i, t: [box], margin=0.0)
    assert res.damaged_packets == 2
    assert res.derivation()["source_damaged_packets_skipped"] == 2
    orig, opts = gray_frames(clip.path)
    red, rpts = gray_frames(res.path)
    assert len(red) == res.frames == len(orig) - 2 and set(rpts) < set(opts)
    by_pts = dict(zip(opts, orig, strict=True))
    x1, y1, x2, y2 = (int(v) for v in box)
    for pts, frame in zip(rpts, red, strict=True):
        a = by_pts[pts][y1 + 2 : y2 - 2, x1 + 2 : x2 - 2]
        assert detail_kept(a, frame[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2]) < 0.3
    whole = redact_clip(clip.path, tmp_path / "whole.mp4", boxes=lambda i, t: [])
    assert whole.damaged_packets == 0


def test_no_boxes_is_a_faithful_reencode(clip: ClipResult, tmp_path: Path) -> None:
    res = redact_clip(clip.path, tmp_path / "r.mp4", boxes=lambda i, t: [])
    orig, _ = gray_frames(clip.path)
    red, _ = gray_frames(res.path)
    assert res.frames_redacted == 0 and len(red) == len(orig)
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(orig, red, strict=True)) < 3.0


def test_bad_arguments(clip: ClipResult, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        redact_clip(clip.path, tmp_path / "x.mp4")
    with pytest.raises(ValueError):
        redact_clip(clip.path, tmp_path / "x.mp4", boxes=moving_box, detector=object())  # type: ignore[arg-type]
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    from evidence.errors import RedactError

    with pytest.raises(RedactError):
        redact_clip(bad, tmp_path / "y.mp4", boxes=moving_box)
    assert not (tmp_path / "y.mp4").exists()


def test_interval_hull_covers_motion() -> None:
    a: list[Box] = [(0, 0, 10, 20), (100, 100, 110, 120)]
    b: list[Box] = [(30, 0, 40, 20)]  # the first person moved right; the second vanished
    boxes = interval_boxes(a, b)
    assert (0, 0, 40, 20) in boxes  # hull of the matched pair covers every position between
    assert (100, 100, 110, 120) in boxes  # unmatched: held over the interval
    appear = interval_boxes([], b)
    assert appear == b
    assert grow((10, 10, 20, 30), 0.5, 25, 100) == (5, 0, 25, 40)


def test_tracks_hold_missed_detections() -> None:
    t = _Tracks(max_missed=1)
    assert t.update([(0, 0, 10, 10)]) == [(0, 0, 10, 10)]
    assert t.update([]) == [(0, 0, 10, 10)]  # missed once: held
    assert t.update([]) == []  # missed twice: dropped
    t.update([(0, 0, 10, 10)])
    assert t.update([(2, 0, 12, 10)]) == [(2, 0, 12, 10)]  # matched: moved, not duplicated


HAVE_DETECTOR = importlib.util.find_spec("detectors.detector") is not None


def _detector():  # type: ignore[no-untyped-def]
    from detectors import Detector

    ov = MODELS / "yolo11n_int8_openvino_model"
    if importlib.util.find_spec("openvino") is not None and ov.is_dir():
        return Detector(ov, "cpu")
    return Detector(MODELS / "yolov8n_int8.onnx", "cpu")


@pytest.mark.skipif(not HAVE_DETECTOR, reason="detectors.Detector not available")
@pytest.mark.parametrize("turned", [False, True], ids=["upright", "turned"])
def test_detector_persons_are_pixelated(
    bframe_segments: list[SourceSegment], tmp_path: Path, turned: bool
) -> None:
    """Riders waiting at a light: every person the detector finds in the *original* frames
    (checked on frames between detector samples too) is pixelated in the output; also where
    the clip is stored on its side with a display rotation (the detector must see it upright,
    as the player shows it)."""
    det = _detector()
    seg = bframe_segments[0]
    clip = cut_clip(
        bframe_segments,
        seg.start + timedelta(seconds=0.2),
        seg.start + timedelta(seconds=2.5),
        tmp_path / "c.mp4",
    )
    source = turned_copy(clip.path, tmp_path / "t.mp4") if turned else clip.path
    res = redact_clip(source, tmp_path / "r.mp4", detector=det, sample_fps=2.0)
    assert res.samples >= 5 and res.frames == clip.packets
    assert sha256_file(clip.path) == clip.sha256
    orig = bgr_frames(source)
    red = bgr_frames(res.path)
    assert len(orig) == len(red)
    checked = 0
    for i in (7, 22, 38, 52):  # not sample frames (those are every 15th)
        persons = [
            d for d in det.detect([orig[i]])[0] if d.label == "person" and d.confidence >= 0.5
        ]
        for d in persons:
            x1, y1, x2, y2 = (int(v) for v in d.box)
            if (x2 - x1) < 12 or (y2 - y1) < 12:
                continue
            a = cv2.cvtColor(orig[i][y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
            b = cv2.cvtColor(red[i][y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
            assert detail_kept(a, b) < 0.3, f"frame {i}: person at {d.box} not blurred"
            checked += 1
    assert checked >= 4, "the footage has riders: the check must have looked at some"
    assert res.derivation()["parameters"]["detector"]["class"] == "Detector"


def test_merge_and_pixelate_leave_no_detail() -> None:
    from evidence.redact import _pixelate, merge_boxes

    assert merge_boxes([(0, 0, 10, 10), (5, 5, 20, 20), (30, 30, 40, 40)]) == [
        (0, 0, 20, 20),
        (30, 30, 40, 40),
    ]
    assert merge_boxes([(0, 0, 10, 10), (20, 0, 30, 10), (8, 0, 22, 5)]) == [(0, 0, 30, 10)]
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (50, 37), dtype=np.uint8)
    region = img[3:46, 2:35]  # 43 x 33: not a multiple of the block
    _pixelate(region, 8)
    for y in range(0, 43, 8):  # every 8x8 block (and the leftover strips) is flat
        for x in range(0, 33, 8):
            assert np.ptp(region[y : y + 8, x : x + 8]) == 0 or y >= 40 or x >= 32
    assert np.ptp(region[40:, :8]) == 0 and np.ptp(region[:8, 32:]) == 0
