"""Frame conversion for the pipeline: :func:`detectors.decode.to_bgr` against PyAV's own, and files
stored turned (display rotation)."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest

from detectors.decode import Decoder, DecodeStats, to_bgr
from detectors.rotation import display_turns, file_turns, mp4_turns, stored_box

from .assets import NIGHT, STREET, VN_INTERSECTION, damaged_copy, joined_copy, turned_copy


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


def _first_frames(path: Path, n: int) -> list[av.VideoFrame]:
    with av.open(str(path)) as c:
        return [f for _, f in zip(range(n), c.decode(video=0), strict=False)]


def test_a_turned_file_is_decoded_upright(tmp_path: Path) -> None:
    """A file stored on its side with a display rotation (a phone's) comes out as players
    show it: the upright size in :class:`VideoInfo`, upright pixels from :func:`to_bgr`."""
    originals = [f.to_ndarray(format="bgr24") for f in _first_frames(STREET, 5)]
    h, w = originals[0].shape[:2]
    for turns in (1, 2, 3):
        path = turned_copy(STREET, tmp_path / f"t{turns}.mp4", turns, seconds=0.5)
        decoder = Decoder(path)
        try:
            info = decoder.info
        finally:
            decoder.close()
        assert (info.width, info.height, info.turns) == (w, h, turns)
        for frame, original in zip(_first_frames(path, 5), originals, strict=True):
            assert (frame.width, frame.height) == ((h, w) if turns % 2 else (w, h))
            upright = to_bgr(frame, turns=info.turns)
            assert upright.shape == original.shape and upright.flags.c_contiguous
            assert np.abs(upright.astype(int) - original).mean() < 3.0, "not upright"
            small = to_bgr(frame, w // 2, h // 2, info.turns)
            assert small.shape == (h // 2, w // 2, 3)
    assert Decoder(STREET).info.turns == 0


def test_stored_box_undoes_the_turn() -> None:
    stored = np.zeros((6, 10), np.uint8)
    stored[1:3, 2:5] = 1  # x 2-5, y 1-3
    for turns in range(4):
        upright = np.rot90(stored, turns)
        ys, xs = np.nonzero(upright)
        box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        assert stored_box(box, turns, 10, 6) == (2, 1, 5, 3)


def _remux(src: Path, dst: Path, fmt: str) -> Path:
    with av.open(str(src)) as inp, av.open(str(dst), "w", format=fmt) as out:
        ist = inp.streams.video[0]
        ost = out.add_stream_from_template(ist)
        for packet in inp.demux(ist):
            if packet.dts is not None:
                packet.stream = ost
                out.mux(packet)
    return dst


def test_the_rotation_is_read_as_ffmpeg_reads_it(tmp_path: Path) -> None:
    """From the MP4/MOV track header without decoding, from the first picture in Matroska;
    each as FFmpeg's own reading of the file (the rotation of its decoded frames)."""
    turned = turned_copy(STREET, tmp_path / "t.mp4", 1, seconds=0.5)
    for fmt, ext in (("mp4", "mp4"), ("mov", "mov"), ("matroska", "mkv"), ("mpegts", "ts")):
        path = _remux(turned, tmp_path / f"r.{ext}", fmt)
        with av.open(str(path)) as c:
            expected = display_turns(next(c.decode(video=0)).rotation)
            assert file_turns(path, c.format.name) == expected
        assert expected == (0 if fmt == "mpegts" else 1), fmt  # TS carries no rotation
    for turns in (2, 3):
        path = turned_copy(STREET, tmp_path / f"t{turns}.mp4", turns, seconds=0.2)
        with av.open(str(path)) as c:
            assert mp4_turns(path) == display_turns(next(c.decode(video=0)).rotation) == turns
    assert mp4_turns(STREET) == 0
    assert mp4_turns(tmp_path / "r.ts") is None
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x01junk" + b"\xff" * 64)
    assert mp4_turns(junk) is None


def test_damaged_packets_are_skipped_and_decoding_goes_on(tmp_path: Path) -> None:
    """Packets the decoder refuses (a bad sector, a broken copy) are skipped, counted and
    placed, as FFmpeg's tools and players do: the rest of the file still comes out."""
    path = damaged_copy(STREET, tmp_path / "damaged.mp4", at_s=2.0, packets=3)
    decoder = Decoder(path, gop_skip=False, fast=False)
    try:
        frames = [idx for _, idx, _ in decoder.frames(lambda t: True, lambda: 0.0)]
    finally:
        decoder.close()
    total = decoder.info.frames_total
    assert decoder.stats.damaged == 3
    assert len(frames) == total - 3 and frames[-1] == total - 1  # to the end
    [(first, last)] = decoder.stats.damaged_spans
    assert 2.0 <= first <= last < 2.3
    note = decoder.stats.note()
    assert note is not None and note.startswith("3 damaged packets skipped (at 2.0-2.")
    assert DecodeStats().note() is None


def test_damage_far_apart_is_reported_as_separate_stretches() -> None:
    stats = DecodeStats()
    for t in (1.0, 1.5, 9.0, float("nan")):
        stats.damage(t)
    assert stats.damaged == 4 and stats.damaged_spans == [(1.0, 1.5), (9.0, 9.0)]
    note = stats.note(offset_s=10.0)
    assert note is not None and "(at 11.0-11.5 s, 19.0 s)" in note


def test_timestamps_going_back_stop_the_file_there(tmp_path: Path) -> None:
    """Two recordings joined end to end (``cat a.ts b.ts``): the second one's times start
    again from zero, times the first one has covered. It is not decoded; the stats say
    where and how much (before, its frames were fed to the sampler as earlier times)."""
    path = joined_copy(STREET, tmp_path / "joined.ts")
    decoder = Decoder(path, gop_skip=False, fast=False)
    try:
        times = [t for t, _, _ in decoder.frames(lambda t: True, lambda: 0.0)]
    finally:
        decoder.close()
    assert len(times) == 172 and times == sorted(times)
    [(at, to)] = decoder.stats.rewinds
    assert 7.0 <= at < 7.2 and to < 0.1
    assert decoder.stats.behind_s == pytest.approx(172 / 23.976, abs=0.01)
    note = decoder.stats.note()
    assert note is not None and note.startswith("timestamps go back (from 7.1 s to 0.0 s; ")
    assert "about 7.2 s of video behind them are not indexed" in note


def test_after_a_rewind_decoding_resumes_past_the_latest_time(tmp_path: Path) -> None:
    """A second recording longer than the first: its frames past the first one's end lie on
    times not covered yet, so they come out again (as a player's seek bar shows the file)."""
    path = joined_copy(NIGHT, tmp_path / "joined.ts", first_s=5.0)  # cut at 5.33 s
    decoder = Decoder(path, gop_skip=False, fast=False)
    try:
        times = [t for t, _, _ in decoder.frames(lambda t: True, lambda: 0.0)]
    finally:
        decoder.close()
    assert times == sorted(times) and len(times) == 178  # 80 before the join, 98 after
    [(at, to)] = decoder.stats.rewinds
    assert 5.2 < at < 5.34 and to < 0.1
    assert decoder.stats.behind_s == pytest.approx(80 / 15, abs=0.01)
