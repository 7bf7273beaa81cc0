"""Build realistic camera segments from the shared footage, by stream copy only.

A source clip is looped (its packets repeated with a running time offset) into one long
continuous stream, which is then split at keyframes into segments of about ``seconds`` each,
the way a recorder's segment muxer does. Each segment is a normal MP4 whose first frame is at
``t0 + offset``; the function returns their paths, wall-clock starts and SHA-256s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import av.container


@dataclass(frozen=True)
class BuiltSegment:
    path: Path
    start: datetime
    duration_s: float
    sha256: str
    frames: int


def build_segments(
    src: Path, out_dir: Path, count: int, seconds: float, t0: datetime, prefix: str = "seg"
) -> list[BuiltSegment]:
    out_dir.mkdir(parents=True, exist_ok=True)
    with av.open(str(src)) as probe:
        vs = probe.streams.video[0]
        tb = Fraction(vs.time_base)
        loop_ticks = int(vs.duration or round(Fraction(probe.duration or 0, 1_000_000) / tb))
        packets = [p for p in probe.demux(vs) if p.dts is not None and p.size]
        raw = [(bytes(p), p.pts, p.dts, p.duration, p.is_keyframe) for p in packets]
    seg_ticks = round(Fraction(seconds) / tb)
    built: list[BuiltSegment] = []
    loop = 0
    pos = 0
    oc: av.container.OutputContainer | None = None
    ost = None
    seg_base = 0
    seg_frames = 0
    seg_path: Path | None = None
    seg_max_end = 0

    def close() -> None:
        nonlocal oc
        if oc is None or seg_path is None:
            return
        oc.close()
        oc = None
        digest = hashlib.sha256(seg_path.read_bytes()).hexdigest()
        built.append(
            BuiltSegment(
                seg_path,
                t0 + timedelta(seconds=float(seg_base * tb)),
                float((seg_max_end - seg_base) * tb),
                digest,
                seg_frames,
            )
        )

    with av.open(str(src)) as tmpl_c:
        template = tmpl_c.streams.video[0]
        while True:
            data, pts, dts, dur, key = raw[pos]
            gpts = pts + loop * loop_ticks
            gdts = dts + loop * loop_ticks
            if key and (oc is None or gpts - seg_base >= seg_ticks):
                close()
                if len(built) == count:
                    break
                seg_path = out_dir / f"{prefix}{len(built):02d}.mp4"
                oc = av.open(str(seg_path), "w", format="mp4")
                oc.metadata["comment"] = f"{prefix} {len(built)} from {src.name}"
                ost = oc.add_stream_from_template(template)
                ost.time_base = template.time_base
                seg_base = gpts
                seg_frames = 0
                seg_max_end = gpts
            assert oc is not None and ost is not None
            pkt = av.Packet(data)
            pkt.pts = gpts - seg_base
            pkt.dts = gdts - seg_base
            pkt.duration = dur
            pkt.time_base = template.time_base
            pkt.is_keyframe = key
            pkt.stream = ost
            oc.mux(pkt)
            seg_frames += 1
            seg_max_end = max(seg_max_end, gpts + (dur or 0))
            pos += 1
            if pos == len(raw):
                pos = 0
                loop += 1
    return built
