"""Record a live stream into fixed-length MP4 segments by stream copy (no re-encoding).

Why stream copy: the stored segments are the evidence, so they must carry the camera's
own compressed frames, bit for bit; it also costs almost no CPU, so one process records
many cameras.  The price is that a segment can only start on a keyframe: we cut at the
first keyframe *at or after* each boundary, so segments are ``segment_seconds`` plus up to
one GOP long.

Timing: the wall-clock (UTC, from ``clock``) at which the first packet of a connection is
read anchors that connection; every other time is that anchor plus the packet timestamp
offset.  Within a connection, segment *i*'s end is exactly segment *i+1*'s start (both
are the timestamp of the keyframe where the cut happens), so segments are contiguous by
construction and any gap in the record is a real gap (a reconnect).  Stream buffering at
connect time makes the anchor late by up to the demuxer's probe window (~0.5-5 s); the
camera's known clock offset is the place to correct that.

Failures: when the source ends (EOF on a live source) or errors (network), the open
segment is closed, emitted with ``truncated=True`` and a ``reason``, and the recorder
reconnects after ``reconnect_backoff`` delays (the last one repeats) until ``stop`` is set.
``stop`` closes the open segment (``truncated=True``, reason ``"stopped"``) and returns.

Every finished segment is written as ``<name>.mp4.part``, closed, hashed (SHA-256) and
renamed into place before ``on_segment`` is called, so a crash never leaves a file that
looks complete but is not.  URLs may hold camera passwords: they are never logged or
put into reasons (see :func:`redact_url`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import av
import av.error
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

__all__ = ["RecordSummary", "RecordedSegment", "record", "redact_url"]

log = logging.getLogger(__name__)

#: Audio codecs the MP4 muxer takes by stream copy.  Cameras that send G.711 (pcm_mulaw /
#: pcm_alaw) get video-only segments rather than a failed recording.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"})
#: A jump in video timestamps larger than this (or any backwards jump over 1 s) is treated
#: as a discontinuity (camera reboot, timestamp reset): the segment is closed and the
#: connection re-anchored to the wall clock.
DISCONTINUITY_S = 10.0


@dataclass(frozen=True)
class RecordedSegment:
    """One closed segment file.  Times are aware UTC; ``sha256``/``size`` are of the file."""

    path: Path
    start_utc: datetime
    end_utc: datetime
    duration_s: float
    sha256: str
    size: int
    truncated: bool  # shorter than a full segment because the source dropped or we stopped
    reason: str | None  # "eof", "timeout", "error: ...", "stopped", "discontinuity"; None if full
    index: int = 0  # 0-based count of segments emitted by this ``record`` call
    connection: int = 0  # 0-based count of the connection that produced it
    video_packets: int = 0
    has_audio: bool = False


@dataclass(frozen=True)
class RecordSummary:
    """What one ``record`` call did before it returned."""

    segments: int
    connections: int  # successful opens
    failed_attempts: int  # opens that failed


def utcnow() -> datetime:
    """Default ``clock``: aware UTC now."""
    return datetime.now(UTC)


def redact_url(url: str) -> str:
    """``rtsp://user:pw@cam/x`` -> ``rtsp://***@cam/x``; query strings are dropped too."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if not parts.scheme or len(parts.scheme) == 1:  # a plain path (or a Windows drive)
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username or parts.password:
        host = f"***@{host}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _open_options(url: str, options: Mapping[str, str] | None) -> dict[str, str]:
    scheme = urlsplit(url).scheme.lower() if "://" in url else "file"
    opts: dict[str, str] = {}
    if scheme in {"rtsp", "rtsps"}:
        opts["rtsp_transport"] = "tcp"  # UDP loses packets on real networks -> broken GOPs
    if options:
        opts.update(options)
    return opts


class _Segment:
    """One output MP4 being written; timestamps rebased so the file starts near 0."""

    def __init__(
        self,
        final_path: Path,
        v_in: VideoStream,
        a_in: AudioStream | None,
        first: Packet,
        start_t: Fraction,
        anchor: tuple[Fraction, datetime],
    ) -> None:
        self.final_path = final_path
        self.part_path = final_path.with_name(final_path.name + ".part")
        self.anchor = anchor
        self.start_t = start_t
        self.start_utc = start_utc = self.utc_at(start_t)
        self.v_in = v_in
        self.a_in = a_in
        self.video_packets = 0
        self.audio_packets = 0
        self.rejected_packets = 0
        self.out: OutputContainer = av.open(str(self.part_path), "w", format="mp4")
        try:
            self.out.metadata["creation_time"] = start_utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            self.v_out = self.out.add_stream_from_template(v_in)
            self.a_out: Stream | None = None
            if a_in is not None:
                try:
                    self.a_out = self.out.add_stream_from_template(a_in)
                except (av.error.FFmpegError, ValueError):
                    self.a_out = None
            vtb: Fraction = v_in.time_base  # type: ignore[assignment]
            base = first.dts if first.dts is not None else first.pts
            assert base is not None
            self.origin_s = Fraction(base) * vtb  # input time that maps to 0 in this file
            self.last_dts: dict[int, int] = {}
        except BaseException:
            self.abort()
            raise

    @staticmethod
    def utc_at_anchor(anchor: tuple[Fraction, datetime], t: Fraction) -> datetime:
        """Wall-clock UTC of stream time ``t``: the connection's anchor plus the offset."""
        anchor_t, anchor_utc = anchor
        return anchor_utc + timedelta(seconds=float(t - anchor_t))

    def utc_at(self, t: Fraction) -> datetime:
        """Start and end both go through here, so equal ``t`` give equal (rounded) times."""
        return self.utc_at_anchor(self.anchor, t)

    def write(self, pkt: Packet, is_video: bool) -> None:
        in_stream = self.v_in if is_video else self.a_in
        out_stream = self.v_out if is_video else self.a_out
        if in_stream is None or out_stream is None:
            return
        tb: Fraction = in_stream.time_base  # type: ignore[assignment]
        off = round(self.origin_s / tb)
        dts = pkt.dts if pkt.dts is not None else pkt.pts
        if dts is None:
            return
        pts = pkt.pts if pkt.pts is not None else dts
        dts -= off
        pts -= off
        if dts < 0:
            if not is_video:
                return  # audio from before the cut keyframe: belongs to the previous file
            pts, dts = pts - dts, 0
        last = self.last_dts.get(out_stream.index)
        if last is not None and dts <= last:
            if not is_video:
                return
            dts = last + 1
            pts = max(pts, dts)
        pkt.dts = dts
        pkt.pts = pts
        pkt.stream = out_stream
        try:
            self.out.mux(pkt)
        except av.error.OSError:
            raise  # the disk, not the packet: let the caller know
        except av.error.FFmpegError as e:
            # One packet the muxer refuses (odd timestamps from a camera) must not end the
            # recording; it is counted and logged.
            self.rejected_packets += 1
            log.debug("muxer refused a packet: %s", _errtext(e))
            return
        self.last_dts[out_stream.index] = dts
        if is_video:
            self.video_packets += 1
        else:
            self.audio_packets += 1

    def close(self) -> tuple[str, int]:
        """Finish the MP4, move it into place; return (sha256, size)."""
        try:
            self.out.close()
            os.replace(self.part_path, self.final_path)
        except BaseException:
            self.abort()
            raise
        with self.final_path.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        return digest, self.final_path.stat().st_size

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.out.close()
        with contextlib.suppress(FileNotFoundError):
            self.part_path.unlink()


class _Recorder:
    def __init__(
        self,
        url: str,
        out_dir: Path,
        segment_seconds: float,
        on_segment: Callable[[RecordedSegment], None],
        stop: threading.Event,
        backoff: Sequence[float],
        max_segments: int | None,
        clock: Callable[[], datetime],
        realtime: bool,
        speed: float,
        timeout_s: float | tuple[float, float],
        options: Mapping[str, str] | None,
        audio: bool,
        prefix: str,
    ) -> None:
        self.url = url
        self.safe_url = redact_url(url)
        self.out_dir = out_dir
        self.segment_s = Fraction(segment_seconds)
        self.on_segment = on_segment
        self.stop = stop
        self.backoff = tuple(backoff) or (1.0,)
        self.max_segments = max_segments
        self.clock = clock
        self.realtime = realtime
        self.speed = speed
        self.timeout_s = timeout_s
        self.options = _open_options(url, options)
        self.audio = audio
        self.prefix = prefix
        self.emitted = 0
        self.last_end_utc: datetime | None = None
        self.connections = 0
        self.failed = 0

    # -- bookkeeping ---------------------------------------------------------------
    def done(self) -> bool:
        return self.stop.is_set() or (
            self.max_segments is not None and self.emitted >= self.max_segments
        )

    def _emit(self, seg: _Segment, end_t: Fraction, truncated: bool, reason: str | None) -> None:
        sha, size = seg.close()
        duration = end_t - seg.start_t
        end_utc = seg.utc_at(end_t)
        rs = RecordedSegment(
            path=seg.final_path,
            start_utc=seg.start_utc,
            end_utc=end_utc,
            duration_s=float(duration),
            sha256=sha,
            size=size,
            truncated=truncated,
            reason=reason,
            index=self.emitted,
            connection=self.connections - 1,
            video_packets=seg.video_packets,
            has_audio=seg.a_out is not None and seg.audio_packets > 0,
        )
        self.emitted += 1
        self.last_end_utc = end_utc
        log.info(
            "segment %s %s..%s %.2fs%s",
            rs.path.name,
            rs.start_utc.isoformat(),
            rs.end_utc.isoformat(),
            rs.duration_s,
            f" truncated ({reason})" if truncated else "",
        )
        self.on_segment(rs)

    def _anchor_now(self) -> datetime:
        """Wall clock for a (re-)anchor, never before the end of the last segment: a source
        that sent faster than real time (a burst after connecting) must not produce a record
        that overlaps itself."""
        now = self.clock()
        if self.last_end_utc is not None and now < self.last_end_utc:
            log.warning(
                "clock %s is before the previous segment's end; using that end", now.isoformat()
            )
            return self.last_end_utc
        return now

    def _new_path(self, start_utc: datetime) -> Path:
        stamp = start_utc.strftime("%Y%m%dT%H%M%S") + f".{start_utc.microsecond // 1000:03d}Z"
        return self.out_dir / f"{self.prefix}_{stamp}_{self.emitted:06d}.mp4"

    # -- main loop -----------------------------------------------------------------
    def run(self) -> RecordSummary:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        attempt = 0
        while not self.done():
            try:
                container = av.open(self.url, "r", options=self.options, timeout=self.timeout_s)
            except (av.error.FFmpegError, OSError) as e:
                self.failed += 1
                log.warning("cannot open %s: %s", self.safe_url, _errtext(e))
            else:
                self.connections += 1
                with container:
                    got_packets = self._session(container)
                if got_packets:
                    attempt = 0
            if self.done():
                break
            delay = self.backoff[min(attempt, len(self.backoff) - 1)]
            attempt += 1
            log.info("reconnecting to %s in %.1fs", self.safe_url, delay)
            if self.stop.wait(delay):
                break
        return RecordSummary(self.emitted, self.connections, self.failed)

    def _session(self, c: InputContainer) -> bool:
        """Read one connection until it ends; return whether any video packet arrived."""
        if not c.streams.video:
            log.warning("%s has no video stream", self.safe_url)
            return False
        v = c.streams.video[0]
        a: AudioStream | None = None
        if self.audio and c.streams.audio:
            cand = c.streams.audio[0]
            if cand.codec_context is not None and cand.codec_context.name in MP4_AUDIO_CODECS:
                a = cand
        rate = v.average_rate or v.guessed_rate
        frame_dur = Fraction(1, 25) if not rate else 1 / Fraction(rate)

        # (stream time, UTC) of the packet that anchors this connection's timeline
        anchor: tuple[Fraction, datetime] | None = None
        pace_t0: Fraction | None = None
        pace_m0 = 0.0
        seg: _Segment | None = None
        last_t: Fraction | None = None  # latest video presentation time seen
        last_end: Fraction | None = None  # latest video pts + duration
        got = False
        reason = "eof"

        packets = c.demux(*[v] if a is None else [v, a])
        try:
            while True:
                # Only reading is the source's failure; errors while writing (disk) or in
                # on_segment propagate to the caller after the open segment is removed.
                try:
                    pkt = next(packets)
                except StopIteration:
                    reason = "stopped" if self.stop.is_set() else "eof"
                    break
                except av.error.ExitError:  # PyAV's read timeout interrupts the read
                    reason = "timeout"
                    log.warning("%s stalled (no data for the read timeout)", self.safe_url)
                    break
                except (av.error.FFmpegError, OSError) as e:
                    reason = f"error: {_errtext(e)}"
                    log.warning("%s dropped: %s", self.safe_url, _errtext(e))
                    break
                if self.stop.is_set():
                    reason = "stopped"
                    break
                if pkt.size == 0:
                    continue
                is_video = pkt.stream.index == v.index
                ts = pkt.pts if pkt.pts is not None else pkt.dts
                if ts is None:
                    continue
                tb: Fraction = pkt.time_base
                t = Fraction(ts) * tb
                if self.realtime:
                    if pace_t0 is None:
                        pace_t0, pace_m0 = t, time.monotonic()
                    delay = pace_m0 + float(t - pace_t0) / self.speed - time.monotonic()
                    if delay > 0 and self.stop.wait(delay):
                        reason = "stopped"
                        break
                if not is_video:
                    if seg is not None:
                        seg.write(pkt, is_video=False)
                    continue
                got = True
                if anchor is None:
                    anchor = (t, self._anchor_now())
                elif last_t is not None and (t > last_t + DISCONTINUITY_S or t < last_t - 1):
                    log.warning("timestamp discontinuity on %s", self.safe_url)
                    if seg is not None:
                        assert last_end is not None
                        done_seg, seg = seg, None
                        self._emit(done_seg, last_end, True, "discontinuity")
                        if self.done():
                            return got
                    anchor = (t, self._anchor_now())
                    last_end = None
                    pace_t0 = None
                last_t = t
                dur = Fraction(pkt.duration) * tb if pkt.duration else frame_dur
                last_end = t + dur if last_end is None else max(last_end, t + dur)
                if pkt.is_keyframe and (seg is None or t >= seg.start_t + self.segment_s):
                    if seg is not None:
                        done_seg, seg = seg, None
                        self._emit(done_seg, t, False, None)
                        if self.done():
                            return got
                    path = self._new_path(_Segment.utc_at_anchor(anchor, t))
                    seg = _Segment(path, v, a, pkt, t, anchor)
                if seg is not None:
                    seg.write(pkt, is_video=True)
        except BaseException:
            if seg is not None:
                seg.abort()
            raise
        if seg is not None:
            assert last_end is not None
            self._emit(seg, last_end, True, reason)
        return got


def _errtext(e: BaseException) -> str:
    """Error text without the file name (which, for a stream, is the URL with password)."""
    if isinstance(e, av.error.FFmpegError | OSError) and e.strerror:
        return str(e.strerror)
    return type(e).__name__


def record(
    url: str,
    out_dir: str | os.PathLike[str],
    segment_seconds: float = 60,
    *,
    on_segment: Callable[[RecordedSegment], None],
    stop: threading.Event,
    reconnect_backoff: Sequence[float] = (1, 2, 4, 8, 30),
    max_segments: int | None = None,
    clock: Callable[[], datetime] = utcnow,
    realtime: bool = False,
    speed: float = 1.0,
    timeout_s: float | tuple[float, float] = (10.0, 10.0),
    options: Mapping[str, str] | None = None,
    audio: bool = True,
    prefix: str = "seg",
) -> RecordSummary:
    """Record ``url`` into ``out_dir`` as stream-copied MP4 segments until ``stop`` is set.

    ``url``: ``rtsp://`` (forced over TCP), ``http(s)://`` (MPEG-TS, HLS ``.m3u8``, ...),
    or a local file/``file:`` URL.  ``realtime=True`` paces packets by their timestamps
    (at ``speed`` x) so a file behaves like a live camera - for tests and demos; live
    sources pace themselves.  ``on_segment`` is called in this thread for every closed
    segment (the file is complete and hashed by then).  ``max_segments`` stops after that
    many segments.  ``timeout_s`` is (open, read) seconds; a stalled source counts as a
    drop after the read timeout.  ``options`` are passed to FFmpeg (``rtsp_transport=tcp``
    is the default for RTSP).  Blocking; run it in a thread and set ``stop`` to end it.
    """
    if segment_seconds <= 0:
        raise ValueError("segment_seconds must be positive")
    if speed <= 0:
        raise ValueError("speed must be positive")
    return _Recorder(
        url,
        Path(out_dir),
        segment_seconds,
        on_segment,
        stop,
        reconnect_backoff,
        max_segments,
        clock,
        realtime,
        speed,
        timeout_s,
        options,
        audio,
        prefix,
    ).run()
