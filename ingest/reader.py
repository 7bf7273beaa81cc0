"""The packets of one connection, as the recorder wants them.

Why: reading is the only place where a source fails, and FFmpeg reports that in several ways
(end of iteration, a read timeout, network errors); here every one becomes an end reason with
an error code and no URL.  It also repairs FFmpeg's untimed first packets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from fractions import Fraction

import av.error
from av.packet import Packet
from av.video.stream import VideoStream

from ingest import streams
from ingest.streams import classify_error

__all__ = ["PacketReader"]

log = logging.getLogger(__name__)


class PacketReader:
    """Packets of one connection, with read failures turned into an end reason (only reading
    is the source's failure; errors while writing or in callbacks propagate).

    FFmpeg's RTSP demuxer hands out the first video packet of a connection - the keyframe
    everything else needs - without any timestamp.  Such leading packets are held until the
    first video packet with a decoding timestamp arrives and are then placed before it, one
    frame interval apart (the keyframe's presentation time just before the earliest one that
    follows), so a connection's recording starts with its first keyframe instead of losing a
    whole GOP.  Untimed packets later in a stream are dropped."""

    def __init__(
        self,
        packets: Iterator[Packet],
        v: VideoStream,
        frame_dur: Fraction,
        safe_url: str,
        stop: threading.Event,
    ) -> None:
        self._packets = packets
        self._v_index = v.index
        tb: Fraction = v.time_base  # type: ignore[assignment]
        self._frame_ticks = max(1, round(frame_dur / tb)) if tb else 1
        self._safe_url = safe_url
        self._stop = stop
        self.reason = "eof"
        self.ended: tuple[str, str] | None = (streams.EOF, "end of stream")

    def __iter__(self) -> Iterator[Packet]:
        pending: list[Packet] = []  # leading packets while the first video ones are untimed
        timed_video = False
        while True:
            try:
                pkt = next(self._packets)
            except StopIteration:
                return
            except av.error.ExitError:  # PyAV's read timeout interrupts the read (not RTSP)
                self.reason = "timeout"
                self.ended = (streams.TIMEOUT, "no data within the read timeout")
                log.warning("%s stalled (no data for the read timeout)", self._safe_url)
                return
            except (av.error.FFmpegError, OSError) as e:
                code, detail = classify_error(e)
                if code == streams.TIMEOUT:  # FFmpeg's own socket timeout (RTSP)
                    self.reason = "timeout"
                    self.ended = (streams.TIMEOUT, "no data within the read timeout")
                    log.warning("%s stalled (no data for the read timeout)", self._safe_url)
                    return
                self.ended = (code if code != streams.ERROR else streams.DROPPED, detail)
                self.reason = f"error: {detail}"
                log.warning("%s dropped: %s", self._safe_url, detail)
                return
            if self._stop.is_set():
                return
            if pkt.size == 0:
                continue
            is_video = pkt.stream_index == self._v_index
            if not timed_video and is_video:
                if pkt.dts is None:
                    if pending or pkt.is_keyframe:
                        pending.append(pkt)
                    if len(pending) > 300:  # never got a timestamp: give up on these
                        pending.clear()
                    continue
                timed_video = True
                if pending:
                    self._place(pending, pkt)
                    yield from (p for p in pending if p.pts is not None or p.dts is not None)
                    pending.clear()
            elif pending and not is_video:
                pending.append(pkt)
                continue
            if pkt.pts is None and pkt.dts is None:
                continue
            yield pkt

    def _place(self, pending: list[Packet], first_timed: Packet) -> None:
        """Give the held untimed video packets decoding times one frame apart before
        ``first_timed``'s, and presentation times no later than any that follows them."""
        assert first_timed.dts is not None
        video = [p for p in pending if p.stream_index == self._v_index]
        step = first_timed.duration or self._frame_ticks
        for i, p in enumerate(video):
            dts = first_timed.dts - (len(video) - i) * step
            if p.pts is None:
                after = [q.pts for q in video[i + 1 :] if q.pts is not None]
                after += [first_timed.pts] if first_timed.pts is not None else []
                p.pts = max(dts, min(after) - step) if after else dts
            p.dts = min(dts, p.pts)
