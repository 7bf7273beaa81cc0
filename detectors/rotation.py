"""Footage stored on its side: the display rotation a file declares, and boxes between the
upright picture and the stored one.

A phone holding video the other way stores the picture as the sensor gives it and declares a
display rotation (a display matrix) that players, OpenCV and ultralytics apply; the model
finds next to nothing in a picture on its side. The pipeline turns sampled frames upright
(:func:`detectors.decode.to_bgr`) and works in the upright picture's pixels; redaction edits
the stored frames, so it takes boxes back with :func:`stored_box`.

The rotation is read before decoding starts (the planner needs the upright size): from the
MP4/MOV track header's matrix, where FFmpeg takes it from (phones write MP4 and MOV), in
microseconds; for Matroska (whose demuxer can declare one too) from the first decoded
picture, on a container of its own; other containers (MPEG-TS, DAV, AVI: NVR exports) do not
carry one. PyAV exposes no stream's display matrix, only a decoded frame's, and decoding the
first picture to learn it cost 6-39 ms a file, opening included, on the development set's
main-stream renditions (4 % of indexing an 11.9 s 1080p H.264 file).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import BinaryIO

import av

from .tracker import Box

#: boxes read at most at one level (before giving up on finding ``moov``)
_MAX_BOXES = 1000
#: Matroska: packets read at most to reach the first picture
_PEEK_PACKETS = 300


def display_turns(rotation: float | None) -> int:
    """Quarter turns counterclockwise (0-3) for a display rotation in degrees
    counterclockwise (PyAV's ``VideoFrame.rotation``; 0 without one); other angles go to the
    nearest quarter."""
    return round((rotation or 0) / 90) % 4


def stored_box(box: Box, turns: int, width: int, height: int) -> Box:
    """A box in the upright picture's pixels (turned ``turns`` quarter turns counterclockwise
    from the stored one) in the stored picture's, ``width`` x ``height``."""
    x1, y1, x2, y2 = box
    turns %= 4
    if turns == 1:
        return width - y2, x1, width - y1, x2
    if turns == 2:
        return width - x2, height - y2, width - x1, height - y1
    if turns == 3:
        return y1, height - x2, y2, height - x1
    return box


def _boxes(f: BinaryIO, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes from the current position to ``end``."""
    out: list[tuple[bytes, int, int]] = []
    pos = f.tell()
    while pos + 8 <= end and len(out) < _MAX_BOXES:
        f.seek(pos)
        head = f.read(8)
        if len(head) < 8:
            break
        size, kind = struct.unpack(">I4s", head)
        start = pos + 8
        if size == 1:
            large = f.read(8)
            if len(large) < 8:
                break
            size = struct.unpack(">Q", large)[0]
            start = pos + 16
        elif size == 0:
            size = end - pos
        if size < start - pos:
            break  # not a box: not ISO BMFF, or damaged
        out.append((kind, start, pos + size))
        pos += size
    return out


def _matrix_turns(payload: bytes) -> int:
    """Quarter turns of a ``tkhd`` payload's matrix, as FFmpeg reads it (its
    ``av_display_rotation_get``: minus the angle of the matrix's first column)."""
    version = payload[0]
    at = 4 + (48 if version == 1 else 36)
    if len(payload) < at + 36:
        return 0
    a, b, *_rest = struct.unpack(">9i", payload[at : at + 36])
    if a == b == 0:
        return 0
    return display_turns(-math.degrees(math.atan2(b, a)))


def mp4_turns(path: str | Path) -> int | None:
    """The display rotation of the first video track of an MP4/MOV file, in quarter turns;
    None when the file is not ISO BMFF (no ``moov`` box where one would be)."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(0)
        top = _boxes(f, size)
        if not top or top[0][0] not in {b"ftyp", b"moov", b"wide", b"free", b"mdat", b"skip"}:
            return None
        moov = next(((s, e) for k, s, e in top if k == b"moov"), None)
        if moov is None:
            return None
        f.seek(moov[0])
        for kind, start, end in _boxes(f, moov[1]):
            if kind != b"trak":
                continue
            f.seek(start)
            tkhd = handler = None
            for k, s, e in _boxes(f, end):
                if k == b"tkhd":
                    f.seek(s)
                    tkhd = f.read(min(e - s, 120))
                elif k == b"mdia":
                    f.seek(s)
                    for k2, s2, _e2 in _boxes(f, e):
                        if k2 == b"hdlr":
                            f.seek(s2 + 8)
                            handler = f.read(4)
            if handler == b"vide":
                return _matrix_turns(tkhd) if tkhd else 0
    return 0


def _first_picture_turns(path: str | Path) -> int:
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return 0
            stream = c.streams.video[0]
            stream.thread_count = 1  # one picture: threads would cost more to start
            for n, packet in enumerate(c.demux(stream)):
                if n >= _PEEK_PACKETS:
                    break
                for frame in packet.decode():
                    return display_turns(frame.rotation)
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        pass  # what is wrong with the file is for the decoder proper to say
    return 0


def file_turns(path: str | Path, format_name: str) -> int:
    """Quarter turns counterclockwise that show the file's video upright. ``format_name`` is
    the demuxer's (``container.format.name``)."""
    demuxers = set(format_name.split(","))
    if "mov" in demuxers:
        try:
            turns = mp4_turns(path)
        except OSError:
            turns = None
        if turns is not None:
            return turns
    if demuxers & {"mov", "matroska"}:  # an MP4 whose boxes were not read, or Matroska
        return _first_picture_turns(path)
    return 0
