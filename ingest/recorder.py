"""Record a live stream into fixed-length MP4 segments by stream copy (no re-encoding).

Why stream copy: the stored segments are the evidence, so they must carry the camera's
own compressed frames, bit for bit; it also costs almost no CPU (nothing is decoded), so one
process records many cameras, one thread each (:class:`CameraRecorder`).  The price is that
a segment can only start on a keyframe: we cut at the first keyframe *at or after* each
boundary, so segments are ``segment_seconds`` plus up to one GOP long.

Timing.  Every segment's start and end are a connection's *anchor* plus the packet
timestamps' offset from it.  Within a connection segment *i*'s end is exactly segment
*i+1*'s start (both are the timestamp of the keyframe where the cut happens), so segments
are contiguous by construction and any gap in the record is a real gap (a reconnect).
Where the anchor comes from depends on the source:

* a live source (RTSP, HTTP): the wall clock (``clock``) when the connection's first video
  packet is read.  Buffering at connect time makes it late by up to the camera's buffer; the
  camera's known clock offset is the place to correct that;
* a **file** (a path or ``file:`` URL) is, by default, *paced at real time*: its packets are
  released at the speed their timestamps say, so the wall-clock stamps are true - a segment
  never ends after the moment it is emitted (a file read as fast as the disk allows but
  stamped by the wall clock would lie in the future: issue 15 item 1).  At its end the file
  is opened again, like a camera that loops;
* a file with ``file_start`` is *stamped by its own clock* instead: segment times are
  ``file_start`` + (packet time - first video packet time), the file is read as fast as
  possible (unless ``realtime``) and exactly once (reading it again would repeat those times).

Failures: when the source ends (EOF on a live source) or errors (network), the open segment
is closed, emitted with ``truncated=True`` and a ``reason``, and the recorder reconnects after
``reconnect_backoff`` delays (the last one repeats) until ``stop`` is set; ``on_status``
hears every state change (:mod:`ingest.health`): recording, reconnecting, offline (since
when), auth_failed (retried only every ``auth_retry_s``: cameras lock accounts after a few
failed logins).  ``stop`` closes the open segment (``truncated=True``, reason ``"stopped"``).

Every finished segment is written as ``<name>.mp4.part``, closed, hashed (SHA-256) and
renamed into place before ``on_segment`` is called, so a crash never leaves a file that
looks complete but is not.  URLs may hold camera passwords: they are never logged or put
into reasons or statuses (see :func:`ingest.streams.redact_url`).
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from ingest import health, streams
from ingest.errors import IngestError
from ingest.health import SegmentStats, StatusTracker, StreamStatus
from ingest.mp4writer import SegmentWriter
from ingest.probe import ProbeResult
from ingest.reader import PacketReader
from ingest.streams import (
    classify_error,
    is_file_source,
    open_options,
    pyav_timeout,
    redact_url,
)

__all__ = [
    "CameraRecorder",
    "RecordSummary",
    "RecordedSegment",
    "SegmentStats",
    "StreamStatus",
    "record",
    "redact_url",
]

log = logging.getLogger(__name__)

#: Audio codecs the MP4 muxer takes by stream copy.  Cameras that send G.711 (pcm_mulaw /
#: pcm_alaw) get video-only segments rather than a failed recording.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"})
#: A jump in video timestamps larger than this (or any backwards jump over 1 s) is treated
#: as a discontinuity (camera reboot, timestamp reset): the segment is closed and the
#: connection re-anchored.
DISCONTINUITY_S = 10.0
#: Holding the first packets of a live connection to anchor it (see ``_Recorder._hold``):
#: until the anchor's bound has not moved by more than ``HOLD_SETTLE_S`` for ``HOLD_LIVE_S``
#: of clock time (the burst of buffered frames is over: we are live) ...
HOLD_LIVE_S = 1.0
HOLD_SETTLE_S = 0.02
#: ... or at most this much media, or this many bytes, is held.
HOLD_S = 5
HOLD_BYTES = 8 << 20
#: A segment is handed over no earlier than its end when that is at most this far ahead.
MAX_EARLY_S = 0.5


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
    stats: SegmentStats | None = None
    #: What a probe of the file says, known from writing it (no need to probe it again).
    facts: ProbeResult | None = None


@dataclass(frozen=True)
class RecordSummary:
    """What one ``record`` call did before it returned."""

    segments: int
    connections: int  # successful opens
    failed_attempts: int  # opens that failed
    auth_failures: int = 0  # of which refused credentials
    last_status: StreamStatus | None = None


def utcnow() -> datetime:
    """Default ``clock``: aware UTC now."""
    return datetime.now(UTC)


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
        pace: float | None,
        file_start: datetime | None,
        timeout_s: float | tuple[float, float],
        options: Mapping[str, str] | None,
        audio: bool,
        prefix: str,
        on_status: Callable[[StreamStatus], None] | None,
        offline_after_s: float,
        auth_retry_s: float,
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
        self.pace = pace
        self.file_start = file_start
        self.timeout_s = pyav_timeout(url, timeout_s)
        read_timeout = timeout_s[1] if isinstance(timeout_s, tuple) else timeout_s
        self.options = open_options(url, options, read_timeout_s=read_timeout)
        self.audio = audio
        self.prefix = prefix
        self.status = StatusTracker(on_status, clock, offline_after_s, self.safe_url)
        self.auth_retry_s = auth_retry_s
        self.emitted = 0
        self.last_end_utc: datetime | None = None
        self.connections = 0
        self.failed = 0
        self.auth_failures = 0

    # -- bookkeeping ---------------------------------------------------------------
    def done(self) -> bool:
        return self.stop.is_set() or (
            self.max_segments is not None and self.emitted >= self.max_segments
        )

    def _emit(
        self,
        seg: SegmentWriter,
        end_t: Fraction,
        truncated: bool,
        reason: str | None,
        declared_fps: float | None,
    ) -> None:
        sha, size = seg.close()
        duration = end_t - seg.start_t
        try:
            facts: ProbeResult | None = seg.facts(size)
        except IngestError:  # not whole after all: the caller probes it and says why
            facts = None
        end_utc = seg.utc_at(end_t)
        gap_before = (
            None
            if self.last_end_utc is None
            else (seg.start_utc - self.last_end_utc).total_seconds()
        )
        if self.file_start is None:
            self._wait_until(end_utc)
        lag = (self.clock() - end_utc).total_seconds()
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
            stats=seg.stats(duration, declared_fps, gap_before, lag),
            facts=facts,
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

    def _wait_until(self, end_utc: datetime) -> None:
        """Hand a segment over no earlier than its end.  A frame can arrive before its
        presentation time (sent in decoding order, ahead of the B-frames shown before it); a
        segment cut at such a keyframe would otherwise end a frame or two in the future.
        Only such short waits: a clock far behind is not waited for."""
        deadline = time.monotonic() + MAX_EARLY_S  # also for a clock that does not move
        while not self.stop.is_set() and time.monotonic() < deadline:
            ahead = (end_utc - self.clock()).total_seconds()
            if not 0 < ahead <= MAX_EARLY_S:
                return
            self.stop.wait(min(ahead, 0.05))

    def _anchor_utc(self) -> datetime:
        """UTC for a (re-)anchor, never before the end of the last segment: a source that
        sent faster than real time (a burst after connecting) must not produce a record that
        overlaps itself."""
        if self.file_start is not None:
            # The file's own clock: the first anchor is the given start; a re-anchor (a
            # timestamp jump inside the file) continues where the record ended.
            return self.last_end_utc or self.file_start
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

    def _wait(self, delay: float) -> bool:
        """Sleep ``delay`` s (waking to report 'offline' on time); True if stopped."""
        end = time.monotonic() + delay
        while True:
            left = end - time.monotonic()
            due = self.status.offline_due_in()
            step = left if due is None or due <= 0 else min(left, due + 0.01)
            if step > 0 and self.stop.wait(step):
                return True
            if self.stop.is_set():
                return True
            self.status.check_offline()
            if time.monotonic() >= end:
                return False

    # -- main loop -----------------------------------------------------------------
    def run(self) -> RecordSummary:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.status.set(health.CONNECTING)
        attempt = 0
        error: tuple[str, str] | None = None
        while not self.done():
            got = False
            try:
                container = av.open(self.url, "r", options=self.options, timeout=self.timeout_s)
            except (av.error.FFmpegError, OSError) as e:
                self.failed += 1
                error = classify_error(e)
                if error[0] == streams.DROPPED:  # e.g. a TLS handshake refused: not a drop
                    error = (streams.ERROR, error[1])
                log.warning("cannot open %s: %s (%s)", self.safe_url, error[1], error[0])
            else:
                self.connections += 1
                with container:
                    got, error = self._session(container)
            if self.done() or error is None:
                break
            if self.file_start is not None:
                break  # a file on its own clock is read once: again would repeat its times
            if got:
                attempt = 0
            code, detail = error
            if code == streams.AUTH_FAILED:
                self.auth_failures += 1
                delay, state = self.auth_retry_s, health.AUTH_FAILED
            else:
                delay = self.backoff[min(attempt, len(self.backoff) - 1)]
                state = health.RECONNECTING
            attempt += 1
            self.status.set(
                state,
                error=code,
                detail=detail,
                attempts=attempt,
                retry_in_s=delay,
                connection=max(0, self.connections - 1),
            )
            self.status.check_offline()
            log.info("reconnecting to %s in %.1fs", self.safe_url, delay)
            if self._wait(delay):
                break
        cur = self.status.current
        self.status.set(
            health.STOPPED,
            error=error[0] if error is not None and not self.stop.is_set() else None,
            detail=error[1] if error is not None and not self.stop.is_set() else None,
            attempts=cur.attempts if cur is not None else 0,
            connection=max(0, self.connections - 1),
        )
        return RecordSummary(
            self.emitted, self.connections, self.failed, self.auth_failures, self.status.current
        )

    def _session(self, c: InputContainer) -> tuple[bool, tuple[str, str] | None]:
        """Read one connection until it ends.  Return whether any video packet arrived and
        why the connection ended (``None``: stopped or enough segments)."""
        if not c.streams.video:
            log.warning("%s has no video stream", self.safe_url)
            return False, (streams.NO_VIDEO, "no video stream in the source")
        v = c.streams.video[0]
        a: AudioStream | None = None
        if self.audio and c.streams.audio:
            cand = c.streams.audio[0]
            if cand.codec_context is not None and cand.codec_context.name in MP4_AUDIO_CODECS:
                a = cand
        rate = v.average_rate or v.guessed_rate
        declared_fps = round(float(rate), 3) if rate else None
        frame_dur = Fraction(1, 25) if not rate else 1 / Fraction(rate)
        packets = c.demux(*[v] if a is None else [v, a])
        reader = PacketReader(packets, v, frame_dur, self.safe_url, self.stop)

        # (stream time, UTC) of the packet that anchors this connection's timeline
        anchor: tuple[Fraction, datetime] | None = None
        held: list[Packet] = []
        if self.pace is None and self.file_start is None:
            held, anchor = self._hold(reader, v)
        pace_t0: Fraction | None = None
        pace_m0 = 0.0
        seg: SegmentWriter | None = None
        # Per video packet the work is in integer ticks of the stream's time base; times
        # become Fractions only where a segment is cut (Fraction arithmetic on every packet
        # was a good part of a 100-camera worker's Python time).
        vtb: Fraction = v.time_base  # type: ignore[assignment]
        jump_ahead = math.floor(DISCONTINUITY_S / vtb)  # ticks: further ahead is a jump
        jump_back = math.floor(1 / vtb)  # ... further back too
        frame_ticks = frame_dur / vtb
        last_ts: int | None = None  # latest video presentation time seen, in ticks
        end_ticks: Fraction | int | None = None  # latest video pts + duration, in ticks
        cut_at = 0  # the open segment ends at the first keyframe at or after this tick
        v_index = v.index  # (pkt.stream_index: pkt.stream is a lookup on every call)
        got = False

        def emit(s: SegmentWriter, end_t: Fraction, truncated: bool, why: str | None) -> None:
            self._emit(s, end_t, truncated, why, declared_fps)

        try:
            for pkt in itertools.chain(held, reader):
                is_video = pkt.stream_index == v_index
                ts = pkt.pts if pkt.pts is not None else pkt.dts
                assert ts is not None  # the reader drops untimed packets
                if self.pace is not None:
                    tb: Fraction = pkt.time_base
                    arrive = Fraction(pkt.dts if pkt.dts is not None else ts) * tb
                    if pace_t0 is None:
                        pace_t0, pace_m0 = arrive, time.monotonic()
                    delay = pace_m0 + float(arrive - pace_t0) / self.pace - time.monotonic()
                    if delay > 0 and self.stop.wait(delay):
                        break
                if not is_video:
                    if seg is not None:
                        seg.write(pkt, is_video=False)
                    continue
                if not got:
                    got = True
                    self.status.set(health.RECORDING, connection=self.connections - 1)
                if anchor is None:
                    anchor = (ts * vtb, self._anchor_utc())
                elif last_ts is not None and (
                    ts - last_ts > jump_ahead or last_ts - ts > jump_back
                ):
                    log.warning("timestamp discontinuity on %s", self.safe_url)
                    if seg is not None:
                        assert end_ticks is not None
                        done_seg, seg = seg, None
                        end = done_seg.cut_end(end_ticks * vtb)
                        emit(done_seg, end, True, "discontinuity")
                        if self.done():
                            return got, None
                    anchor = (ts * vtb, self._anchor_utc())
                    end_ticks = None
                    pace_t0 = None
                last_ts = ts
                pkt_end = ts + (pkt.duration or frame_ticks)
                if end_ticks is None or pkt_end > end_ticks:
                    end_ticks = pkt_end
                if pkt.is_keyframe and (seg is None or ts >= cut_at):
                    t = ts * vtb
                    if seg is not None:
                        done_seg, seg = seg, None
                        emit(done_seg, t, False, None)
                        if self.done():
                            return got, None
                    path = self._new_path(SegmentWriter.utc_at_anchor(anchor, t))
                    seg = SegmentWriter(path, v, a, pkt, t, anchor, frame_dur)
                    cut_at = math.ceil((t + self.segment_s) / vtb)
                if seg is not None:
                    seg.write(pkt, is_video=True)
            reason, ended = reader.reason, reader.ended
            last_end = None if end_ticks is None else end_ticks * vtb
            if self.stop.is_set():
                reason, ended = "stopped", None
            elif (
                self.pace is not None
                and self.file_start is None
                and pace_t0 is not None
                and last_end is not None
            ):
                # A paced source's last segment ends one frame after its last packet was
                # released: wait for that moment so the segment is not stamped in the future.
                delay = pace_m0 + float(last_end - pace_t0) / self.pace - time.monotonic()
                if delay > 0 and self.stop.wait(delay):
                    reason, ended = "stopped", None
        except BaseException:
            if seg is not None:
                seg.abort()
            raise
        if seg is not None:
            assert last_end is not None
            emit(seg, seg.cut_end(last_end), True, reason)
        if self.done():
            return got, None
        return got, ended

    def _hold(
        self, reader: PacketReader, v: VideoStream
    ) -> tuple[list[Packet], tuple[Fraction, datetime] | None]:
        """Anchor a live connection on the wall clock, from the packets it delivers first.

        FFmpeg reads ahead while it opens a stream, and cameras and servers send what they
        have buffered (a GOP, a second of preroll) in a burst, so the wall clock when the
        first packet comes out is *late* for that packet.  Every frame arrives after it was
        captured, so for each video packet ``read time - (its decoding time - the first
        frame's presentation time)`` bounds the first frame's time from above.  The packets
        are held while that bound still falls (the burst); once it has held still for
        ``HOLD_LIVE_S`` (live), or ``HOLD_S`` of media or ``HOLD_BYTES`` are held, the
        smallest bound is the anchor."""
        held: list[Packet] = []
        first_t: Fraction | None = None
        best: datetime | None = None
        settled_since: datetime | None = None
        settle = timedelta(seconds=HOLD_SETTLE_S)
        nbytes = 0
        for pkt in reader:
            held.append(pkt)
            nbytes += pkt.size
            if pkt.stream_index != v.index:
                continue
            ts = pkt.pts if pkt.pts is not None else pkt.dts
            assert ts is not None
            t = Fraction(ts) * pkt.time_base
            # Frames leave in decoding order: a P-frame's presentation time can be ahead of
            # when it may be sent (B-frames come after it), its decoding time is not.
            sent_t = Fraction(pkt.dts) * pkt.time_base if pkt.dts is not None else t
            now = self.clock()
            if first_t is None:
                first_t = t
            bound = now - timedelta(seconds=float(sent_t - first_t))
            if best is None or bound < best - settle:
                settled_since = now  # still in the burst: the bound moved
            best = bound if best is None else min(best, bound)
            assert settled_since is not None
            live = (now - settled_since).total_seconds() >= HOLD_LIVE_S
            if live or t - first_t >= HOLD_S or nbytes >= HOLD_BYTES:
                break
        if first_t is None or best is None:
            return held, None
        if self.last_end_utc is not None and best < self.last_end_utc:
            best = self.last_end_utc  # never overlap what is already recorded
        return held, (first_t, best)


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
    file_start: datetime | None = None,
    timeout_s: float | tuple[float, float] = (10.0, 10.0),
    options: Mapping[str, str] | None = None,
    audio: bool = True,
    prefix: str = "seg",
    on_status: Callable[[StreamStatus], None] | None = None,
    offline_after_s: float = 60.0,
    auth_retry_s: float = 300.0,
) -> RecordSummary:
    """Record ``url`` into ``out_dir`` as stream-copied MP4 segments until ``stop`` is set.

    ``url``: ``rtsp://`` / ``rtsps://`` (RTP over the RTSP TCP connection; Basic or Digest
    credentials percent-encoded in the URL, see :func:`ingest.vendors.build_rtsp_url`),
    ``http(s)://`` (MPEG-TS, HLS ``.m3u8``, ...), or a local file / ``file:`` URL.

    Timing (see the module docstring): a file is paced at real time by default, or stamped
    by its own clock from ``file_start`` (the UTC time of its first video frame; the file is
    then read once, as fast as possible).  ``realtime=True`` paces any source at ``speed`` x
    its timestamps - for tests; ``speed`` other than 1 stamps by the wall clock only with a
    ``clock`` that runs at that speed too (a ValueError otherwise), or with ``file_start``.

    ``on_segment`` is called in this thread for every closed segment (the file is complete
    and hashed by then); ``on_status`` on every state change (:mod:`ingest.health`).
    ``max_segments`` stops after that many segments.  ``timeout_s`` is (open, read) seconds;
    a stalled source counts as a drop after the read timeout.  ``offline_after_s``: how long
    the stream may be down before the state becomes ``offline``.  ``auth_retry_s``: the
    delay before trying refused credentials again.  ``options`` are passed to FFmpeg (they
    win over the defaults, e.g. ``rtsp_transport``).  Blocking; run it in a thread
    (:class:`CameraRecorder`) and set ``stop`` to end it.
    """
    if segment_seconds <= 0:
        raise ValueError("segment_seconds must be positive")
    if speed <= 0:
        raise ValueError("speed must be positive")
    if file_start is not None:
        if not is_file_source(url):
            raise ValueError("file_start applies to file sources only")
        if file_start.tzinfo is None or file_start.utcoffset() is None:
            raise ValueError("file_start must be an aware datetime")
        file_start = file_start.astimezone(UTC)
    pace: float | None = None
    if realtime:
        pace = speed
    elif is_file_source(url) and file_start is None:
        pace = 1.0  # a file stamped by the wall clock must not run ahead of it
    if pace is not None and pace != 1.0 and file_start is None and clock is utcnow:
        raise ValueError(
            f"speed {speed} with the real clock would stamp segments "
            f"{'in the future' if pace > 1 else 'in the past'}; pass a clock at that speed "
            "or file_start"
        )
    return _Recorder(
        url,
        Path(out_dir),
        segment_seconds,
        on_segment,
        stop,
        reconnect_backoff,
        max_segments,
        clock,
        pace,
        file_start,
        timeout_s,
        options,
        audio,
        prefix,
        on_status,
        offline_after_s,
        auth_retry_s,
    ).run()


class CameraRecorder:
    """:func:`record` for one camera in its own thread, with its latest state kept.

    Why: a ward's 100-200 cameras are recorded by one process, one thread each (stream copy
    leaves the threads mostly waiting on sockets, and PyAV releases the GIL while it reads
    and writes).  ``status``, ``last_segment`` and ``segments`` are what a health view needs;
    ``stop()`` closes the open segment and returns the summary.
    """

    def __init__(
        self,
        url: str,
        out_dir: str | os.PathLike[str],
        segment_seconds: float = 60,
        *,
        name: str = "camera",
        on_segment: Callable[[RecordedSegment], None] | None = None,
        on_status: Callable[[StreamStatus], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self.name = name
        self.stop_event = threading.Event()
        self.status: StreamStatus | None = None
        self.last_segment: RecordedSegment | None = None
        self.segments = 0
        self.summary: RecordSummary | None = None
        self.error: BaseException | None = None
        self._on_segment = on_segment
        self._on_status = on_status
        self._args = (url, out_dir, segment_seconds)
        self._kwargs = kwargs
        self._thread = threading.Thread(target=self._run, name=f"rec-{name}", daemon=True)

    def _segment(self, seg: RecordedSegment) -> None:
        self.last_segment = seg
        self.segments += 1
        if self._on_segment is not None:
            self._on_segment(seg)

    def _status(self, st: StreamStatus) -> None:
        self.status = st
        if self._on_status is not None:
            self._on_status(st)

    def _run(self) -> None:
        url, out_dir, seconds = self._args
        try:
            self.summary = record(
                url,
                out_dir,
                seconds,
                on_segment=self._segment,
                on_status=self._status,
                stop=self.stop_event,
                **self._kwargs,
            )
        except BaseException as e:  # kept for the owner to see; the thread must not vanish
            self.error = e
            log.exception("recorder %s failed", self.name)
            if self.status is not None:
                self.status = replace(self.status, state=health.STOPPED, error=streams.ERROR)

    def start(self) -> CameraRecorder:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> RecordSummary | None:
        self.stop_event.set()
        self._thread.join(timeout)
        return self.summary

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
