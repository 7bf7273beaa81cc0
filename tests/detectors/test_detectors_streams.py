"""Main-stream footage (a 1080p H.265 rendition made here) and dual-stream cameras."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import pytest

from detectors import Detector, Event, PipelineResult, run_pipeline
from detectors.tracker import iou

from .assets import STREET

pytestmark = pytest.mark.slow


def _encode_1080p_h265(src: Path, dst: Path, gop_s: float = 2.0) -> Path:
    """``src`` upscaled to 1080p, H.265 at about 3 Mbit/s with a fixed GOP (an NVR export)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        rate = Fraction(vin.average_rate or 25)
        gop = round(float(rate) * gop_s)
        vout = out.add_stream("libx265", rate=rate)
        vout.width, vout.height, vout.pix_fmt = 1920, 1080, "yuv420p"
        vout.codec_context.bit_rate = 3_000_000
        vout.options = {
            "preset": "ultrafast",
            "x265-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:bframes=0"
                           ":log-level=error",
        }
        for i, frame in enumerate(inp.decode(vin)):
            big = frame.reformat(width=1920, height=1080, format="yuv420p")
            big.pts = i
            big.time_base = 1 / rate
            for packet in vout.encode(big):
                out.mux(packet)
        for packet in vout.encode():
            out.mux(packet)
    return dst


@pytest.fixture(scope="module")
def main_stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _encode_1080p_h265(STREET, tmp_path_factory.mktemp("main") / "street_1080p.mp4")


@pytest.fixture(scope="module")
def sub_stream(detector: Detector) -> PipelineResult:
    return run_pipeline(STREET, detector)


def _presence(events: list[Event], duration: float) -> set[tuple[int, str]]:
    return {
        (sec, e.label)
        for e in events
        for sec in range(math.floor(e.start_s), math.ceil(duration))
        if e.start_s < sec + 1 and e.end_s > sec
    }


def test_main_stream_h265_decodes_only_what_sampling_needs(
    detector: Detector, main_stream: Path, sub_stream: PipelineResult
) -> None:
    with av.open(str(main_stream)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.codec_context.width, s.codec_context.height) == (
            "hevc", 1920, 1080)
    result = run_pipeline(main_stream, detector)
    assert result.ok, result.error
    assert (result.width, result.height) == (1920, 1080)
    stats = result.decode
    assert stats.gops >= 3
    # the tail of a 2 s GOP after its last sample is never decoded
    assert stats.gops_cut >= 2
    assert stats.packets_decoded <= stats.packets - stats.gops_cut
    assert result.frames_decoded >= result.frames_total - 2  # … but the whole file was read
    # the same index as from the sub-stream, in 1080p pixels
    assert {"car", "bus", "motorcycle", "person"} <= {e.label for e in result.events}
    assert max(e.box[2] for e in result.events) > 700
    for e in result.events:
        assert 0 <= e.box[0] < e.box[2] <= 1921 and 0 <= e.box[1] < e.box[3] <= 1081
        assert (e.frame_width, e.frame_height) == (1920, 1080)
    main = _presence(result.events, result.duration_s)
    sub = _presence(sub_stream.events, sub_stream.duration_s)
    assert len(main & sub) >= 0.8 * len(main | sub)


def test_dual_stream_events_in_record_pixels_and_clock(
    detector: Detector, main_stream: Path, sub_stream: PipelineResult
) -> None:
    """Detection on the detect stream (640x360), events for the record stream (1920x1080) that
    starts 12.5 s earlier on the shared clock."""
    dual = run_pipeline(STREET, detector, record_size=(1920, 1080), time_offset_s=12.5)
    assert dual.ok
    assert (dual.width, dual.height) == (1920, 1080)
    assert len(dual.events) == len(sub_stream.events)
    for d, s in zip(dual.events, sub_stream.events, strict=True):
        assert d.label == s.label and d.track_id == s.track_id
        assert d.start_s == pytest.approx(s.start_s + 12.5)
        assert d.end_s == pytest.approx(s.end_s + 12.5)
        assert d.best_s == pytest.approx(s.best_s + 12.5)
        assert d.box == pytest.approx(tuple(v * 3 for v in s.box))
        assert (d.frame_width, d.frame_height) == (1920, 1080)
    # and they land where detection on the record stream itself puts the same objects
    record = run_pipeline(main_stream, detector)
    matched = 0
    for d in dual.events:
        for r in record.events:
            overlap = min(d.end_s - 12.5, r.end_s) - max(d.start_s - 12.5, r.start_s)
            if r.label == d.label and overlap > 0 and iou(r.box, d.box) >= 0.3:
                matched += 1
                break
    assert matched >= 0.7 * len(dual.events)


def test_same_input_same_events_with_per_scene_sampling(
    detector: Detector, sub_stream: PipelineResult
) -> None:
    """The per-scene sample rate is decided from what was tracked, never from thread timing:
    a second run gives the same samples and events."""
    again = run_pipeline(STREET, detector)
    assert again.samples == sub_stream.samples
    assert [e.to_dict() for e in again.events] == [e.to_dict() for e in sub_stream.events]
    assert again.plans == sub_stream.plans
