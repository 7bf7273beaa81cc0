"""Paths of the shared test assets (model and footage) used by the detector tests, and a
phone-style turned copy of a clip, a damaged one, one joined to itself and one at two frames
a second; `traced_growth` for the long-file tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

ASSETS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "assets").resolve()
MODELS = ASSETS / "models"
FOOTAGE = ASSETS / "footage"
OPENVINO_MODEL = MODELS / "yolo11n_int8_openvino_model"
ONNX_MODEL = MODELS / "yolov8n_int8.onnx"
STREET = FOOTAGE / "street_crossing_day.mp4"
NIGHT = FOOTAGE / "driveway_ir_night.mp4"
MOTORCYCLES = FOOTAGE / "motorcycles_cctv_day.mp4"
VN_INTERSECTION = FOOTAGE / "vn_intersection_saigon_day.mp4"
VN_OVERPASS = FOOTAGE / "vn_overpass_motorbikes_day.mp4"
INTERSECTION = FOOTAGE / "intersection_cctv_day.mp4"


def turned_copy(src: Path, dst: Path, turns: int = 1, seconds: float | None = None) -> Path:
    """``src`` stored turned ``turns`` quarter turns clockwise with a display rotation that
    turns it back, as a phone stores video held the other way: players (and OpenCV, and
    ultralytics) show it as ``src``. Re-encoded with libx264 at high quality."""
    import av
    import numpy as np

    def turn(frame: Any, size: tuple[int, int]) -> Any:
        img = np.ascontiguousarray(np.rot90(frame.to_ndarray(format="bgr24"), -turns))
        return av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")

    # x264's output depends on its thread count: one thread, the same file always
    return _reencode(src, dst, seconds, lambda w, h: (h, w) if turns % 2 else (w, h), turn,
                     {"crf": "16", "preset": "veryfast"}, threads=1, rotation=90 * turns)


def _remux(src: Path, dst: Path, fmt: str, edit: Callable[[Any, float], Any]) -> Path:
    """``src``'s video packets copied to ``dst`` (container ``fmt``), each through
    ``edit(packet, seconds)``: the packet to write, or None to stop there."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", format=fmt) as out:
        ist = inp.streams.video[0]
        ost = out.add_stream_from_template(ist)
        for packet in inp.demux(ist):
            if packet.dts is None:
                continue
            ts = packet.pts if packet.pts is not None else packet.dts
            kept = edit(packet, float(ts * ist.time_base))
            if kept is None:
                break
            kept.stream = ost
            out.mux(kept)
    return dst


def damaged_copy(src: Path, dst: Path, at_s: float, packets: int = 1) -> Path:
    """``src`` remuxed (same codec, same frames) with the payload of ``packets`` packets from
    the first non-keyframe at or after ``at_s`` overwritten with fixed noise, as a bad disk
    sector or a broken copy leaves it: the container is whole, the decoder refuses them."""
    import av
    import numpy as np

    noise = np.random.default_rng(11)
    left = packets

    def damage(packet: av.Packet, t: float) -> av.Packet:
        nonlocal left
        if left and t >= at_s and not packet.is_keyframe:
            bad = av.Packet(noise.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
            bad.pts, bad.dts, bad.time_base = packet.pts, packet.dts, packet.time_base
            left -= 1
            return bad
        return packet

    return _remux(src, dst, "mp4", damage)


def joined_copy(src: Path, dst: Path, first_s: float | None = None) -> Path:
    """``src`` remuxed to MPEG-TS twice (the first time only up to the first keyframe from
    ``first_s`` on) and the two joined end to end, as ``cat a.ts b.ts`` (or ``copy /b``)
    joins two exports: the timestamps start again from zero where the second begins."""
    def cut(packet: Any, t: float) -> Any:
        stop = first_s is not None and packet.is_keyframe and t > 0 and t >= first_s
        return None if stop else packet

    first = _remux(src, dst.with_suffix(".part0.ts"), "mpegts", cut)
    second = _remux(src, dst.with_suffix(".part1.ts"), "mpegts", lambda p, t: p)
    dst.write_bytes(first.read_bytes() + second.read_bytes())
    first.unlink()
    second.unlink()
    return dst


def resized_copy(src: Path, dst: Path, height: int, seconds: float) -> Path:
    """The first ``seconds`` of ``src`` re-encoded (libx264, ultrafast) at ``height`` lines,
    as a main-stream camera records it."""
    def size(w: int, h: int) -> tuple[int, int]:
        return round(w * height / h / 2) * 2, height

    def resize(frame: Any, to: tuple[int, int]) -> Any:
        return frame.reformat(width=to[0], height=to[1], format="yuv420p")

    return _reencode(src, dst, seconds, size, resize,
                     {"crf": "26", "preset": "ultrafast", "g": "60"})


def sparse_copy(src: Path, dst: Path, fps: float) -> Path:
    """``src`` with one frame kept in every ``rate / fps`` (libx264, crf 18), as an NVR that
    records a camera at a frame or two a second to save disk."""
    import av

    with av.open(str(src)) as probe:
        s = probe.streams.video[0]
        rate = float(s.average_rate or s.guessed_rate or 25)
    return _reencode(src, dst, None, lambda w, h: (w, h),
                     lambda frame, to: frame.reformat(format="yuv420p"),
                     {"crf": "18", "preset": "veryfast"}, threads=1,
                     every=max(1, round(rate / fps)))


def _reencode(
    src: Path,
    dst: Path,
    seconds: float | None,
    size: Callable[[int, int], tuple[int, int]],
    picture: Callable[[Any, tuple[int, int]], Any],
    options: dict[str, str],
    threads: int | None = None,
    rotation: int = 0,
    every: int = 1,
) -> Path:
    """The first ``seconds`` of ``src`` (all of it: None) re-encoded to MP4 with libx264 at
    ``size(w, h)`` of the source's size, each frame made by ``picture(frame, size)``; with
    ``every`` above 1 only one frame in that many, at that fraction of the frame rate."""
    from fractions import Fraction

    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4") as out:
        ist = inp.streams.video[0]
        rate = Fraction(ist.average_rate or ist.guessed_rate or 25) / every
        to = size(ist.codec_context.width, ist.codec_context.height)
        ost = out.add_stream("libx264", rate=rate)
        ost.width, ost.height = to
        ost.pix_fmt = "yuv420p"
        ost.options = options
        if threads is not None:
            ost.thread_count = threads
        if rotation:
            ost.set_display_rotation(rotation)
        for k, frame in enumerate(inp.decode(ist)):
            if k % every:
                continue
            n = k // every
            if seconds is not None and n >= seconds * float(rate):
                break
            vf = picture(frame, to)
            vf.pts, vf.time_base = n, 1 / rate
            for packet in ost.encode(vf):
                out.mux(packet)
        for packet in ost.encode():
            out.mux(packet)
    return dst


def looped_copy(src: Path, dst: Path, minutes: float) -> Path:
    """``src`` played again and again for ``minutes`` in one file (packets copied, times
    running on), as a long NVR export of one scene."""
    import av

    with av.open(str(src)) as inp:
        ist = inp.streams.video[0]
        packets = [p for p in inp.demux(ist) if p.dts is not None and p.pts is not None]
        span = max(p.pts for p in packets) - min(p.pts for p in packets) + (
            packets[-1].duration or 1)
        copies = int(minutes * 60 / float(span * ist.time_base)) + 1
        with av.open(str(dst), "w", format="mp4") as out:
            ost = out.add_stream_from_template(ist)
            for k in range(copies):
                for p in packets:
                    copy = av.Packet(bytes(p))
                    copy.pts, copy.dts = p.pts + k * span, p.dts + k * span
                    copy.time_base, copy.is_keyframe = p.time_base, p.is_keyframe
                    copy.stream = ost
                    out.mux(copy)
    return dst


def traced_growth(path: Path, detector: Any, **kwargs: Any) -> tuple[Any, float]:
    """``run_pipeline(path, detector, **kwargs)`` and how much more Python held (tracemalloc,
    MB) at its last progress call than once a sixth of the file was read."""
    import tracemalloc

    from detectors import run_pipeline

    held: dict[str, float] = {}

    def progress(done: int, total: int) -> None:
        if done >= total / 6:
            held.setdefault("first minute", tracemalloc.get_traced_memory()[0] / 2**20)
            held["end"] = tracemalloc.get_traced_memory()[0] / 2**20

    tracemalloc.start()
    try:
        result = run_pipeline(path, detector, progress=progress, **kwargs)
    finally:
        tracemalloc.stop()
    return result, held["end"] - held["first minute"]
