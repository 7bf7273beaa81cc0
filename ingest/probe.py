"""What is in a video file, and is it whole?  Fast enough to run on every upload.

``probe`` answers the questions ingest needs before it accepts bytes as evidence: is it a
video at all (not text, not a still image, not audio-only), is it complete (an MP4 cut
before its index was written, or with its media data cut short, is *not* silently
accepted as a shorter video), and what are its codec, size, frame rate, duration, keyframe
spacing and embedded creation time.

It never decodes the whole file.  Cost is bounded whatever the file size:

* an MP4/MOV box walk (a few ``seek``+``read`` of 16 bytes) catches most truncations;
* the first ~30 s of video packets are demuxed (no decoding) for keyframe spacing, and the
  first frame is decoded;
* the last ~2 s are reached by a seek, demuxed to EOF to check that the packets cover the
  declared duration, and decoded (within a pixel budget) to check that they are real.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import statistics
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
from av.container import InputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from ingest.errors import (
    CORRUPT_VIDEO,
    EMPTY_FILE,
    NO_VIDEO_STREAM,
    NOT_VIDEO,
    TRUNCATED_VIDEO,
    IngestError,
)
from ingest.timeparse import parse_iso_utc

__all__ = ["ProbeResult", "probe", "probe_written", "read_creation_time"]

# Demuxers and codecs that FFmpeg presents as "video" but that are stills or text.
_IMAGE_FORMATS = {"image2", "gif", "webp", "apng", "tty", "bin", "adf", "idf", "xbin"}
_STILL_CODECS = {
    "ansi",
    "bintext",
    "xbin",
    "idf",
    "png",
    "apng",
    "bmp",
    "gif",
    "tiff",
    "webp",
    "pam",
    "pbm",
    "pgm",
    "ppm",
    "pgmyuv",
    "sgi",
    "targa",
    "xbm",
    "xpm",
    "xwd",
    "pcx",
    "qoi",
    "jpegxl",
    "dds",
    "exr",
    "hdr",
    "photocd",
    "sunrast",
    "alias_pix",
}
# Top-level ISO-BMFF box types; seeing one at offset 4 means "this is an MP4/MOV/3GP".
_BMFF_TYPES = {
    b"ftyp",
    b"styp",
    b"moov",
    b"mdat",
    b"free",
    b"skip",
    b"wide",
    b"pnot",
    b"uuid",
    b"moof",
    b"mfra",
    b"sidx",
    b"meta",
    b"pdin",
    b"emsg",
    b"prft",
    b"junk",
}

#: Containers without an index (MPEG-PS as Hikvision NVRs export it, MPEG-TS, Dahua DHAV,
#: raw streams): FFmpeg's duration is an estimate, the packets read to the end are the truth.
_UNINDEXED_FORMATS = {"mpeg", "mpegts", "dhav", "mpegvideo", "h264", "hevc"}
#: FFmpeg demuxer name -> file extension, for :attr:`ProbeResult.suffix`.
_SUFFIXES = (
    ("mp4", ".mp4"),
    ("mov", ".mov"),
    ("matroska", ".mkv"),
    ("mpegts", ".ts"),
    ("mpeg", ".mpg"),
    ("dhav", ".dav"),
    ("avi", ".avi"),
    ("flv", ".flv"),
    ("asf", ".asf"),
    ("h264", ".h264"),
    ("hevc", ".h265"),
)
#: How much of the end of an MPEG-PS file is read to see whether its last packet is whole.
PS_TAIL_BYTES = 256 << 10

HEAD_SECONDS = 30.0  # media time demuxed from the start for keyframe spacing
HEAD_MAX_BYTES = 64 << 20  # ... or this many bytes of video packets, whichever first
HEAD_KEYFRAMES = 8  # ... or this many keyframes
TAIL_SECONDS = 2.0  # media time checked at the end
# Pixels decoded at the tail: a short last GOP in full, else only its keyframe.
TAIL_DECODE_BUDGET = 8 * 1920 * 1080


@dataclass(frozen=True)
class ProbeResult:
    """Facts about one video file.  Times are seconds; ``creation_time`` is aware UTC."""

    path: Path
    size: int
    format_name: str  # FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "mpegts"
    video_codec: str  # e.g. "h264", "hevc"
    width: int
    height: int
    fps: float | None
    duration_s: float
    keyframe_interval_s: float | None  # median spacing in the sampled head; None if < 2 seen
    max_keyframe_interval_s: float | None
    frame_count: int | None  # from the container index when it has one
    creation_time: datetime | None  # container (else video stream) metadata, UTC
    has_audio: bool
    audio_codec: str | None
    bit_rate: int | None
    pix_fmt: str | None
    start_offset_s: float  # first video timestamp (MPEG-TS starts at ~1.4 s)
    # False for raw elementary streams (.h264/.265): duration is frames / an assumed fps
    has_timestamps: bool = True

    @property
    def suffix(self) -> str:
        """The extension this container really has, whatever the file was called (Hikvision
        names MPEG-PS exports ``.mp4``): for storing it under a name that does not lie."""
        for key, ext in _SUFFIXES:
            if key in self.format_name.split(","):
                return ext
        return ".bin"


def probe(path: str | os.PathLike[str]) -> ProbeResult:
    """Probe ``path``; raise :class:`~ingest.errors.IngestError` unless it is a whole video.

    Codes: ``empty_file``, ``not_video``, ``no_video_stream``, ``truncated_video``,
    ``corrupt_video``.
    """
    p = Path(path)
    size = p.stat().st_size
    if size == 0:
        raise IngestError(EMPTY_FILE, f"{p.name} is empty (0 bytes)")
    is_bmff = _check_bmff(p, size)
    try:
        container = av.open(str(p), "r")
    except av.error.FFmpegError as e:
        if is_bmff:
            raise IngestError(
                TRUNCATED_VIDEO,
                f"{p.name} looks like MP4/MOV but cannot be opened ({e.strerror}); "
                "its index is missing or cut",
            ) from e
        raise IngestError(NOT_VIDEO, f"{p.name} is not a video FFmpeg can read") from e
    with container:
        return _probe_open(p, size, container)


def read_creation_time(path: str | os.PathLike[str]) -> datetime | None:
    """Only the embedded creation time (cheap: opens the header); ``None`` on any failure."""
    try:
        with av.open(str(path), "r") as c:
            return _creation_time(c)
    except (av.error.FFmpegError, OSError, ValueError):
        return None


def _creation_time(c: InputContainer) -> datetime | None:
    sources: list[dict[str, str]] = [dict(c.metadata)]
    sources += [dict(s.metadata) for s in c.streams.video]
    for md in sources:
        for key in ("creation_time", "date", "DATE_RECORDED", "com.apple.quicktime.creationdate"):
            value = md.get(key)
            if value:
                dt = parse_iso_utc(value)
                if dt is not None:
                    return dt
    return None


def _check_bmff(p: Path, size: int) -> bool:
    """Walk top-level MP4 boxes. Return True for ISO-BMFF; raise if cut short or unindexed."""
    with open(p, "rb") as f:
        head = f.read(8)
        if len(head) < 8 or head[4:8] not in _BMFF_TYPES:
            return False
        pos = 0
        has_moov = False
        for _ in range(100_000):
            if pos + 8 > size:
                break
            f.seek(pos)
            hdr = f.read(16)
            box_size, box_type = struct.unpack(">I4s", hdr[:8])
            if box_type not in _BMFF_TYPES and not box_type.isalnum():
                break  # trailing junk/padding: not ours to judge
            if box_size == 1:
                if len(hdr) < 16:
                    raise IngestError(TRUNCATED_VIDEO, f"{p.name}: box header cut at {pos}")
                (box_size,) = struct.unpack(">Q", hdr[8:16])
            elif box_size == 0:  # "extends to end of file" (live writers)
                box_size = size - pos
            if box_size < 8:
                break
            if box_type == b"moov":
                has_moov = True
            if pos + box_size > size:
                raise IngestError(
                    TRUNCATED_VIDEO,
                    f"{p.name}: '{box_type.decode('latin-1')}' box at byte {pos} declares "
                    f"{box_size} bytes but the file ends after {size - pos}",
                )
            pos += box_size
        if not has_moov:
            raise IngestError(
                TRUNCATED_VIDEO,
                f"{p.name}: MP4 without a 'moov' index (recording not finalised or cut)",
            )
    return True


def _program_stream_cut(p: Path, size: int) -> int | None:
    """Bytes missing at the end of an MPEG program stream cut inside a packet: 0 if its
    packets end exactly at the end of the file, ``None`` if no pack structure is found there.

    A PS file has no index and no declared length, so a file cut *between* packets is just a
    shorter recording; one cut *inside* a packet is what a copy that stopped half-way looks
    like.  The last pack header in the final ``PS_TAIL_BYTES`` is found and the packets after
    it are walked by their length fields (a few hundred steps at most, no decoding)."""
    window = min(size, PS_TAIL_BYTES)
    with open(p, "rb") as f:
        f.seek(size - window)
        buf = f.read(window)
    pos = buf.rfind(b"\x00\x00\x01\xba")
    while pos >= 0:
        missing = _walk_program_stream(buf, pos)
        if missing is not None:
            return missing
        pos = buf.rfind(b"\x00\x00\x01\xba", 0, pos)
    return None


def _walk_program_stream(buf: bytes, pos: int) -> int | None:
    """Walk packs and packets from ``pos``; bytes missing after the last (0: ends exactly),
    or ``None`` where the bytes are not a program stream (a false start code, padding)."""
    n = len(buf)
    while pos < n:
        if n - pos < 6:
            return 6 - (n - pos)  # cut inside a packet header
        if buf[pos : pos + 3] != b"\x00\x00\x01":
            return None
        code = buf[pos + 3]
        if code == 0xBA:  # pack header: MPEG-2 (14 bytes + stuffing) or MPEG-1 (12 bytes)
            if buf[pos + 4] >> 6 == 1:
                if n - pos < 14:
                    return 14 - (n - pos)
                pos += 14 + (buf[pos + 13] & 7)
            elif buf[pos + 4] >> 4 == 2:
                pos += 12
            else:
                return None
        elif code == 0xB9:  # program end code
            pos += 4
        elif code >= 0xBB:  # system header, stream map, PES: a 16-bit length follows
            pos += 6 + int.from_bytes(buf[pos + 4 : pos + 6], "big")
        else:
            return None
    return pos - n


def _probe_open(p: Path, size: int, c: InputContainer) -> ProbeResult:
    fmt = c.format.name
    if not c.streams.video:
        kinds: list[str] = sorted({str(s.type) for s in c.streams}) or ["nothing"]
        raise IngestError(NO_VIDEO_STREAM, f"{p.name} has no video stream ({', '.join(kinds)})")
    v: VideoStream = c.streams.video[0]
    codec = v.codec_context.name if v.codec_context is not None else ""
    if fmt in _IMAGE_FORMATS or fmt.endswith("_pipe") or codec in _STILL_CODECS or (v.frames == 1):
        raise IngestError(NOT_VIDEO, f"{p.name} is a still image or text ({fmt}/{codec})")
    if not codec or not v.width or not v.height:
        raise IngestError(CORRUPT_VIDEO, f"{p.name}: video stream without usable parameters")
    tb = v.time_base
    if tb is None:
        raise IngestError(CORRUPT_VIDEO, f"{p.name}: video stream without a time base")
    t0 = v.start_time if v.start_time is not None else 0
    declared = _declared_duration(c, v)
    if declared is not None and declared <= 0:
        declared = None

    frame_dur = 1.0 / float(v.average_rate) if v.average_rate else 0.04
    frame_count = int(v.frames) if v.frames and v.frames > 0 else None

    v.codec_context.thread_type = "SLICE"
    head = _scan_head(c, v, frame_dur)
    if head.packets == 0:
        raise IngestError(TRUNCATED_VIDEO, f"{p.name}: no video packets at all")

    if head.untimed:
        # No timestamps, no index: count the packets (demux only) and assume the rate.
        tail = _Scan(packets=head.packets)
        if not head.eof:
            for pkt in _video_packets(c, v):
                tail.packets += 1
                tail.corrupt = pkt.is_corrupt
        frame_count = tail.packets
        declared = None
        tail.last_end_s = last_end = tail.packets * frame_dur
    else:
        # Tail: do the packets cover the declared duration, and do the last ones decode?
        tail = _scan_tail(c, v, t0, declared, fresh=not head.eof)
        last_end = tail.last_end_s if tail.packets else head.last_end_s
    covered = last_end - _ts(t0, tb)
    if fmt in _UNINDEXED_FORMATS and not head.untimed:
        # FFmpeg's duration is an estimate from timestamps or bit rate; the packets are the
        # truth.  They are measured in decoding time (the frames shown are the frames
        # decoded, reordered), which holds where only some frames carry a timestamp.
        end_dts = tail.last_dts_end_s if tail.packets else head.last_dts_end_s
        if head.first_dts_s is not None and end_dts is not None and (tail.eof or head.eof):
            declared = None
            covered = end_dts - head.first_dts_s
    duration = declared if declared is not None else covered
    tolerance = max(1.0, 3 * frame_dur)
    if declared is not None and covered < declared - tolerance:
        raise IngestError(
            TRUNCATED_VIDEO,
            f"{p.name}: video packets end at {covered:.2f} s of the {declared:.2f} s declared",
        )
    if fmt == "mpeg":
        missing = _program_stream_cut(p, size)
        if missing:
            raise IngestError(
                TRUNCATED_VIDEO,
                f"{p.name}: the last MPEG-PS packet is cut short ({missing} bytes missing)",
            )
    if tail.corrupt:
        raise IngestError(TRUNCATED_VIDEO, f"{p.name}: the last video packet is cut short")
    if tail.zero_filled:
        raise IngestError(
            TRUNCATED_VIDEO, f"{p.name}: the last video packets are zero-filled (never written)"
        )
    for part, sc in (("first", head), ("last", tail)):
        # A few refusals are normal after a seek (open-GOP B-frames); most is not.
        if sc.decode_attempted and (sc.decoded == 0 or sc.decode_errors * 4 > sc.decode_tried):
            raise IngestError(
                CORRUPT_VIDEO,
                f"{p.name}: the {part} video frames do not decode "
                f"({sc.decode_errors} of {sc.decode_tried} packets refused)",
            )

    return _result(
        p,
        size,
        c,
        v,
        duration=float(duration),
        keyframes=head.keyframes,
        frame_count=frame_count,
        pix_fmt=v.codec_context.pix_fmt,
        start_offset_s=_ts(t0, tb),
        has_timestamps=not head.untimed,
    )


def _result(
    p: Path,
    size: int,
    c: InputContainer,
    v: VideoStream,
    *,
    duration: float,
    keyframes: Sequence[float],
    frame_count: int | None,
    pix_fmt: str | None,
    start_offset_s: float,
    has_timestamps: bool,
) -> ProbeResult:
    """The facts, from the open container and what was measured: one place for both
    :func:`probe` and :func:`probe_written`, so they cannot drift apart."""
    intervals = [b - a for a, b in itertools.pairwise(keyframes)]
    audio = c.streams.audio[0] if c.streams.audio else None
    fps = v.average_rate or v.guessed_rate or v.base_rate
    assert v.codec_context is not None
    return ProbeResult(
        path=p,
        size=size,
        format_name=c.format.name,
        video_codec=v.codec_context.name,
        width=int(v.width),
        height=int(v.height),
        fps=float(fps) if fps else None,
        duration_s=round(duration, 6),
        keyframe_interval_s=round(statistics.median(intervals), 6) if intervals else None,
        max_keyframe_interval_s=round(max(intervals), 6) if intervals else None,
        frame_count=frame_count,
        creation_time=_creation_time(c),
        has_audio=audio is not None,
        audio_codec=(audio.codec_context.name if audio is not None else None),
        bit_rate=int(c.bit_rate) if c.bit_rate else None,
        pix_fmt=pix_fmt,
        start_offset_s=round(start_offset_s, 6),
        has_timestamps=has_timestamps,
    )


def probe_written(
    path: str | os.PathLike[str],
    size: int,
    *,
    keyframe_dts: Sequence[int],
    time_base: Fraction,
    pix_fmt: str | None,
) -> ProbeResult:
    """What :func:`probe` says of an MP4 that this process has just written whole (a
    recorder's segment), for a fraction of its cost: the container's header gives what the
    demuxer computes (duration, frame rate, bit rate, start, creation time), and the writer
    gives what it saw go in (``keyframe_dts``: the decoding times, in ``time_base``, of the
    keyframes the probe's head scan would sample; ``pix_fmt``).  Nothing is demuxed or
    decoded (the header is read with frame decoding skipped); the completeness checks of
    :func:`probe` are moot for a file closed and renamed by its writer.

    Why: re-probing each just-written segment (demuxing its head and tail, decoding frames)
    measured nothing the recorder did not know and cost about a quarter of a recording
    worker's CPU (issue 13).  Tests compare the two on recorded segments.
    """
    p = Path(path)
    # codec options per stream (PyAV's stub says list[str]; it takes a dict per stream)
    per_stream: Any = [{"skip_frame": "all", "threads": "1"}]
    try:
        c = av.open(str(p), "r", stream_options=per_stream)
    except av.error.FFmpegError:
        return probe(p)
    with c:
        v = c.streams.video[0] if c.streams.video else None
        declared = None if v is None else _declared_duration(c, v)
        if v is None or v.time_base is None or declared is None or declared <= 0:
            return probe(p)  # not what a writer of whole MP4s leaves: the full check
        out_tb: Fraction = v.time_base
        # The muxer may have picked another time scale for the track than the input's.
        ticks = (
            keyframe_dts
            if out_tb == time_base
            else [_rescale(k, time_base, out_tb) for k in keyframe_dts]
        )
        t0 = v.start_time if v.start_time is not None else 0
        return _result(
            p,
            size,
            c,
            v,
            duration=declared,
            keyframes=[_ts(k, out_tb) for k in ticks],
            frame_count=int(v.frames) if v.frames and v.frames > 0 else None,
            pix_fmt=pix_fmt,
            start_offset_s=_ts(t0, out_tb),
            has_timestamps=True,
        )


def _rescale(value: int, src: Fraction, dst: Fraction) -> int:
    """``av_rescale_q`` with FFmpeg's default rounding (to nearest, halves away from 0)."""
    q = value * src / dst
    n = abs(q)
    r = int(n) + (1 if n - int(n) >= Fraction(1, 2) else 0)
    return r if q >= 0 else -r


def _ts(value: int, tb: Fraction) -> float:
    return float(value * tb)


def _declared_duration(c: InputContainer, v: VideoStream) -> float | None:
    if v.duration is not None and v.duration > 0 and v.time_base is not None:
        return float(v.duration * v.time_base)
    if c.duration is not None and c.duration > 0:
        return c.duration / 1_000_000
    return None


@dataclass
class _Scan:
    packets: int = 0
    decoded: int = 0
    keyframes: list[float] = field(default_factory=list)
    last_end_s: float = 0.0
    # decoding times (dts; a packet without one follows the one before it by a frame):
    first_dts_s: float | None = None
    last_dts_end_s: float | None = None
    eof: bool = False
    corrupt: bool = False
    decode_attempted: bool = False
    untimed: bool = False  # raw elementary stream: packets carry no timestamps
    decode_errors: int = 0
    decode_tried: int = 0
    zero_filled: bool = False


def _video_packets(c: InputContainer, v: VideoStream) -> Iterator[Packet]:
    """Demux only ``v`` (other streams are discarded by FFmpeg, not read into Python)."""
    try:
        for pkt in c.demux(v):
            if pkt.size == 0:
                continue
            yield pkt
    except av.error.EOFError:
        return


def _packet_end(pkt: Packet, tb: Fraction) -> float:
    ts = pkt.pts if pkt.pts is not None else pkt.dts
    assert ts is not None
    return float((ts + (pkt.duration or 0)) * tb)


def _decode(v: VideoStream, pkts: list[Packet]) -> tuple[int, int]:
    """Decode ``pkts`` (then flush); return (frames out, packets the decoder refused)."""
    frames = errors = 0
    cc = v.codec_context
    for pkt in [*pkts, None]:
        try:
            frames += len(cc.decode(pkt))
        except av.error.EOFError:
            continue
        except av.error.FFmpegError:
            errors += 1
    return frames, errors


def _track_dts(scan: _Scan, pkt: Packet, tb: Fraction, frame_dur: float) -> float | None:
    """Follow decoding time, where a packet without a timestamp (MPEG-PS carries one on some
    frames only) comes one frame after the one before it; return the packet's."""
    if pkt.dts is not None:
        dts = float(pkt.dts * tb)
    elif scan.last_dts_end_s is not None:
        dts = scan.last_dts_end_s
    elif pkt.pts is not None:
        dts = float(pkt.pts * tb)
    else:
        return None
    dur = float(pkt.duration * tb) if pkt.duration else frame_dur
    if scan.first_dts_s is None:
        scan.first_dts_s = dts
    scan.last_dts_end_s = dts + dur
    return dts


def _scan_head(c: InputContainer, v: VideoStream, frame_dur: float) -> _Scan:
    tb: Fraction = v.time_base  # type: ignore[assignment]
    scan = _Scan()
    keyframes = scan.keyframes
    first_gop: list[Packet] = []
    first_packets: list[Packet] = []
    t_start: float | None = None
    nbytes = 0
    timed = 0
    prev_t: float | None = None
    scan.eof = True
    for pkt in _video_packets(c, v):
        scan.packets += 1
        nbytes += pkt.size
        ts = pkt.pts if pkt.pts is not None else pkt.dts
        if ts is None:
            # Raw .h264 and the like have no timestamps at all: frame n is at n / fps (fps
            # assumed).  In a timed stream (MPEG-PS carries a PTS on some frames only) a
            # frame without one follows the frame before it.
            t = (scan.packets - 1) * frame_dur if prev_t is None else prev_t + frame_dur
            end = t + frame_dur
        else:
            timed += 1
            t = float(ts * tb)
            end = _packet_end(pkt, tb)
        prev_t = t
        scan.last_end_s = max(scan.last_end_s, end)
        dts = _track_dts(scan, pkt, tb, frame_dur)
        if t_start is None:
            t_start = t
        if pkt.is_keyframe:
            # keyframe spacing in decoding time: the same as in presentation time, and known
            # for a keyframe that carries no timestamp of its own
            keyframes.append(t if dts is None else dts)
        if len(first_gop) < 8 and (first_gop or pkt.is_keyframe):
            first_gop.append(pkt)
        if len(first_packets) < 8:
            first_packets.append(pkt)
        if (
            len(keyframes) >= HEAD_KEYFRAMES
            or t - t_start >= HEAD_SECONDS
            or nbytes >= HEAD_MAX_BYTES
        ):
            scan.eof = False
            break
    scan.untimed = timed == 0
    to_decode = first_gop or first_packets  # no keyframe flag at all: try what is there
    if not to_decode:
        return scan
    scan.decoded, scan.decode_errors = _decode(v, to_decode)
    scan.decode_tried = len(to_decode)
    scan.decode_attempted = True
    return scan


def _scan_tail(
    c: InputContainer,
    v: VideoStream,
    t0: int,
    declared: float | None,
    *,
    fresh: bool,
) -> _Scan:
    """Seek close to the end, demux to EOF, decode what the budget allows."""
    tb: Fraction = v.time_base  # type: ignore[assignment]
    scan = _Scan()
    if declared is None and not fresh:
        return scan
    target_s = max(0.0, (declared or 0.0) - TAIL_SECONDS)
    with contextlib.suppress(av.error.FFmpegError):
        v.codec_context.flush_buffers()
    try:
        c.seek(t0 + int(target_s / tb), stream=v, backward=True, any_frame=False)
    except av.error.FFmpegError:
        if not fresh:
            return scan  # head already reached EOF; its coverage stands
        # unseekable: fall through and read on from where the head stopped
    pkts: list[Packet] = []
    last: Packet | None = None
    frame_dur = 1.0 / float(v.average_rate) if v.average_rate else 0.04
    for pkt in _video_packets(c, v):
        if pkt.pts is None and pkt.dts is None:
            if scan.last_dts_end_s is None:
                continue  # before the first timestamp after the seek: cannot be placed
            end = scan.last_end_s
        else:
            end = _packet_end(pkt, tb)
        _track_dts(scan, pkt, tb, frame_dur)
        if pkt.is_keyframe:
            pkts = []
        pkts.append(pkt)
        if len(pkts) > 10_000:
            pkts = pkts[-1:]
        scan.packets += 1
        scan.last_end_s = max(scan.last_end_s, end)
        scan.corrupt = pkt.is_corrupt
        last = pkt
    scan.eof = True
    if last is not None:
        # NVRs that pre-allocate files leave zeros where recording stopped.
        scan.zero_filled = not any(bytes(last))
    if not scan.packets:
        return scan
    if pkts and pkts[0].is_keyframe:
        budget = TAIL_DECODE_BUDGET // max(1, int(v.width) * int(v.height))
        to_decode = pkts if len(pkts) <= budget else pkts[:1]
        scan.decode_attempted = True
        scan.decoded, scan.decode_errors = _decode(v, to_decode)
        scan.decode_tried = len(to_decode)
    return scan
