"""NVR exports in the containers wards have: MPEG program streams as Hikvision exports them
(``.mp4`` that is really PS, ``.ps``, ``.mpg``), muxed here from the shared footage with PyAV,
probed like MP4 and found by the folder scan with their start times.

Dahua ``.dav``: no real ``.dav`` file could be obtained for these tests (none in the shared
assets, none shipped by the PyPI packages that handle them), and a made-up one would prove
nothing, so DHAV *parsing* is not tested here.  What is tested: FFmpeg's ``dhav`` demuxer is
in the build, and ``.dav`` files are listed by the scan and refused cleanly when not video.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from ingest.errors import IngestError
from ingest.nvr import scan
from ingest.probe import probe
from tests.ingest.media import CLIP, Clip, to_program_stream

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export folder: Hikvision PS files under three extensions, and a Dahua-named file."""
    root = tmp_path_factory.mktemp("nvr_export")
    (root / "hik").mkdir()
    (root / "dahua").mkdir()
    to_program_stream(CLIP["intersection"].path, root / "hik" / "ch01_20250315083000.mp4")
    to_program_stream(CLIP["motorcycles"].path, root / "hik" / "ch02_20250315083010.ps")
    to_program_stream(CLIP["driveway"].path, root / "hik" / "ch03_20250315083020.mpg", "mpeg")
    # Not a recording: a text file that only carries a Dahua export's name.
    (root / "dahua" / "NVR_ch1_main_20250315083000_20250315084000.dav").write_text("log\n" * 99)
    return root


@pytest.mark.parametrize(
    ("name", "clip"),
    [
        ("hik/ch01_20250315083000.mp4", CLIP["intersection"]),
        ("hik/ch02_20250315083010.ps", CLIP["motorcycles"]),
        ("hik/ch03_20250315083020.mpg", CLIP["driveway"]),
    ],
)
def test_program_streams_probe_like_mp4(export: Path, name: str, clip: Clip) -> None:
    r = probe(export / name)
    assert r.format_name == "mpeg" and r.suffix == ".mpg"  # whatever the file is called
    assert r.video_codec == "h264" and (r.width, r.height) == (clip.width, clip.height)
    assert r.fps == pytest.approx(clip.fps, abs=0.01)
    # no index in a PS: the duration is what the packets cover, to the frame
    assert r.duration_s == pytest.approx(clip.duration_s, abs=1 / clip.fps + 0.01)
    # the PS muxer delays the first decoding time by 0.5 s (B-frames: a frame more)
    assert r.has_timestamps and r.start_offset_s == pytest.approx(0.5, abs=0.07)
    assert r.frame_count is None  # a PS does not say
    mp4 = probe(clip.path)
    assert r.keyframe_interval_s == pytest.approx(mp4.keyframe_interval_s, abs=1e-3)


def test_mp4_suffix_unchanged() -> None:
    assert probe(CLIP["driveway"].path).suffix == ".mp4"


def test_scan_finds_exports_with_their_start_times(export: Path) -> None:
    files = scan(export, tz="Asia/Ho_Chi_Minh", use_metadata=False, now=NOW)
    got = [(f.path.relative_to(export).as_posix(), f.start, f.reason) for f in files]
    # names carry Vietnamese local time (UTC+7)
    at = datetime(2025, 3, 15, 1, 30, tzinfo=UTC)
    assert got == [
        ("dahua/NVR_ch1_main_20250315083000_20250315084000.dav", at, None),
        ("hik/ch01_20250315083000.mp4", at, None),
        ("hik/ch02_20250315083010.ps", at.replace(second=10), None),
        ("hik/ch03_20250315083020.mpg", at.replace(second=20), None),
    ]


def test_a_dav_that_is_not_video_is_refused(export: Path) -> None:
    assert "dhav" in av.formats_available  # Dahua's container can be read by this build
    with pytest.raises(IngestError) as ei:
        probe(export / "dahua" / "NVR_ch1_main_20250315083000_20250315084000.dav")
    assert ei.value.code == "not_video"


def test_program_stream_cut_inside_a_packet(export: Path, tmp_path: Path) -> None:
    """A PS has no index: cut between two packs it is just a shorter recording; cut inside a
    packet (a copy that stopped half-way) it is refused as truncated."""
    data = (export / "hik" / "ch01_20250315083000.mp4").read_bytes()
    assert len(data) % 2048 == 0  # MPEG-2 PS packs of 2048 bytes
    packs = len(data) // 2048
    whole_packs = tmp_path / "ch01_whole_packs.mp4"
    whole_packs.write_bytes(data[: packs // 2 * 2048])
    shorter = probe(whole_packs)
    assert 10 < shorter.duration_s < CLIP["intersection"].duration_s - 10
    for cut in (packs // 2 * 2048 + 700, len(data) - 1000, len(data) - 2048 + 5):
        p = tmp_path / f"cut_{cut}.mp4"
        p.write_bytes(data[:cut])
        with pytest.raises(IngestError) as ei:
            probe(p)
        assert ei.value.code == "truncated_video", cut
        assert "MPEG-PS packet is cut short" in ei.value.detail
