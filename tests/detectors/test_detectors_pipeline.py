"""The indexing pipeline on real footage: events, thumbnails, colour, bad input, motion gate."""

from __future__ import annotations

import io
from collections import Counter
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from detectors import PALETTE, Detector, Event, PipelineConfig, PipelineResult, run_pipeline
from detectors.detector import VEHICLE_LABELS
from detectors.tracker import SparseTracker

from .assets import NIGHT, STREET, damaged_copy, turned_copy

StreetRun = tuple[PipelineResult, list[tuple[int, int]]]


def _check_event(ev: Event, duration: float) -> None:
    assert 0.0 <= ev.start_s <= ev.best_s <= ev.end_s <= duration + 1e-6
    assert 0.0 < ev.confidence <= 1.0
    x1, y1, x2, y2 = ev.box
    assert 0 <= x1 < x2 <= ev.frame_width and 0 <= y1 < y2 <= ev.frame_height
    img = Image.open(io.BytesIO(ev.thumbnail_jpeg))
    assert img.format == "JPEG"
    img.load()
    assert img.width > 4 and img.height > 4
    if ev.label in VEHICLE_LABELS:
        assert ev.color in PALETTE
    else:
        assert ev.color is None


def test_street_crossing_events(street_result: StreetRun) -> None:
    result, _ = street_result
    assert result.error is None and result.ok
    assert result.frames_total == 172
    assert result.frames_decoded >= 170
    assert result.duration_s == pytest.approx(7.17, abs=0.05)
    assert (result.width, result.height) == (640, 360)
    labels = {e.label for e in result.events}
    assert {"car", "bus", "motorcycle", "person"} <= labels
    for ev in result.events:
        _check_event(ev, result.duration_s)
    # the bus is in view for most of the clip
    bus = max((e for e in result.events if e.label == "bus"), key=lambda e: e.end_s - e.start_s)
    assert bus.end_s - bus.start_s > 3.0
    # a day scene: vehicles get real colours, not "unknown"
    assert any(e.color not in (None, "unknown") for e in result.events)
    # events are sorted by start and keep their ids unique
    assert [e.start_s for e in result.events] == sorted(e.start_s for e in result.events)
    assert len({e.track_id for e in result.events}) == len(result.events)
    assert 0 < result.inferences <= result.samples
    assert result.plans and result.plans[0][1] == "measuring"  # full frames first


def test_progress_is_reported(street_result: StreetRun) -> None:
    result, calls = street_result
    assert len(calls) >= 3
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert all(t == result.frames_total for _, t in calls)
    assert calls[-1] == (result.frames_total, result.frames_total)


def test_event_dict_has_cli_fields(street_result: StreetRun) -> None:
    d = street_result[0].events[0].to_dict()
    assert {"label", "start", "end", "confidence", "color"} <= d.keys()


def test_night_ir_clip(night_result: PipelineResult) -> None:
    result = night_result
    assert result.error is None
    people = [e for e in result.events if e.label == "person"]
    assert people
    walker = max(people, key=lambda e: e.end_s - e.start_s)
    assert walker.confidence >= 0.5
    assert walker.end_s - walker.start_s >= 3.0
    assert walker.end_s <= 9.0  # the walker leaves; the event does not linger to the end
    for ev in result.events:
        _check_event(ev, result.duration_s)
        if ev.label in VEHICLE_LABELS:
            assert ev.color in (None, "unknown")


def test_same_input_same_events(detector: Detector, night_result: PipelineResult) -> None:
    again = run_pipeline(NIGHT, detector)
    assert [e.to_dict() for e in again.events] == [e.to_dict() for e in night_result.events]


def test_truncated_file_keeps_earlier_events(detector: Detector, tmp_path: Path) -> None:
    data = NIGHT.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    result = run_pipeline(cut, detector)
    assert result.failed and result.error
    assert result.error_code in {"decode_error", "truncated"}
    assert 0 < result.frames_decoded < result.frames_total == 178
    assert str(result.frames_decoded) in result.error
    assert any(e.label == "person" for e in result.events)
    for ev in result.events:
        assert ev.end_s <= result.frames_decoded / result.fps + 0.01


def test_not_a_video(detector: Detector, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01 definitely not a video" * 200)
    result = run_pipeline(junk, detector)
    assert result.failed and result.error_code == "unreadable"
    assert result.events == [] and result.frames_decoded == 0


def test_missing_file(detector: Detector, tmp_path: Path) -> None:
    result = run_pipeline(tmp_path / "absent.mp4", detector)
    assert result.failed and result.error_code == "unreadable"


def _write_static_video(path: Path, seconds: int, fps: int = 10) -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(60, 200, (240, 320, 3), np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(base, format="bgr24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_motion_gate_skips_still_video(detector: Detector, tmp_path: Path) -> None:
    video = tmp_path / "still.mp4"
    _write_static_video(video, seconds=10)
    cfg = PipelineConfig(sample_fps=2.0, force_interval_s=2.0)
    gated = run_pipeline(video, detector, cfg)
    assert gated.error is None
    assert gated.samples >= 19
    # one detection every force_interval_s, nothing in between
    assert gated.samples_detected <= 6
    ungated = run_pipeline(video, detector, PipelineConfig(sample_fps=2.0, motion_gate=False))
    assert ungated.samples_detected == ungated.samples


def test_tracker_follows_fast_object_over_sparse_samples() -> None:
    from detectors import Detection

    tr = SparseTracker(high_conf=0.4, max_gap_s=1.0)
    for k in range(6):  # a car moving 80 px per sample, half a second apart
        x = 20 + 80 * k
        tr.update(k * 0.5, [Detection("car", 0.8, (x, 100, x + 90, 150))])
    tracks = tr.finish()
    assert len(tracks) == 1 and len(tracks[0].sightings) == 6


def test_progress_callback_can_cancel(detector: Detector) -> None:
    class Cancelled(Exception):
        pass

    def cancel(done: int, total: int) -> None:
        if done > 30:
            raise Cancelled

    with pytest.raises(Cancelled):
        run_pipeline(NIGHT, detector, progress=cancel)
    # the detector is still usable afterwards
    assert run_pipeline(NIGHT, detector).error is None


def test_hardware_decoding_falls_back_to_software_where_no_gpu_opens() -> None:
    """``hwaccel="cuda"`` on a machine whose CUDA device does not open (this one, in CI) or a
    device type PyAV does not know: the decoder says it decodes in software, and the frames
    are those of plain software decoding."""
    from detectors.decode import Decoder

    def first_frames(dec: Decoder) -> list[np.ndarray]:
        out = []
        for frame in dec.container.decode(dec.stream):
            out.append(frame.to_ndarray(format="gray"))
            if len(out) == 5:
                break
        dec.close()
        return out

    plain = first_frames(Decoder(NIGHT))
    for device in ("cuda", "no-such-device"):
        dec = Decoder(NIGHT, hwaccel=device)
        if device == "cuda" and dec.hwaccel == "cuda":
            dec.close()
            pytest.skip("a CUDA device opened here: this test is about its absence")
        assert dec.hwaccel is None and dec.stats.hwaccel is None
        got = first_frames(dec)
        assert len(got) == 5 and all(np.array_equal(a, b) for a, b in zip(got, plain, strict=True))


def test_hardware_decoding_is_chosen_by_the_environment() -> None:
    assert PipelineConfig.from_env({}).hw_decode is False
    assert PipelineConfig.from_env({"WARDCAM_DETECTOR_HW_DECODE": "1"}).hw_decode is True
    assert PipelineConfig.from_env({"WARDCAM_DETECTOR_HW_DECODE": "0"}).hw_decode is False


def test_a_window_decodes_only_its_part_of_the_file(detector: Detector, tmp_path: Path) -> None:
    """A dual-stream record segment needs only the part of a detect segment that overlaps
    it: the GOPs outside the window are not decoded, events end by its end, and what the
    whole file shows inside the window is found there too."""
    from tests.app.fleet.media import rendition

    from .assets import INTERSECTION

    sub = rendition(INTERSECTION, tmp_path / "sub.mp4", 480, gop_s=2.0)  # 30.3 s
    whole = run_pipeline(sub, detector)
    part = run_pipeline(sub, detector, window=(10.0, 20.0))
    assert whole.error is None and part.error is None, (whole.error, part.error)
    assert part.decode is not None and whole.decode is not None
    # the window's 10 s at 30 fps, and at most one GOP (2 s) more; the whole file: 681
    # frames decoded of 909 (the tails of GOPs after their last sample are skipped)
    assert 0 < part.decode.packets_decoded <= 12 * 30 < whole.decode.packets_decoded, (
        part.decode,
        whole.decode,
    )
    assert part.frames_decoded == whole.frames_decoded  # read to the end: not truncated
    assert part.events
    assert all(e.start_s >= 9.0 and e.end_s <= 20.0 + 1e-6 for e in part.events)
    for e in part.events:
        _check_event(e, 20.0)
    inside = {e.label for e in whole.events if e.start_s < 17.0 and e.end_s > 13.0}
    assert inside and inside <= {e.label for e in part.events}, (inside, part.events)
    with pytest.raises(ValueError, match="empty window"):
        run_pipeline(sub, detector, window=(5.0, 5.0))


def test_a_warm_up_before_a_window_is_context_not_events(
    detector: Detector, tmp_path: Path
) -> None:
    """Looked at from 5 s before the window to 1.5 s after it: the events are those of a
    look at 5-21.45 s, cut to the window: what is in the picture at its start (cars waiting
    at the intersection) is an event from that start, what is still there at its end (the
    sample after it sees them; the last one in it is 0.45 s before it) one to its end, what
    left before it is none."""
    from tests.app.fleet.media import rendition

    from .assets import INTERSECTION

    sub = rendition(INTERSECTION, tmp_path / "sub.mp4", 480, gop_s=2.0)
    longer = run_pipeline(sub, detector, window=(5.0, 21.45))
    warm = run_pipeline(
        sub, detector, window=(10.0, 19.95), warm_up_s=5.0, follow_s=1.5, time_offset_s=-10
    )
    length = 9.95
    assert warm.error is None and warm.events
    assert all(0.0 <= e.start_s < e.end_s <= length + 1e-6 for e in warm.events)
    assert all(e.start_s <= e.best_s <= e.end_s for e in warm.events)

    def spans(events: list[Event], cut: float) -> list[tuple[str, float, float]]:
        return sorted(
            (
                e.label,
                round(max(e.start_s, cut) - cut, 3),
                round(min(e.end_s, cut + length) - cut, 3),
            )
            for e in events
            if e.end_s > cut and e.start_s < cut + length
        )

    assert spans(warm.events, 0.0) == spans(longer.events, 10.0)
    assert len([e for e in warm.events if e.start_s == 0.0]) >= 3
    assert len([e for e in warm.events if e.end_s == pytest.approx(length)]) >= 3
    assert any(e.start_s < 9.0 and e.end_s < 10.0 for e in longer.events)  # gone: no event
    with pytest.raises(ValueError, match="negative warm-up"):
        run_pipeline(sub, detector, window=(10.0, 20.0), warm_up_s=-1.0)
    with pytest.raises(ValueError, match="negative"):
        run_pipeline(sub, detector, window=(10.0, 20.0), follow_s=-1.0)


def test_boxes_stay_inside_the_frame_where_the_models_picture_is_rounded(
    detector: Detector,
) -> None:
    """854x480 goes to the model at 640x360 (0.7494 of it, rounded): boxes the model ran to
    the picture's edge came back 0.4 px past the frame's (2.3 px on 3840x2160), in every
    event of a vehicle at the bottom edge."""
    from .assets import VN_OVERPASS

    result = run_pipeline(VN_OVERPASS, detector)
    assert result.error is None and (result.events[0].frame_width,
                                     result.events[0].frame_height) == (854, 480)
    at_edge = [e for e in result.events if e.box[3] == pytest.approx(480.0)]
    assert len(at_edge) >= 3, [e.box for e in result.events]
    for ev in result.events:
        _check_event(ev, result.duration_s)


def test_what_the_last_sample_sees_runs_to_the_end_of_the_file(detector: Detector) -> None:
    """A segment that ends 0.95 s after its last sample (one a second): every object that a
    look at the whole clip finds across the cut runs to the segment's end; with half a sample
    interval the last 0.45 s before each cut of a live camera's segments was in no event."""
    from .assets import INTERSECTION

    cut = 9.95
    whole = run_pipeline(INTERSECTION, detector)
    part = run_pipeline(INTERSECTION, detector, window=(0.0, cut))
    assert part.error is None
    # in the picture before the last sample and still after the cut
    across = Counter(e.label for e in whole.events if e.start_s < cut - 1.0 and e.end_s > cut)
    assert sum(across.values()) >= 3, whole.events
    at_end = Counter(e.label for e in part.events if e.end_s == pytest.approx(cut))
    assert not across - at_end, (across, at_end)
    assert all(e.end_s <= cut + 1e-6 for e in part.events)


def test_each_event_of_a_window_is_shown_from_inside_it(detector: Detector) -> None:
    """An event's thumbnail and colour come from its best view inside the window indexed:
    every event of these windows has a picture, and every vehicle a colour. The best view of
    a stretch used to be kept for the whole look, warm-up and look past the end included:
    where it fell past the window's end the event had no picture at all (an empty thumbnail
    and the colour ``unknown``: a car waiting through the whole window was not found by a
    search for its colour), where it fell in the warm-up the thumbnail showed the object
    before the segment began."""
    from .assets import VN_INTERSECTION, VN_OVERPASS

    shown = 0
    for clip in (VN_INTERSECTION, VN_OVERPASS):
        for window in ((0.0, 10.0), (6.0, 10.0)):
            looks: list[tuple[float, float]] = []
            result = run_pipeline(clip, detector, window=window, warm_up_s=5.0, follow_s=1.5)
            assert result.error is None and result.events
            for e in result.events:
                picture = Image.open(io.BytesIO(e.thumbnail_jpeg))
                assert min(picture.size) >= 8, (clip.name, window, e.label, e.start_s)
                if e.label in VEHICLE_LABELS:
                    assert e.color not in (None, "unknown"), (clip.name, window, e.label)
                looks.append((e.start_s, e.end_s))
                shown += 1
            assert all(window[0] <= a < b <= window[1] + 1e-6 for a, b in looks)
    assert shown >= 20


def test_a_file_stored_turned_is_indexed_as_players_show_it(
    detector: Detector, street_result: StreetRun, tmp_path: Path
) -> None:
    """A phone stores a clip held the other way on its side, with a display rotation: the
    index must find what it finds in the upright clip, in upright pixels (before, the model
    looked at the pictures on their side and found nothing)."""
    upright, _ = street_result
    turned = run_pipeline(turned_copy(STREET, tmp_path / "turned.mp4"), detector)
    assert turned.error is None
    sizes = {(e.frame_width, e.frame_height) for e in upright.events}
    assert sizes == {(640, 360)}
    for ev in turned.events:
        _check_event(ev, turned.duration_s)
        assert (ev.frame_width, ev.frame_height) in sizes
        if ev.label == "person":  # upright thumbnails: a person is taller than wide
            img = Image.open(io.BytesIO(ev.thumbnail_jpeg))
            assert img.height > img.width, f"person thumbnail {img.size} on its side"
    want, got = _seconds(upright.events), _seconds(turned.events)
    assert len(got & want) >= 0.9 * len(want) and len(got - want) <= 0.1 * len(got)


def _seconds(events: list[Event]) -> set[tuple[int, str]]:
    """What the index answers: (second, class) pairs, as benchmarks/indexing.py scores them."""
    return {(s, e.label) for e in events for s in range(int(e.start_s), int(e.end_s) + 1)}


def test_damaged_packets_do_not_stop_the_index(
    detector: Detector, street_result: StreetRun, tmp_path: Path
) -> None:
    """A few packets a decoder refuses at 2 s (a bad sector, a broken copy) cost the index
    what the broken pictures held, not the rest of the file: before, indexing stopped there
    (41 of 172 frames, 9 events of 25) and the job failed."""
    whole, _ = street_result
    damaged = run_pipeline(damaged_copy(STREET, tmp_path / "damaged.mp4", 2.0, 3), detector)
    assert damaged.ok and damaged.frames_decoded == damaged.frames_total == 172
    assert damaged.decode.damaged == 3
    assert damaged.note is not None and "(at 2.0-2.2 s)" in damaged.note
    assert max(e.end_s for e in damaged.events) > 6.5
    want, got = _seconds(whole.events), _seconds(damaged.events)
    assert len(got & want) >= 0.9 * len(want) and len(got - want) <= 0.1 * len(got)
    assert whole.note is None
