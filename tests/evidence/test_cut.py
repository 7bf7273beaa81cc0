"""Cutting windows out of real segments by stream copy."""

from __future__ import annotations

import hashlib
import itertools
import shutil
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import av
import pytest

from evidence.cut import SourceSegment, cut_clip
from evidence.errors import CutError, SourceMissingError, TamperError
from evidence.hashing import sha256_file, verify_sources
from tests.evidence.conftest import FOOTAGE, T0


def decode_all(path: Path) -> tuple[list[int], list[bool], Fraction, float]:
    """Every frame's pts and keyframe flag, the time base, and the stream duration (s)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        pts: list[int] = []
        keys: list[bool] = []
        for f in c.decode(s):
            assert f.pts is not None
            pts.append(f.pts)
            keys.append(bool(f.key_frame))
        tb = Fraction(s.time_base)
        dur = float(s.duration * tb) if s.duration else float((c.duration or 0) / 1e6)
    return pts, keys, tb, dur


def packet_hashes(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [
            hashlib.sha256(bytes(p)).hexdigest()
            for p in c.demux(c.streams.video[0])
            if p.dts is not None and p.size
        ]


def keyframe_times(seg: SourceSegment) -> list[float]:
    """Wall-clock seconds since T0 of every keyframe of a segment."""
    with av.open(str(seg.path)) as c:
        s = c.streams.video[0]
        tb = Fraction(s.time_base)
        base = (seg.start - T0).total_seconds()
        return [
            base + float(p.pts * tb)
            for p in c.demux(s)
            if p.dts is not None and p.size and p.is_keyframe
        ]


def test_window_across_three_segments(segments: list[SourceSegment], tmp_path: Path) -> None:
    s1, s3 = segments[1], segments[3]
    start = s1.start + timedelta(seconds=5.0)
    end = s3.start + timedelta(seconds=3.0)
    out = tmp_path / "clip.mp4"
    res = cut_clip(segments, start, end, out)

    assert [u.segment_id for u in res.sources_used] == ["cam1-1", "cam1-2", "cam1-3"]
    assert res.requested_start == start and res.requested_end == end
    # starts at the keyframe at or before the requested start
    assert res.actual_start <= start
    kfs = keyframe_times(s1)
    before = max(k for k in kfs if k <= (start - T0).total_seconds() + 1e-6)
    assert abs((res.actual_start - T0).total_seconds() - before) < 1e-3
    assert res.actual_end >= end
    assert (res.actual_end - end).total_seconds() < 0.1
    assert res.gaps == []
    assert res.sha256 == sha256_file(out) and res.size == out.stat().st_size

    pts, keys, tb, dur = decode_all(out)
    assert len(pts) == res.packets
    assert keys[0], "first frame must be a keyframe"
    assert pts == sorted(pts) and len(set(pts)) == len(pts)
    assert pts[0] == 0
    assert abs(dur - res.duration_s) < 0.05
    frame = float(Fraction(1, 30))
    assert abs((pts[-1] * tb + Fraction(1, 30)) - Fraction(res.duration_s)) < frame

    # stream copy: the clip's packets are the originals' packets, byte for byte, in order
    clip_packets = packet_hashes(out)
    source_packets = set()
    for seg in segments[1:4]:
        source_packets.update(packet_hashes(seg.path))
    assert set(clip_packets) <= source_packets
    # and the originals are untouched
    for seg in segments:
        assert sha256_file(seg.path) == seg.sha256


def test_window_inside_one_segment(segments: list[SourceSegment], tmp_path: Path) -> None:
    seg = segments[4]
    start = seg.start + timedelta(seconds=6.1)
    end = seg.start + timedelta(seconds=8.4)
    res = cut_clip(segments, start, end, tmp_path / "c.mp4")
    assert [u.segment_id for u in res.sources_used] == ["cam1-4"]
    assert res.actual_start <= start and res.actual_end >= end
    pts, keys, _tb, dur = decode_all(res.path)
    assert keys[0] and len(pts) == res.packets
    assert abs(dur - res.duration_s) < 0.05
    # GOP is 128 frames at 30 fps: at most 4.3 s of lead-in
    assert (start - res.actual_start).total_seconds() < 128 / 30 + 1e-3


def test_a_clip_of_footage_stored_turned_keeps_its_rotation(tmp_path: Path) -> None:
    """A phone's clip is stored on its side with a display rotation: the evidence clip cut
    from it plays upright as the original does."""
    from detectors.rotation import display_turns
    from tests.detectors.assets import STREET, turned_copy

    src = turned_copy(STREET, tmp_path / "turned.mp4", seconds=4)
    seg = SourceSegment(path=src, start=T0, sha256=sha256_file(src), segment_id="phone")
    res = cut_clip([seg], T0 + timedelta(seconds=1), T0 + timedelta(seconds=3), tmp_path / "c.mp4")
    with av.open(str(res.path)) as c:
        frame = next(c.decode(video=0))
    assert (frame.width, frame.height) == (360, 640)  # stored on its side, as the source
    assert display_turns(frame.rotation) == 1, "the display rotation must be kept"


def test_start_exactly_on_a_keyframe(segments: list[SourceSegment], tmp_path: Path) -> None:
    seg = segments[2]
    k = keyframe_times(seg)[1]
    start = T0 + timedelta(seconds=k)
    res = cut_clip(segments, start, start + timedelta(seconds=2), tmp_path / "k.mp4")
    assert abs((res.actual_start - start).total_seconds()) < 1e-3


def test_bframes_across_segments(bframe_segments: list[SourceSegment], tmp_path: Path) -> None:
    a, b = bframe_segments[0], bframe_segments[1]
    start = a.start + timedelta(seconds=4.0)
    end = b.start + timedelta(seconds=2.5)
    res = cut_clip(bframe_segments, start, end, tmp_path / "b.mp4")
    assert len(res.sources_used) == 2
    assert res.actual_start <= start and res.actual_end >= end
    pts, keys, _tb, dur = decode_all(res.path)
    assert keys[0]
    assert len(pts) == res.packets, "every copied packet decodes to a frame"
    assert pts == sorted(pts) and len(set(pts)) == len(pts)
    assert abs(dur - res.duration_s) < 0.05
    assert abs(res.duration_s - (res.actual_end - res.actual_start).total_seconds()) < 1e-6


def test_gap_is_recorded_and_kept(segments: list[SourceSegment], tmp_path: Path) -> None:
    without = [s for s in segments if s.segment_id != "cam1-3"]
    start = segments[2].start + timedelta(seconds=4)
    end = segments[4].start + timedelta(seconds=4)
    res = cut_clip(without, start, end, tmp_path / "g.mp4")
    assert [u.segment_id for u in res.sources_used] == ["cam1-2", "cam1-4"]
    assert len(res.gaps) == 1
    gap = res.gaps[0]
    assert abs((gap.start - segments[3].start).total_seconds()) < 0.05
    assert gap.end == segments[4].start
    pts, _keys, tb, _dur = decode_all(res.path)
    jumps = [float((b - a) * tb) for a, b in itertools.pairwise(pts)]
    assert max(jumps) == pytest.approx(gap.seconds + 1 / 30, abs=0.05)
    assert res.derivation()["gaps"][0]["end"] == segments[4].start.isoformat(
        timespec="microseconds"
    )


def test_window_partly_outside_footage(segments: list[SourceSegment], tmp_path: Path) -> None:
    start = T0 - timedelta(seconds=30)
    end = T0 + timedelta(seconds=2)
    res = cut_clip(segments, start, end, tmp_path / "early.mp4")
    assert res.actual_start == T0  # nothing earlier exists
    assert res.gaps[0].start == start and res.gaps[0].end == T0


def test_no_footage_and_bad_windows(segments: list[SourceSegment], tmp_path: Path) -> None:
    out = tmp_path / "none.mp4"
    with pytest.raises(CutError) as ei:
        cut_clip(segments, T0 - timedelta(hours=2), T0 - timedelta(hours=1), out)
    assert ei.value.code == "no_footage"
    assert not out.exists() and not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="not after start"):
        cut_clip(segments, T0 + timedelta(seconds=5), T0, out)
    with pytest.raises(ValueError, match="timezone-aware"):
        cut_clip(segments, T0.replace(tzinfo=None), T0 + timedelta(seconds=5), out)


def test_incompatible_segments_refused(segments: list[SourceSegment], tmp_path: Path) -> None:
    other = tmp_path / "other.mp4"
    shutil.copy(FOOTAGE / "street_crossing_day.mp4", other)
    alien = SourceSegment(other, segments[1].start, sha256_file(other), "alien")
    mixed = [segments[0], alien]
    with pytest.raises(CutError) as ei:
        cut_clip(
            mixed,
            T0 + timedelta(seconds=5),
            segments[1].start + timedelta(seconds=3),
            tmp_path / "mixed.mp4",
        )
    assert ei.value.code == "incompatible_segments"
    assert not (tmp_path / "mixed.mp4").exists()


def test_verify_sources_and_tamper(segments: list[SourceSegment], tmp_path: Path) -> None:
    verify_sources(segments)  # all intact
    copies = []
    for seg in segments[:3]:
        p = tmp_path / seg.path.name
        shutil.copy(seg.path, p)
        copies.append(SourceSegment(p, seg.start, seg.sha256, seg.segment_id))
    data = bytearray(copies[1].path.read_bytes())
    data[len(data) // 2] ^= 0x01
    copies[1].path.write_bytes(bytes(data))
    with pytest.raises(TamperError) as ei:
        verify_sources(copies)
    err = ei.value
    assert err.path == str(copies[1].path)
    assert err.expected == segments[1].sha256
    assert err.actual == sha256_file(copies[1].path) != err.expected
    assert "SHA-256 mismatch" in str(err) and err.code == "tamper_suspected"

    copies[2].path.unlink()
    with pytest.raises(SourceMissingError):
        verify_sources([copies[0], copies[2]])


def test_corrupt_source_is_a_clean_error(segments: list[SourceSegment], tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    src = [SourceSegment(bad, T0, sha256_file(bad), "bad")]
    with pytest.raises(CutError) as ei:
        cut_clip(src, T0, T0 + timedelta(seconds=1), tmp_path / "x.mp4")
    assert ei.value.code == "corrupt_source"


def test_check_playable(segments: list[SourceSegment], tmp_path: Path) -> None:
    from evidence.cut import check_playable

    res = cut_clip(
        segments, T0 + timedelta(seconds=3), T0 + timedelta(seconds=6), tmp_path / "p.mp4"
    )
    chk = check_playable(res.path)
    assert chk.frames == res.packets and chk.codec == "h264"
    assert abs(chk.duration_s - res.duration_s) < 0.05
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(res.path.read_bytes()[:2000])
    with pytest.raises(CutError):
        check_playable(bad)
