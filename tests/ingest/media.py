"""Test media for the ingest tests: the shared footage (facts from its README) and
helpers that derive other files from it with PyAV (remux, audio-only, stills)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

import av
import numpy as np
from av.bitstream import BitStreamFilterContext

# <repo>/../shared/assets/footage, as in tests/conftest.py; overridable for other layouts.
FOOTAGE = Path(
    os.environ.get("WARDCAM_TEST_FOOTAGE")
    or Path(__file__).resolve().parents[3] / "shared" / "assets" / "footage"
)


@dataclass(frozen=True)
class Clip:
    name: str
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    sha256: str
    size: int

    @property
    def path(self) -> Path:
        return FOOTAGE / self.name


# From /work/shared/assets/README.md
CLIPS = [
    Clip(
        "intersection_cctv_day.mp4",
        640,
        480,
        30.0,
        909,
        30.3,
        "0e8c10d457d84c5bdff3e10bf02f27b9b000c48f2c90d7d21a560b725367d03c",
        3_217_375,
    ),
    Clip(
        "motorcycles_cctv_day.mp4",
        640,
        360,
        30.0,
        903,
        30.1,
        "ab69b6fa67a72be772ba4115666264e8d9b342e0f055f3797e98ba2a811c6a0c",
        1_671_684,
    ),
    Clip(
        "street_crossing_day.mp4",
        640,
        360,
        23.98,
        172,
        7.2,
        "ef1763e75b405f62a6412c522f1f8335089b9d4ea367ab02fbea3319f0583b89",
        1_733_881,
    ),
    Clip(
        "driveway_ir_night.mp4",
        640,
        360,
        15.0,
        178,
        11.9,
        "178f64570b74810d205bc46d317a7e6ed99c2f931988422d982105b6ab797054",
        352_595,
    ),
]
CLIP = {c.name.split("_")[0]: c for c in CLIPS}  # "intersection", "motorcycles", ...


def remux(src: Path, dst: Path, fmt: str | None = None, audio: bool = True) -> Path:
    """Stream-copy ``src`` into another container (no re-encode)."""
    with av.open(str(src)) as i, av.open(str(dst), "w", format=fmt) as o:
        mapping = {}
        for s in i.streams:
            if s.type == "video" or (audio and s.type == "audio"):
                mapping[s.index] = o.add_stream_from_template(s)
        for pkt in i.demux(*[i.streams[k] for k in mapping]):
            if pkt.dts is None or pkt.size == 0:
                continue
            pkt.stream = mapping[pkt.stream.index]
            o.mux(pkt)
    return dst


def to_program_stream(src: Path, dst: Path, fmt: str = "vob") -> Path:
    """Stream-copy ``src``'s H.264 into an MPEG program stream, as Hikvision NVRs export it:
    ``vob`` is MPEG-2 PS, ``mpeg`` an MPEG-1 system stream.  The MP4's length-prefixed H.264
    becomes Annex B start codes (``h264_mp4toannexb``), which is what a PS carries; no frame
    is re-encoded.  Video only: FFmpeg's PS muxer takes neither the clips' AAC nor the G.711
    that Hikvision puts there."""
    with av.open(str(src)) as i, av.open(str(dst), "w", format=fmt) as o:
        vin = i.streams.video[0]
        bsf = BitStreamFilterContext("h264_mp4toannexb", vin)
        vout = o.add_stream_from_template(vin)
        for pkt in i.demux(vin):
            if pkt.dts is None or pkt.size == 0:
                continue
            for p in bsf.filter(pkt):
                p.stream = vout
                o.mux(p)
    return dst


def remux_hls(src: Path, playlist: Path, seconds: int = 2) -> Path:
    """Stream-copy ``src`` into a VOD HLS playlist with MPEG-TS segments."""
    opts = {"hls_time": str(seconds), "hls_list_size": "0", "hls_playlist_type": "vod"}
    with av.open(str(src)) as i, av.open(str(playlist), "w", format="hls", options=opts) as o:
        mapping = {
            s.index: o.add_stream_from_template(s)
            for s in i.streams
            if s.type in ("video", "audio")
        }
        for pkt in i.demux(*[i.streams[k] for k in mapping]):
            if pkt.dts is None or pkt.size == 0:
                continue
            pkt.stream = mapping[pkt.stream.index]
            o.mux(pkt)
    return playlist


def make_audio_only(dst: Path, codec: str = "aac", seconds: float = 1.0) -> Path:
    """A real encoded audio-only file (a 440 Hz tone)."""
    rate = 16000
    fmt = "fltp" if codec == "aac" else "s16"
    with av.open(str(dst), "w") as o:
        s = o.add_stream(codec, rate=rate)
        assert isinstance(s, av.AudioStream)
        s.layout = "mono"
        n = 1024
        pts = 0
        while pts < seconds * rate:
            t = (np.arange(n) + pts) / rate
            wave = 0.3 * np.sin(2 * np.pi * 440 * t)
            data = wave.astype(np.float32) if fmt == "fltp" else (wave * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format=fmt, layout="mono")
            frame.sample_rate = rate
            frame.pts = pts
            pts += n
            for p in s.encode(frame):
                o.mux(p)
        for p in s.encode(None):
            o.mux(p)
    return dst


def first_frame_bgr(src: Path) -> np.ndarray:
    with av.open(str(src)) as c:
        frame = next(c.decode(video=0))
        return frame.to_ndarray(format="bgr24")


@dataclass
class LiveServer:
    """Serves ``data`` at ``/live.ts`` like a live HTTP MPEG-TS camera (no length, paced).

    ``drops`` lists, per connection, ``("reset", n)`` to kill it with a TCP reset after
    ``n`` bytes, ``("stall", n)`` to go silent after ``n`` bytes, or ``None`` to send
    everything and close.
    """

    data: bytes
    bytes_per_s: float
    drops: list[tuple[str, int] | None] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    connections: int = 0
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/live.ts"
