"""probe(): facts about real footage, and a distinct error for every kind of bad file."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from ingest.errors import ALL_CODES, IngestError
from ingest.probe import probe, read_creation_time
from tests.ingest.media import CLIP, CLIPS, Clip, remux


@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: c.name)
def test_probe_shared_footage(clip: Clip) -> None:
    r = probe(clip.path)
    assert r.video_codec == "h264"
    assert (r.width, r.height) == (clip.width, clip.height)
    assert r.fps == pytest.approx(clip.fps, abs=0.01)
    assert r.duration_s == pytest.approx(clip.duration_s, abs=0.05)
    frames = r.frame_count if r.frame_count is not None else round(r.duration_s * (r.fps or 0))
    assert frames == clip.frames
    assert r.size == clip.size
    assert r.format_name.startswith("mov,mp4")
    assert r.pix_fmt == "yuv420p"
    assert r.start_offset_s == 0.0


def test_probe_details() -> None:
    inter = probe(CLIP["intersection"].path)
    assert inter.keyframe_interval_s == pytest.approx(128 / 30, abs=1e-3)  # GOP of 128
    assert inter.max_keyframe_interval_s == pytest.approx(128 / 30, abs=1e-3)
    assert inter.creation_time == datetime(2020, 7, 27, 16, 57, 40, tzinfo=UTC)
    assert not inter.has_audio and inter.audio_codec is None
    moto = probe(CLIP["motorcycles"].path)
    assert moto.has_audio and moto.audio_codec == "aac"
    assert moto.keyframe_interval_s is not None and moto.keyframe_interval_s < 5.5
    street = probe(CLIP["street"].path)  # one keyframe, no creation_time
    assert street.keyframe_interval_s is None
    assert street.creation_time is None
    assert read_creation_time(CLIP["driveway"].path) == datetime(2025, 1, 18, 8, 50, 55, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("empty", "empty_file"),
        ("text_txt", "not_video"),  # FFmpeg's "tty" demuxer calls .txt a video
        ("text_mp4", "not_video"),
        ("jpeg", "not_video"),  # image2/mjpeg, one frame
        ("jpeg_as_mp4", "not_video"),  # jpeg_pipe
        ("png", "not_video"),
        ("random", "not_video"),
        ("audio_aac", "no_video_stream"),
        ("audio_wav", "no_video_stream"),
        *[(f"half_{k}", "truncated_video") for k in CLIP],
        *[(f"cut10_{k}", "truncated_video") for k in CLIP],
        ("cut10_mkv", "truncated_video"),
        ("mdat0_cut10", "truncated_video"),
        ("zero_tail", "truncated_video"),
        ("noise", "corrupt_video"),
    ],
)
def test_bad_input_codes(bad_files: dict[str, Path], key: str, code: str) -> None:
    with pytest.raises(IngestError) as ei:
        probe(bad_files[key])
    assert ei.value.code == code
    assert ei.value.code in ALL_CODES
    assert ei.value.detail


def test_truncated_mkv_detected_by_packet_coverage(bad_files: dict[str, Path]) -> None:
    """No MP4 boxes to check: the tail seek must notice packets end before the duration."""
    assert probe(bad_files["whole_mkv"]).duration_s == pytest.approx(30.1, abs=0.05)
    with pytest.raises(IngestError) as ei:
        probe(bad_files["cut10_mkv"])
    assert "declared" in ei.value.detail


def test_truncated_mp4_without_box_sizes(bad_files: dict[str, Path]) -> None:
    assert probe(bad_files["mdat0_whole"]).duration_s == pytest.approx(30.1, abs=0.05)
    with pytest.raises(IngestError) as ei:
        probe(bad_files["mdat0_cut10"])
    assert "declared" in ei.value.detail


def test_other_containers_are_accepted(tmp_path: Path) -> None:
    ts = probe(remux(CLIP["motorcycles"].path, tmp_path / "m.ts", "mpegts"))
    assert ts.format_name == "mpegts" and ts.video_codec == "h264"
    assert ts.duration_s == pytest.approx(30.1, abs=0.1)
    raw = probe(remux(CLIP["intersection"].path, tmp_path / "i.h264", "h264"))
    assert not raw.has_timestamps  # an elementary stream: frames counted, rate assumed
    assert raw.frame_count == 909 and raw.video_codec == "h264"
    assert ts.has_timestamps
    mov = probe(remux(CLIP["driveway"].path, tmp_path / "d.mov"))
    assert mov.duration_s == pytest.approx(11.87, abs=0.05) and mov.has_audio


def test_error_is_not_raised_for_a_long_file_and_probe_is_fast(tmp_path: Path) -> None:
    """~100 MB, 16 minutes: probing must not scale with the file (no full decode)."""
    src = CLIP["intersection"].path
    big = tmp_path / "long.mp4"
    with av.open(str(src)) as i, av.open(str(big), "w", format="mp4") as o:
        v = i.streams.video[0]
        ov = o.add_stream_from_template(v)
        pkts = [
            (bytes(p), p.pts or 0, p.dts or 0, p.duration, p.is_keyframe)
            for p in i.demux(v)
            if p.size
        ]
        assert v.duration is not None and v.time_base is not None
        for k in range(32):
            for data, pts, dts, dur, key in pkts:
                q = av.Packet(data)
                q.pts, q.dts, q.duration = pts + k * v.duration, dts + k * v.duration, dur
                q.is_keyframe = key
                q.time_base = v.time_base
                q.stream = ov
                o.mux(q)
    t = time.perf_counter()
    r = probe(big)
    elapsed = time.perf_counter() - t
    assert r.duration_s == pytest.approx(32 * 30.3, abs=0.1)
    assert r.frame_count == 32 * 909
    assert r.size > 90_000_000
    assert elapsed < 1.0, f"probe took {elapsed:.2f}s"
    # ... and a 10% cut of it is still caught.
    cut = tmp_path / "long_cut.mp4"
    with open(big, "rb") as f:
        cut.write_bytes(f.read(r.size * 9 // 10))
    with pytest.raises(IngestError) as ei:
        probe(cut)
    assert ei.value.code == "truncated_video"


def test_ingest_error_shape() -> None:
    e = IngestError("too_large", "more than 5 bytes")
    assert (e.code, e.detail) == ("too_large", "more than 5 bytes")
    assert "too_large" in str(e)
    assert IngestError("empty_file").detail == "empty file"
