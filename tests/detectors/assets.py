"""Paths of the shared test assets (model and footage) used by the detector tests, and a
phone-style turned copy of a clip, a damaged one and one joined to itself."""

from __future__ import annotations

from pathlib import Path

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

    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4") as out:
        ist = inp.streams.video[0]
        rate = ist.average_rate or ist.guessed_rate or 25
        w, h = ist.codec_context.width, ist.codec_context.height
        ost = out.add_stream("libx264", rate=rate)
        ost.width, ost.height = (h, w) if turns % 2 else (w, h)
        ost.pix_fmt = "yuv420p"
        ost.options = {"crf": "16", "preset": "veryfast"}
        ost.thread_count = 1  # x264's output depends on its thread count: the same file always
        ost.set_display_rotation(90 * turns)
        for n, frame in enumerate(inp.decode(ist)):
            if seconds is not None and n >= seconds * float(rate):
                break
            img = np.ascontiguousarray(np.rot90(frame.to_ndarray(format="bgr24"), -turns))
            vf = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
            vf.pts, vf.time_base = n, 1 / rate
            for packet in ost.encode(vf):
                out.mux(packet)
        for packet in ost.encode():
            out.mux(packet)
    return dst


def damaged_copy(src: Path, dst: Path, at_s: float, packets: int = 1) -> Path:
    """``src`` remuxed (same codec, same frames) with the payload of ``packets`` packets from
    the first non-keyframe at or after ``at_s`` overwritten with fixed noise, as a bad disk
    sector or a broken copy leaves it: the container is whole, the decoder refuses them."""
    import av
    import numpy as np

    noise = np.random.default_rng(11)
    left = packets
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4") as out:
        ist = inp.streams.video[0]
        ost = out.add_stream_from_template(ist)
        for packet in inp.demux(ist):
            if packet.dts is None:
                continue
            t = float(packet.pts * ist.time_base) if packet.pts is not None else 0.0
            if left and t >= at_s and not packet.is_keyframe:
                bad = av.Packet(noise.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
                bad.pts, bad.dts, bad.time_base = packet.pts, packet.dts, packet.time_base
                packet = bad
                left -= 1
            packet.stream = ost
            out.mux(packet)
    return dst


def joined_copy(src: Path, dst: Path, first_s: float | None = None) -> Path:
    """``src`` remuxed to MPEG-TS twice (the first time only its first ``first_s`` seconds)
    and the two joined end to end, as ``cat a.ts b.ts`` (or ``copy /b``) joins two exports:
    the timestamps start again from zero where the second begins."""
    import av

    parts = []
    for n, upto in enumerate((first_s, None)):
        part = dst.with_suffix(f".part{n}.ts")
        with av.open(str(src)) as inp, av.open(str(part), "w", format="mpegts") as out:
            ist = inp.streams.video[0]
            ost = out.add_stream_from_template(ist)
            for packet in inp.demux(ist):
                if packet.dts is None:
                    continue
                t = packet.dts * ist.time_base
                if upto is not None and packet.is_keyframe and t > 0 and t >= upto:
                    break  # a clean cut: at the first keyframe from first_s on
                packet.stream = ost
                out.mux(packet)
        parts.append(part.read_bytes())
        part.unlink()
    dst.write_bytes(b"".join(parts))
    return dst
