"""One segment file being written by stream copy, and what its packets measure.

Why its own module: the recorder decides *where* to cut and *what time* it is; this writes the
camera's packets, unchanged, into an MP4 whose timestamps start near 0, and counts what a
health view needs (packets, bytes, keyframes, holes) on the way, without decoding anything.
The file is written as ``<name>.part`` and moved into place only when closed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from ingest.health import SegmentStats
from ingest.probe import (
    HEAD_KEYFRAMES,
    HEAD_MAX_BYTES,
    HEAD_SECONDS,
    ProbeResult,
    probe_written,
)
from ingest.streams import error_text

__all__ = ["GAP_FRAMES", "GAP_MIN_S", "SegmentWriter"]

log = logging.getLogger(__name__)

#: A hole between two frames counts as a gap when longer than this many frame intervals...
GAP_FRAMES = 3
#: ... and at least this long.
GAP_MIN_S = 0.5


class SegmentWriter:
    """One output MP4 being written; timestamps rebased so the file starts near 0."""

    def __init__(
        self,
        final_path: Path,
        v_in: VideoStream,
        a_in: AudioStream | None,
        first: Packet,
        start_t: Fraction,
        anchor: tuple[Fraction, datetime],
        frame_dur: Fraction,
    ) -> None:
        self.final_path = final_path
        self.part_path = final_path.with_name(final_path.name + ".part")
        self.anchor = anchor
        self.start_t = start_t
        self.start_utc = start_utc = self.utc_at(start_t)
        self.v_in = v_in
        self.a_in = a_in
        self.frame_dur = frame_dur
        self.gap_limit = max(GAP_FRAMES * frame_dur, Fraction(GAP_MIN_S))
        self.video_packets = self.audio_packets = self.rejected_packets = 0
        self.video_bytes = self.audio_bytes = self.keyframes = self.corrupt = 0
        self.gaps = 0
        self.gap_s = Fraction(0)
        # Per packet everything is in integer ticks of the input's time base (Fraction
        # arithmetic per packet was a good part of a 100-camera worker's Python time).
        self.vtb: Fraction = v_in.time_base  # type: ignore[assignment]
        self.gap_limit_ticks = math.floor(self.gap_limit / self.vtb)  # step > it: a gap
        self.max_interval_ticks = 0
        self.prev_video_dts: int | None = None
        self.dur_end: int | None = None  # latest dts + duration (packets with a duration)
        self.bare_dts: int | None = None  # latest dts of packets without one
        # What a probe of the file would sample at its head (ingest.probe._scan_head): the
        # decoding times of the first keyframes, in the input time base, as written.
        self.head_keyframes: list[int] = []
        self.head_open = True
        self.head_bytes = 0
        self.head_first_pts: int | None = None
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
            base = first.dts if first.dts is not None else first.pts
            assert base is not None
            self.origin_s = Fraction(base) * self.vtb  # input time that maps to 0 in this file
            # pts - dts of the first keyframe: the decoding delay of a stream with B-frames
            self.reorder = start_t - self.origin_s
            self.last_dts: dict[int, int] = {}
            # the offset that maps the origin to 0, in each input stream's ticks
            self.off_v = round(self.origin_s / self.vtb)
            atb = a_in.time_base if a_in is not None else None
            self.off_a = round(self.origin_s / atb) if atb else 0
            self.head_limit = math.ceil(HEAD_SECONDS / self.vtb)
        except BaseException:
            self.abort()
            raise

    @staticmethod
    def utc_at_anchor(anchor: tuple[Fraction, datetime], t: Fraction) -> datetime:
        """UTC of stream time ``t``: the connection's anchor plus the offset."""
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
        off = self.off_v if is_video else self.off_a
        dts = pkt.dts if pkt.dts is not None else pkt.pts
        if dts is None:
            return
        pts = pkt.pts if pkt.pts is not None else dts
        if is_video:
            self._measure(dts, pkt)
            if pkt.duration:
                end = dts + pkt.duration
                if self.dur_end is None or end > self.dur_end:
                    self.dur_end = end
            elif self.bare_dts is None or dts > self.bare_dts:
                self.bare_dts = dts
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
        size = pkt.size
        key = is_video and pkt.is_keyframe
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
            log.debug("muxer refused a packet: %s", error_text(e))
            return
        self.last_dts[out_stream.index] = dts
        if is_video:
            self.video_packets += 1
            self.video_bytes += size
            if self.head_open:
                self._head(dts, pts, size, key)
        else:
            self.audio_packets += 1
            self.audio_bytes += size

    def _measure(self, dts: int, pkt: Packet) -> None:
        if pkt.is_keyframe:
            self.keyframes += 1
        if pkt.is_corrupt:
            self.corrupt += 1
        prev, self.prev_video_dts = self.prev_video_dts, dts
        if prev is None or dts <= prev:
            return
        step = dts - prev
        if step > self.max_interval_ticks:
            self.max_interval_ticks = step
        if step > self.gap_limit_ticks:
            self.gaps += 1
            self.gap_s += step * self.vtb - self.frame_dur

    def _head(self, dts: int, pts: int, size: int, key: bool) -> None:
        """Follow the probe's head scan: it stops after ``HEAD_KEYFRAMES`` keyframes,
        ``HEAD_SECONDS`` of media or ``HEAD_MAX_BYTES`` of video packets."""
        if self.head_first_pts is None:
            self.head_first_pts = pts
        self.head_bytes += size
        if key:
            self.head_keyframes.append(dts)
        if (
            len(self.head_keyframes) >= HEAD_KEYFRAMES
            or pts - self.head_first_pts >= self.head_limit
            or self.head_bytes >= HEAD_MAX_BYTES
        ):
            self.head_open = False

    def facts(self, size: int) -> ProbeResult:
        """What :func:`ingest.probe.probe` says of the closed file, without probing it again:
        the writer knows what went in (:func:`ingest.probe.probe_written`)."""
        tb: Fraction = self.v_in.time_base  # type: ignore[assignment]
        return probe_written(
            self.final_path,
            size,
            keyframe_dts=self.head_keyframes,
            time_base=tb,
            pix_fmt=self.v_in.codec_context.pix_fmt,
        )

    def cut_end(self, last_end: Fraction) -> Fraction:
        """End of a segment cut short (drop, stop): where its frames stop in decoding order.

        With B-frames the latest presentation time seen (``last_end``) can belong to a frame
        whose predecessors in display order never arrived; the container's duration (what a
        player and ``probe`` see) ends with the last frame in decoding order instead."""
        return max(self.start_t, min(last_end, self.dts_end))

    @property
    def dts_end(self) -> Fraction:
        """Latest (dts + duration) written, on the pts timeline."""
        ends = [self.start_t]
        if self.dur_end is not None:
            ends.append(self.dur_end * self.vtb + self.reorder)
        if self.bare_dts is not None:
            ends.append(self.bare_dts * self.vtb + self.frame_dur + self.reorder)
        return max(ends)

    def stats(
        self,
        duration: Fraction,
        declared_fps: float | None,
        gap_before_s: float | None,
        lag_s: float,
    ) -> SegmentStats:
        cc = self.v_in.codec_context
        secs = float(duration) if duration > 0 else 0.0
        a_cc = self.a_in.codec_context if self.a_in is not None and self.a_out else None
        return SegmentStats(
            codec=cc.name if cc is not None else "",
            width=int(cc.width or 0) if cc is not None else 0,
            height=int(cc.height or 0) if cc is not None else 0,
            declared_fps=declared_fps,
            fps=round(self.video_packets / secs, 3) if secs else 0.0,
            bitrate_bps=round((self.video_bytes + self.audio_bytes) * 8 / secs) if secs else 0,
            video_bytes=self.video_bytes,
            audio_bytes=self.audio_bytes,
            video_packets=self.video_packets,
            audio_packets=self.audio_packets,
            keyframes=self.keyframes,
            gaps=self.gaps,
            gap_s=round(float(self.gap_s), 6),
            max_frame_interval_s=round(float(self.max_interval_ticks * self.vtb), 6),
            rejected_packets=self.rejected_packets,
            corrupt_packets=self.corrupt,
            gap_before_s=None if gap_before_s is None else round(gap_before_s, 6),
            lag_s=round(lag_s, 6),
            audio_codec=a_cc.name if a_cc is not None and self.audio_packets else None,
        )

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
