"""Cut a time window out of a camera's stored segments by stream copy (no re-encode).

The clip starts at the keyframe at or before the requested start (so nothing the investigator
asked for is missing and the first frame decodes on its own) and ends at or after the requested
end. Packets are copied unchanged; only their timestamps are rewritten so that the clip has one
continuous, monotonic timeline in which each segment sits at its recorded wall-clock offset.
Gaps in the footage are kept as gaps (the clip's timeline jumps) and are reported; overlapping
segments are shifted so that time never runs backwards, and that too is reported.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container
import av.packet
import av.stream

from evidence.errors import CutError, SourceMissingError
from evidence.hashing import sha256_file

#: A jump of more than this many frame durations between segments is reported as a gap.
GAP_FRAMES = 2.0


@dataclass(frozen=True)
class SourceSegment:
    """One stored original: its local path, the corrected UTC wall time of its first frame,
    and the SHA-256 taken at acquisition."""

    path: Path
    start: datetime
    sha256: str
    segment_id: str | int | None = None


@dataclass(frozen=True)
class SourceUse:
    """Which part of a source went into the clip."""

    segment_id: str | int | None
    path: Path
    sha256: str
    segment_start: datetime
    used_from: datetime
    used_to: datetime
    packets: int
    #: seconds this segment was moved later because it overlapped the one before (0 normally)
    shift_s: float = 0.0


@dataclass(frozen=True)
class Gap:
    """A part of the requested window for which there is no footage."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass
class ClipResult:
    path: Path
    requested_start: datetime
    requested_end: datetime
    actual_start: datetime
    actual_end: datetime
    sources_used: list[SourceUse]
    sha256: str | None
    size: int
    packets: int = 0
    gaps: list[Gap] = field(default_factory=list)
    overlaps_s: float = 0.0
    codec: str = ""
    width: int = 0
    height: int = 0
    #: streams copied into the clip (video only: audio, data and subtitle streams stay in the
    #: originals, which travel in the package unchanged)
    streams: list[str] = field(default_factory=lambda: ["video"])

    @property
    def duration_s(self) -> float:
        return (self.actual_end - self.actual_start).total_seconds()

    def derivation(self) -> dict[str, Any]:
        """How this clip was made, for the package manifest."""
        return {
            "method": "stream copy (no re-encode), H.264 packets copied unchanged, "
            "timestamps rewritten to one continuous timeline",
            "tool": tool_versions(),
            "parameters": {
                "requested_start": iso(self.requested_start),
                "requested_end": iso(self.requested_end),
                "start_rule": "keyframe at or before requested start",
                "end_rule": "first complete frame set reaching requested end",
                "streams": self.streams,
            },
            "actual_start": iso(self.actual_start),
            "actual_end": iso(self.actual_end),
            "gaps": [{"start": iso(g.start), "end": iso(g.end)} for g in self.gaps],
            "overlap_shift_s": round(self.overlaps_s, 6),
            "sources": [
                {
                    "segment_id": u.segment_id,
                    "file": u.path.name,
                    "sha256": u.sha256,
                    "segment_start": iso(u.segment_start),
                    "used_from": iso(u.used_from),
                    "used_to": iso(u.used_to),
                    "packets": u.packets,
                    "shift_s": round(u.shift_s, 6),
                }
                for u in self.sources_used
            ],
        }


def iso(t: datetime) -> str:
    """ISO 8601 in UTC with microseconds and an explicit offset."""
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def tool_versions() -> dict[str, str]:
    libs = {k: ".".join(str(p) for p in v) for k, v in av.library_versions.items()}
    return {
        "name": "wardcam.evidence",
        "pyav": str(av.__version__),
        "libavformat": libs.get("libavformat", ""),
        "libavcodec": libs.get("libavcodec", ""),
    }


def _utc(t: datetime, name: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {t!r}")
    return t.astimezone(UTC)


def _ticks(seconds: Fraction | float, tb: Fraction) -> int:
    return round(Fraction(seconds) / tb)


def _secs(td: timedelta) -> Fraction:
    return Fraction(td.days * 86400 + td.seconds) + Fraction(td.microseconds, 1_000_000)


class _Open:
    """An opened source with what the cut needs to know about it."""

    def __init__(self, seg: SourceSegment) -> None:
        self.seg = seg
        path = Path(seg.path)
        if not path.is_file():
            raise SourceMissingError(f"{path}: original is missing")
        try:
            self.container: av.container.InputContainer = av.open(str(path), "r")
        except av.FFmpegError as exc:
            raise CutError(f"{path}: not readable as video ({exc})", code="corrupt_source") from exc
        if not self.container.streams.video:
            self.container.close()
            raise CutError(f"{path}: has no video stream", code="corrupt_source")
        self.stream = self.container.streams.video[0]
        if self.stream.time_base is None:
            self.container.close()
            raise CutError(f"{path}: video stream has no time base", code="corrupt_source")
        self.tb: Fraction = Fraction(self.stream.time_base)
        self.start_pts: int = self.stream.start_time or 0
        if self.stream.duration:
            dur = self.stream.duration * self.tb
        elif self.container.duration:
            dur = Fraction(self.container.duration, 1_000_000)
        else:
            dur = Fraction(0)
        self.duration = dur
        self.end = seg.start + timedelta(seconds=float(dur))
        rate = self.stream.average_rate or self.stream.guessed_rate
        self.frame_ticks = _ticks(1 / Fraction(rate), self.tb) if rate else 1
        cc = self.stream.codec_context
        self.codec = cc.name
        self.width = cc.width
        self.height = cc.height
        self.extradata = bytes(cc.extradata or b"")

    def wall(self, pts: int) -> datetime:
        return self.seg.start + timedelta(seconds=float((pts - self.start_pts) * self.tb))

    def close(self) -> None:
        self.container.close()


def select_sources(
    sources: list[SourceSegment], start: datetime, end: datetime
) -> list[SourceSegment]:
    """The sources a cut of [start, end) reads, in time order: those whose footage overlaps
    the window (each segment begins with a keyframe, so the keyframe at or before ``start`` is
    in the first of them). Opens each candidate to learn its length."""
    start = _utc(start, "start")
    end = _utc(end, "end")
    chosen = []
    for seg in sorted(sources, key=lambda s: _utc(s.start, "segment start")):
        if seg.start >= end:
            break
        o = _Open(seg)
        try:
            if o.end > start:
                chosen.append(seg)
        finally:
            o.close()
    return chosen


def cut_clip(
    sources: list[SourceSegment],
    start: datetime,
    end: datetime,
    out_path: str | os.PathLike[str],
    *,
    compute_sha256: bool = True,
) -> ClipResult:
    """Stream-copy the window [start, end) of one camera's segments into a playable MP4.

    ``sources`` are the camera's segments (any order; only those overlapping the window are
    read). Returns requested and actual start/end, the parts of each source used, and gaps.
    Raises :class:`CutError` (code ``no_footage``, ``incompatible_segments``,
    ``corrupt_source``) or :class:`SourceMissingError`; on error no output file is left.
    Hash checking of the originals is :func:`evidence.hashing.verify_sources`' job.
    """
    start = _utc(start, "start")
    end = _utc(end, "end")
    if end <= start:
        raise ValueError(f"window end {end.isoformat()} is not after start {start.isoformat()}")
    out = Path(out_path)
    tmp = out.with_name(f".{out.name}.part")
    ordered = sorted(sources, key=lambda s: _utc(s.start, "segment start"))
    try:
        result = _cut(ordered, start, end, out, tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    result.size = out.stat().st_size
    if compute_sha256:
        result.sha256 = sha256_file(out)
    return result


def _cut(
    ordered: list[SourceSegment], start: datetime, end: datetime, out: Path, tmp: Path
) -> ClipResult:
    # Pick the sources that overlap the window (opening each one only to learn its length).
    opened: list[_Open] = []
    try:
        for seg in ordered:
            if _utc(seg.start, "segment start") >= end:
                break
            o = _Open(seg)
            if o.end <= start:
                o.close()
                continue
            opened.append(o)
        if not opened:
            raise CutError(
                f"no footage between {iso(start)} and {iso(end)}", code="no_footage"
            )
        first = opened[0]
        for o in opened[1:]:
            if (o.codec, o.width, o.height, o.extradata) != (
                first.codec,
                first.width,
                first.height,
                first.extradata,
            ):
                raise CutError(
                    f"{o.seg.path}: codec parameters differ from {first.seg.path} "
                    f"({o.codec} {o.width}x{o.height} vs {first.codec} "
                    f"{first.width}x{first.height}); these segments cannot be joined by "
                    "stream copy",
                    code="incompatible_segments",
                )
        return _mux(opened, start, end, out, tmp)
    finally:
        for o in opened:
            o.close()


def _mux(opened: list[_Open], start: datetime, end: datetime, out: Path, tmp: Path) -> ClipResult:
    first = opened[0]
    tb = first.tb  # the clip's time base
    frame_ticks = max(1, _ticks(first.frame_ticks * first.tb, tb))
    gap_ticks = round(GAP_FRAMES * frame_ticks)

    uses: list[SourceUse] = []
    gaps: list[Gap] = []
    total_shift = Fraction(0)

    origin: datetime | None = None  # wall time of clip pts 0 (the start keyframe)
    end_ticks = 0
    max_pts = -1  # highest output pts written
    max_end = 0  # highest output pts + duration written
    last_dts = -(1 << 62)
    n_packets = 0
    done = False

    with av.open(str(tmp), "w", format="mp4") as oc:
        ost = oc.add_stream_from_template(first.stream)
        ost.time_base = first.stream.time_base
        mux = oc.mux_one

        for o in opened:
            if done:
                break
            shift = Fraction(0)
            pending: list[av.packet.Packet]
            drop_leading = origin is None  # this source holds the start keyframe
            if origin is None:
                # First source: find the keyframe at or before the requested start.
                target = o.start_pts + _ticks(_secs(start - o.seg.start), o.tb)
                margin = _ticks(2, o.tb)
                if target - margin > o.start_pts:
                    o.container.seek(target - margin, stream=o.stream, backward=True)
                kf_pts: int | None = None
                buf: list[av.packet.Packet] = []
                it = o.container.demux(o.stream)
                for pkt in it:
                    if pkt.dts is None:
                        continue
                    pts = pkt.pts if pkt.pts is not None else pkt.dts
                    if pkt.is_keyframe and (pts <= target or kf_pts is None):
                        buf = [pkt]
                        kf_pts = pts
                        if pts > target:
                            break  # no keyframe at or before start: begin at the first one
                        continue
                    if kf_pts is None:
                        continue
                    buf.append(pkt)
                    if pkt.is_keyframe or pkt.dts > target:
                        break
                if kf_pts is None:
                    continue  # no decodable frame in this source; try the next one
                origin = o.wall(kf_pts)
                end_ticks = _ticks(_secs(end - origin), tb)
                base = kf_pts  # source pts that maps to clip pts 0
                off = 0
                pending = buf
            else:
                first_out = _ticks(_secs(o.seg.start - origin), tb)
                if first_out < max_end:
                    # overlaps what is already in: move it later so time never runs backwards
                    shift = (max_end - first_out) * tb
                    first_out = max_end
                    if shift > frame_ticks * tb / 2:
                        total_shift += shift
                elif first_out - max_end > gap_ticks:
                    gaps.append(
                        Gap(origin + timedelta(seconds=float(max_end * tb)), o.seg.start)
                    )
                base = o.start_pts
                off = first_out
                it = o.container.demux(o.stream)
                pending = []

            # source ticks -> clip ticks: out = (src - base) * num / den + off
            ratio = o.tb / tb
            num, den = ratio.numerator, ratio.denominator
            same = num == den
            delta = off - base
            fdur = o.frame_ticks
            lo = 1 << 62
            hi = -(1 << 62)
            count = 0
            for pkt in itertools.chain(pending, it):
                dts = pkt.dts
                if dts is None:
                    continue
                ppts = pkt.pts
                pts = dts if ppts is None else ppts
                dur = pkt.duration or fdur
                if same:
                    pts += delta
                    dts += delta
                else:
                    pts = ((pts - base) * num * 2 + den) // (2 * den) + off
                    dts = ((dts - base) * num * 2 + den) // (2 * den) + off
                    dur = max(1, (dur * num * 2 + den) // (2 * den))
                    pkt.time_base = tb
                if pts < 0 and drop_leading:
                    continue  # leading frames of an open GOP: not decodable, not shown
                if pts > max_pts:
                    if max_end >= end_ticks and max_pts >= 0:
                        done = True  # all of the window is in and the frame set is complete
                        break
                    max_pts = pts
                if dts <= last_dts:
                    dts = last_dts + 1
                    if pts < dts:
                        pts = dts
                pkt.pts = pts
                pkt.dts = dts
                pkt.duration = dur
                pkt.stream = ost
                mux(pkt)
                last_dts = dts
                if pts + dur > max_end:
                    max_end = pts + dur
                if pts < lo:
                    lo = pts
                if pts + dur > hi:
                    hi = pts + dur
                count += 1
            n_packets += count
            if count:
                assert origin is not None
                uses.append(
                    SourceUse(
                        o.seg.segment_id,
                        Path(o.seg.path),
                        o.seg.sha256,
                        o.seg.start,
                        origin + timedelta(seconds=float(lo * tb)),
                        origin + timedelta(seconds=float(hi * tb)),
                        count,
                        float(shift),
                    )
                )
            if max_end >= end_ticks and max_pts >= 0:
                done = True

    if origin is None or n_packets == 0:
        raise CutError(f"no footage between {iso(start)} and {iso(end)}", code="no_footage")
    actual_start = origin
    actual_end = origin + timedelta(seconds=float(max_end * tb))
    if actual_start > start:
        gaps.insert(0, Gap(start, actual_start))
    if actual_end < end:
        gaps.append(Gap(actual_end, end))
    return ClipResult(
        path=out,
        requested_start=start,
        requested_end=end,
        actual_start=actual_start,
        actual_end=actual_end,
        sources_used=uses,
        sha256=None,
        size=0,
        packets=n_packets,
        gaps=gaps,
        overlaps_s=float(total_shift),
        codec=first.codec,
        width=first.width,
        height=first.height,
    )


@dataclass(frozen=True)
class ClipCheck:
    frames: int
    duration_s: float
    codec: str
    width: int
    height: int


def check_playable(path: str | os.PathLike[str]) -> ClipCheck:
    """Decode every frame of a clip (slow: for tests, demos and spot checks). Raises
    :class:`CutError` (code ``unplayable``) if it does not decode or has no frames."""
    try:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            n = 0
            first: int | None = None
            last_end = 0
            for f in c.decode(s):
                if f.pts is None:
                    continue
                if first is None:
                    first = f.pts
                last_end = max(last_end, f.pts + (f.duration or 0))
                n += 1
            tb = Fraction(s.time_base) if s.time_base else Fraction(0)
            cc = s.codec_context
            if n == 0 or first is None:
                raise CutError(f"{path}: no decodable frames", code="unplayable")
            return ClipCheck(n, float((last_end - first) * tb), cc.name, cc.width, cc.height)
    except (av.FFmpegError, IndexError) as exc:
        raise CutError(f"{path}: does not decode ({exc})", code="unplayable") from exc
