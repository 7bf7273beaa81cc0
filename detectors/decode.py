"""Decoding for the pipeline: only the frames sampling needs, as cheaply as FFmpeg allows.

Decoding dominates the cost of indexing main-stream footage (a 2 s GOP of 1080p H.265 costs
far more to decode than the two model inputs it yields), so :class:`Decoder` does as little
as the codec lets it:

* non-reference frames are never decoded (``skip_frame=NONREF``: nothing depends on them),
  where ``fast`` is set. The in-loop (deblocking) filter is kept unless
  :meth:`Decoder.skip_loop_filter` is called: skipping it is cheaper but leaves blockier
  pictures in which small objects lose 0.03-0.04 of confidence at sub-stream sizes (measured
  on the shared intersection clip), enough to miss objects that exhaustive detection just
  finds; the pipeline skips it only where frames are shrunk for the model anyway;
* the file is read one GOP at a time, and a GOP is decoded only up to the last frame the
  sampler wants from it: the rest of it is never sent to the decoder (the decoder is drained
  and reset before the next keyframe). At 1 sample/s and a 2 s GOP that skips half of the
  frames; a GOP shorter than the sample interval costs one keyframe. Very long GOPs (more than
  ``max_gop_packets``) are decoded as a plain stream;
* one decoder thread up to 1280x720 (``threads`` 0): the decoder already has a Python thread
  of its own beside the model's, and FFmpeg's frame threads on top of it cost CPU time and
  buy nothing there (on the six shared clips, 640x360-1018x720: 1-6 % more video per
  CPU-second on five, the sixth the same; the same events); FFmpeg's frame and slice
  threads on all cores above 720p, where decoding is the bottleneck;
* only sampled frames are converted to BGR, by :func:`to_bgr`, with one swscale context per
  thread and picture size kept for the next frame (PyAV's ``VideoFrame.to_ndarray`` and
  ``reformat`` set one up, with a slice thread per core, for every frame: 0.47 ms of CPU per
  360p frame against 0.08, the same pixels);
* a picture stored turned, with a display rotation (a display matrix) that turns it back, as
  phones store video held the other way, is turned upright by :func:`to_bgr` (sampled frames
  only; see :mod:`detectors.rotation`): players, OpenCV and ultralytics show such a file
  upright, and the model finds little in a picture on its side (on the shared clips stored
  so, 0 of the night driveway's 7 person-seconds before); :attr:`VideoInfo.width` and
  ``height`` are the upright size, and boxes are in its pixels;
* on a GPU node, ``hwaccel="cuda"`` decodes on NVDEC (PyAV's ``cuda`` hardware device; frames
  come back to host memory): it frees the CPU, which limits GPU indexing of H.265 main
  streams. Where no such device opens, the decoder says so (:attr:`Decoder.hwaccel`) and
  decodes in software.

Times are seconds from the first frame of the file (``start_time`` subtracted); frame indices
are ``round(t * fps)``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from .rotation import file_turns

#: a GOP with more packets than this is not buffered: it is decoded as it streams in
MAX_GOP_PACKETS = 600


def hwaccel_available(device_type: str = "cuda") -> bool:
    """Whether this PyAV build knows the hardware device type (not whether one is there)."""
    try:
        from av.codec.hwaccel import hwdevices_available
    except ImportError:  # a PyAV without hardware decoding
        return False
    return device_type in hwdevices_available()


def _open(path: str | Path, hwaccel: str | None) -> av.container.InputContainer | None:
    """Open ``path`` for decoding, on the hardware device ``hwaccel`` if given; None when that
    device is not usable here (the caller falls back to software)."""
    kwargs = {}
    if hwaccel:
        if not hwaccel_available(hwaccel):
            return None
        from av.codec.hwaccel import HWAccel

        kwargs["hwaccel"] = HWAccel(device_type=hwaccel, allow_software_fallback=True)
    try:
        return av.open(str(path), **kwargs)  # type: ignore[call-overload]
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        if hwaccel:
            return None  # retried in software, which says what is wrong with the file
        raise DecodeFailure(f"cannot open as video: {exc}", "unreadable") from exc


_converters = threading.local()
#: source width, height and pixel format; target width and height (None: the source's)
_ConverterKey = tuple[int, int, str, int | None, int | None]


def to_bgr(
    frame: av.VideoFrame, width: int | None = None, height: int | None = None, turns: int = 0
) -> np.ndarray:
    """``frame`` as a BGR array, shrunk (bilinear) to ``width`` x ``height`` when given.

    ``turns``: quarter turns counterclockwise that show the stored picture upright
    (:attr:`VideoInfo.turns`); the array is then upright, and ``width`` x ``height`` its size.

    The same pixels as ``frame.to_ndarray(format="bgr24")`` (or ``frame.reformat(...)``), at a
    fraction of the cost: the swscale context is kept per thread, source and target size
    instead of being set up (with its slice threads) for every frame, and runs on the calling
    thread alone (the pipeline's decoder thread already has a core beside the model's).
    """
    turns %= 4
    if turns % 2:
        width, height = height, width
    cache: dict[_ConverterKey, VideoReformatter] | None = getattr(_converters, "cache", None)
    if cache is None:
        cache = _converters.cache = {}
    key = (frame.width, frame.height, frame.format.name, width, height)
    reformatter = cache.get(key)
    if reformatter is None:
        if len(cache) >= 8:  # a stream whose size keeps changing: start over
            cache.clear()
        reformatter = cache[key] = VideoReformatter()
    out = reformatter.reformat(
        frame, width=width, height=height, format="bgr24", interpolation="BILINEAR", threads=1
    )
    if turns:
        return np.ascontiguousarray(np.rot90(out.to_ndarray(), turns))
    return out.to_ndarray()


class DecodeFailure(Exception):
    """The file cannot be opened (``unreadable``) or decoding failed (``decode_error``)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class VideoInfo:
    fps: float
    frames_total: int
    duration_s: float
    width: int
    height: int
    codec: str = ""
    #: quarter turns counterclockwise that show the stored picture upright (a display
    #: rotation); ``width`` and ``height`` are the upright size
    turns: int = 0


@dataclass
class DecodeStats:
    """What decoding cost: packets read, packets sent to the decoder, frames it returned."""

    packets: int = 0
    packets_decoded: int = 0
    frames_out: int = 0
    gops: int = 0
    gops_cut: int = 0  # GOPs whose tail was not decoded
    hwaccel: str | None = None  # the hardware device that decoded, None in software
    #: packets the decoder refused as damaged (skipped; decoding went on)
    damaged: int = 0
    #: where they were: (first, last) seconds of the file per stretch of damage
    damaged_spans: list[tuple[float, float]] = field(default_factory=list)
    #: where the timestamps went back (from, to), as in recordings joined end to end
    rewinds: list[tuple[float, float]] = field(default_factory=list)
    #: seconds of video (packets x frame duration) behind a rewind: never decoded
    behind_s: float = 0.0

    def damage(self, t: float) -> None:
        """Count one damaged packet at ``t`` s (``nan``: no timestamp)."""
        self.damaged += 1
        if math.isnan(t):
            return
        spans = self.damaged_spans
        if spans and t - spans[-1][1] <= DAMAGE_JOIN_S:
            spans[-1] = (min(spans[-1][0], t), max(spans[-1][1], t))
        elif len(spans) < MAX_DAMAGE_SPANS:
            spans.append((t, t))
        else:  # very many stretches: the last one grows to cover the rest
            spans[-1] = (spans[-1][0], max(spans[-1][1], t))

    def note(self, offset_s: float = 0.0) -> str | None:
        """One line for whoever reads the index of this file (None: nothing to say), times
        shifted by ``offset_s``: what was damaged, and what lies behind a rewind."""
        parts = []
        damage = _describe_damage(
            self.damaged, [(a + offset_s, b + offset_s) for a, b in self.damaged_spans]
        )
        if damage:
            parts.append(damage)
        if self.rewinds:
            back = ", ".join(f"from {a + offset_s:.1f} s to {max(0.0, b) + offset_s:.1f} s"
                             for a, b in self.rewinds[:MAX_DAMAGE_SPANS])
            parts.append(
                f"timestamps go back ({back}; recordings joined end to end?): about "
                f"{self.behind_s:.1f} s of video behind them are not indexed; upload the "
                "recordings one by one"
            )
        return "; ".join(parts) or None

    @property
    def skipped_fraction(self) -> float:
        return 1.0 - self.packets_decoded / self.packets if self.packets else 0.0


#: a packet this far (seconds) behind the latest one starts a rewind (B-frames reorder
#: timestamps by a few frames, never this much)
REWIND_S = 1.0
#: damaged packets this close together (seconds) are reported as one stretch
DAMAGE_JOIN_S = 2.0
#: at most this many stretches are listed (the last then reaches to the last damage)
MAX_DAMAGE_SPANS = 20


def _describe_damage(count: int, spans: list[tuple[float, float]]) -> str | None:
    """One line for whoever reads the index of a file with damaged packets (None: none)."""
    if not count:
        return None
    where = ", ".join(f"{a:.1f}-{b:.1f} s" if b - a >= 0.05 else f"{a:.1f} s" for a, b in spans)
    return (
        f"{count} damaged packet{'s' if count > 1 else ''} skipped"
        + (f" (at {where})" if where else "")
        + ": what passed then may be missing from the index"
    )


#: frames up to this size are decoded on one thread when ``threads`` is 0 (see above)
SINGLE_THREAD_PIXELS = 1280 * 720


class Decoder:
    """Yields ``(t_seconds, frame_index, av.VideoFrame)`` for the frames ``wants(t)`` asks for.

    ``wants(t)`` is asked for every decoded frame in presentation order and answers whether it
    is a sample; ``next_wanted()`` gives the time of the next sample the caller will want, which
    lets the decoder stop decoding a GOP early. Both may change while decoding goes on (the
    pipeline changes its sample rate per scene).
    """

    def __init__(
        self,
        path: str | Path,
        fast: bool = True,
        threads: int = 0,
        gop_skip: bool = True,
        hwaccel: str | None = None,
    ) -> None:
        #: the hardware device decoding runs on, or None (software)
        self.hwaccel: str | None = None
        container = _open(path, hwaccel) if hwaccel else None
        if container is not None:
            self.hwaccel = hwaccel
        else:
            container = _open(path, None)
        assert container is not None  # software opening raises instead
        self.container: av.container.InputContainer = container
        if not self.container.streams.video:
            self.container.close()
            raise DecodeFailure("no video stream", "unreadable")
        self.stream = self.container.streams.video[0]
        cc = self.stream.codec_context
        if threads == 0 and 0 < int(cc.width or 0) * int(cc.height or 0) <= SINGLE_THREAD_PIXELS:
            threads = 1
        self.stream.thread_type = "AUTO"
        self.stream.thread_count = max(0, threads)
        if fast:
            cc.skip_frame = "NONREF"
        self.gop_skip = gop_skip
        rate = self.stream.average_rate or self.stream.guessed_rate or Fraction(25)
        fps = float(rate)
        tb = self.stream.time_base or Fraction(1, 90000)
        if self.stream.duration is not None:
            duration = float(self.stream.duration * tb)
        elif self.container.duration is not None:
            duration = self.container.duration / 1_000_000
        else:
            duration = 0.0
        frames = int(self.stream.frames or 0) or round(duration * fps)
        width, height = int(cc.width or 0), int(cc.height or 0)
        turns = file_turns(path, self.container.format.name)
        if turns % 2:
            width, height = height, width
        self.info = VideoInfo(fps, frames, duration, width, height, str(cc.name or ""), turns)
        self.start = float((self.stream.start_time or 0) * tb)
        self.tb = float(tb)
        #: frames read so far (decoded or deliberately skipped): how far the file was readable
        self.frames_reached = 0
        self.stats = DecodeStats(hwaccel=self.hwaccel)
        self._n = 0
        self._latest = -math.inf  # the latest packet time so far (seconds of the file)
        self._rewound = False  # behind a rewind now

    def skip_loop_filter(self) -> None:
        """Skip the in-loop deblocking filter (call before decoding starts)."""
        self.stream.codec_context.options = {"skip_loop_filter": "all"}

    # ------------------------------------------------------------------ frames
    def frames(
        self, wants: Callable[[float], bool], next_wanted: Callable[[], float]
    ) -> Iterator[tuple[float, int, av.VideoFrame]]:
        cc = self.stream.codec_context
        gop: list[av.Packet] = []
        streaming = False  # inside a GOP too long to buffer
        try:
            for packet in self.container.demux(self.stream):
                if packet.size == 0:
                    continue
                self.stats.packets += 1
                if self._behind(packet):
                    continue
                if packet.is_keyframe:
                    if gop:
                        yield from self._gop(gop, wants, next_wanted)
                        gop = []
                    streaming = False
                    self.stats.gops += 1
                if streaming or not self.gop_skip:
                    yield from self._send(packet, wants)
                    continue
                gop.append(packet)
                if len(gop) > MAX_GOP_PACKETS:
                    for p in gop:
                        yield from self._send(p, wants)
                    gop = []
                    streaming = True
            if gop:
                yield from self._gop(gop, wants, next_wanted)
            for frame in cc.decode(None):
                yield from self._out(frame, wants)
        except av.FFmpegError as exc:
            raise DecodeFailure(
                f"decoding failed after frame {self.frames_reached}: {exc}", "decode_error"
            ) from exc

    def _behind(self, packet: av.Packet) -> bool:
        """True for a packet behind a rewind of the timestamps (counted, never decoded):
        until they pass the latest time again, its frames would land on times the index
        has covered already (recordings joined end to end, a clock set back)."""
        t = self._seconds(packet)
        if math.isnan(t):
            return self._rewound
        if (t > self._latest) if self._rewound else (t >= self._latest - REWIND_S):
            self._latest = max(self._latest, t)
            self._rewound = False
            return False
        if not self._rewound:
            self.stats.rewinds.append((self._latest, t))
            self._rewound = True
        self.stats.behind_s += 1.0 / self.info.fps
        return True

    def _seconds(self, packet: av.Packet) -> float:
        """The packet's time in seconds of the file (``nan``: it carries no timestamp)."""
        ts = packet.pts if packet.pts is not None else packet.dts
        return ts * self.tb - self.start if ts is not None else math.nan

    def _gop(
        self,
        gop: list[av.Packet],
        wants: Callable[[float], bool],
        next_wanted: Callable[[], float],
    ) -> Iterator[tuple[float, int, av.VideoFrame]]:
        """Decode one buffered GOP up to its last wanted frame; skip the rest of it."""
        pts = [p.pts for p in gop if p.pts is not None]
        last_t = (max(pts) * self.tb - self.start) if pts else math.inf
        last_idx = round(last_t * self.info.fps) + 1 if pts else 0
        if next_wanted() > last_t + 1e-6:
            # nothing wanted in this GOP at all (a GOP shorter than the sample interval)
            self.frames_reached = max(self.frames_reached, last_idx)
            self.stats.gops_cut += 1
            return
        cut = False
        for packet in gop:
            yield from self._send(packet, wants)
            if next_wanted() > last_t + 1e-6:
                cut = packet is not gop[-1]
                break
        if cut:
            # frames still in the decoder's pipeline (threads, reordering) come out; then
            # the decoder starts afresh at the next keyframe
            cc = self.stream.codec_context
            for frame in cc.decode(None):
                yield from self._out(frame, wants)
            cc.flush_buffers()
            self.stats.gops_cut += 1
            self.frames_reached = max(self.frames_reached, last_idx)

    def _send(
        self, packet: av.Packet, wants: Callable[[float], bool]
    ) -> Iterator[tuple[float, int, av.VideoFrame]]:
        self.stats.packets_decoded += 1
        try:
            frames = self.stream.codec_context.decode(packet)
        except av.InvalidDataError:
            # A damaged packet (a bad disk sector, a broken copy): FFmpeg's own tools and
            # players skip it and play on, concealing what it held. Stopping here would leave
            # the rest of the file unindexed, which reads as "nothing passed".
            self.stats.damage(self._seconds(packet))
            return
        for frame in frames:
            yield from self._out(frame, wants)

    def _out(
        self, frame: av.VideoFrame, wants: Callable[[float], bool]
    ) -> Iterator[tuple[float, int, av.VideoFrame]]:
        self.stats.frames_out += 1
        if frame.pts is not None:
            t = frame.pts * self.tb - self.start
            idx = max(0, round(t * self.info.fps))
        else:
            idx = self._n
            t = idx / self.info.fps
        self._n = idx + 1
        self.frames_reached = max(self.frames_reached, idx + 1)
        if wants(t):
            yield t, idx, frame

    def close(self) -> None:
        self.container.close()


class Stopped(Exception):
    """The consumer went away while the decoder waited for a sampling decision."""


class Sampler:
    """Picks the first frame at or after every multiple of the sample interval (within
    ``window``, seconds of the file, when given: the GOPs outside it are not decoded).

    The rate may differ per *epoch* (``epoch_s`` of video): the pipeline decides the rate of
    epoch ``k + 1`` from everything it saw before epoch ``k`` began, and the decoder (on its own
    thread) waits at an undecided epoch until that decision is made. Which frames become
    samples therefore depends only on the video, never on thread timing: the same file gives
    the same samples and the same events every time. The first frame of every epoch is a sample.
    """

    def __init__(
        self,
        sample_fps: float,
        epoch_s: float = 4.0,
        window: tuple[float, float] | None = None,
    ) -> None:
        self.epoch_s = epoch_s
        self._rates: dict[int, float] = {0: sample_fps, 1: sample_fps}
        self._cond = threading.Condition()
        self._stopped = False
        #: only frames in [start, until] are samples; the decoder skips the GOPs outside
        self.start, self.until = window if window is not None else (0.0, math.inf)
        self.next_t = max(0.0, self.start)
        #: called (on the decoder's thread) before it waits for epoch ``k``'s rate
        self.on_wait: Callable[[int], None] | None = None

    def epoch(self, t: float) -> int:
        return max(0, int(t // self.epoch_s + 1e-9))

    def decided(self, epoch: int) -> bool:
        with self._cond:
            return epoch in self._rates

    def decide(self, epoch: int, sample_fps: float) -> None:
        with self._cond:
            self._rates.setdefault(epoch, sample_fps)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _rate(self, epoch: int) -> float:
        with self._cond:
            if epoch in self._rates:
                return self._rates[epoch]
        if self.on_wait is not None:
            self.on_wait(epoch)
        with self._cond:
            while epoch not in self._rates:
                if self._stopped:
                    raise Stopped
                self._cond.wait(0.1)
            return self._rates[epoch]

    def wants(self, t: float) -> bool:
        if t + 1e-6 < self.next_t:
            return False
        if t > self.until + 1e-6:
            self.next_t = math.inf  # past the window: nothing more is decoded
            return False
        e = self.epoch(t)
        fps = self._rate(e)
        if fps > 0:
            interval = 1.0 / fps
            nxt = (math.floor(t / interval + 1e-6) + 1) * interval
            self.next_t = min(nxt, (e + 1) * self.epoch_s)
            if self.next_t > self.until + 1e-6:
                self.next_t = math.inf
        return True

    def next_wanted(self) -> float:
        return self.next_t
