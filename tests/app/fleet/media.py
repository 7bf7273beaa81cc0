"""Renditions for the fleet tests, made with PyAV from the shared footage (never committed)."""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av


def rendition(
    src: Path,
    dst: Path,
    width: int,
    *,
    first: int = 0,
    last: int | None = None,
    gop_s: float = 2.0,
    bit_rate: int | None = None,
) -> Path:
    """Frames [first, last) of `src` scaled to `width` (height kept in proportion), H.264,
    a keyframe every `gop_s`, timestamps from 0: a camera's sub-stream for that span."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4") as out:
        v = inp.streams.video[0]
        rate = Fraction(v.average_rate or v.guessed_rate or 25)
        w0, h0 = v.codec_context.width, v.codec_context.height
        height = max(2, round(h0 * width / w0 / 2) * 2)
        s = out.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        gop = max(1, round(float(rate) * gop_s))
        s.codec_context.gop_size = gop
        opts = {"preset": "ultrafast", "bf": "0", "sc_threshold": "0", "keyint_min": str(gop)}
        if bit_rate is None:
            opts["crf"] = "23"
        else:
            s.codec_context.bit_rate = bit_rate
            opts.update(maxrate=str(bit_rate * 3 // 2), bufsize=str(bit_rate * 2))
        s.options = opts
        n = 0
        for i, frame in enumerate(inp.decode(v)):
            if i < first:
                continue
            if last is not None and i >= last:
                break
            f = frame.reformat(width=width, height=height, format="yuv420p")
            f.pts, f.time_base = n, 1 / rate
            n += 1
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return dst


def recorded_segment(clip: Path, dst: Path, start: datetime, seconds: float = 10.0) -> Any:
    """A copy of `clip` at `dst` handed over as a recorder would a closed segment."""
    from ingest.recorder import RecordedSegment

    shutil.copy(clip, dst)
    data = dst.read_bytes()
    return RecordedSegment(
        path=dst,
        start_utc=start,
        end_utc=start + timedelta(seconds=seconds),
        duration_s=seconds,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        truncated=False,
        reason=None,
    )
