"""Vendor RTSP URLs: the standard paths, credentials percent-encoded, bad input refused - and
each one played by a real RTSP server with Digest authentication."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import av
import pytest

from ingest.streams import redact_url
from ingest.vendors import VENDORS, build_rtsp_url
from tests.ingest.media import CLIP
from tests.servers.rtsp import RtspServer

PASSWORD = "Đà:N@ng/#1%?&= x"  # every character a URL can trip over, and Vietnamese


@pytest.mark.parametrize(
    ("vendor", "kw", "url"),
    [
        ("hikvision", {}, "rtsp://10.0.0.5:554/Streaming/Channels/101"),
        ("hikvision", {"channel": 12, "stream": "sub"}, "rtsp://10.0.0.5:554/Streaming/Channels/1202"),
        ("Dahua", {}, "rtsp://10.0.0.5:554/cam/realmonitor?channel=1&subtype=0"),
        ("kbvision", {"channel": 3, "stream": "sub"}, "rtsp://10.0.0.5:554/cam/realmonitor?channel=3&subtype=1"),
        ("imou", {"port": 10554}, "rtsp://10.0.0.5:10554/cam/realmonitor?channel=1&subtype=0"),
        ("ezviz", {"stream": "sub"}, "rtsp://10.0.0.5:554/h264/ch1/sub/av_stream"),
        ("generic", {"path": "/live/ch{channel}_{stream_no}"}, "rtsp://10.0.0.5:554/live/ch1_1"),
        ("generic", {"path": "stream{subtype}", "stream": "sub", "tls": True}, "rtsps://10.0.0.5:554/stream1"),
    ],
)  # fmt: skip
def test_paths(vendor: str, kw: dict, url: str) -> None:
    assert build_rtsp_url(vendor, "10.0.0.5", **kw) == url


def test_credentials_are_encoded_and_never_shown() -> None:
    url = build_rtsp_url("hikvision", "cam-7.phuong.local", user="quản lý", password=PASSWORD)
    parts = urlsplit(url)
    assert (parts.hostname, parts.port, parts.path) == (
        "cam-7.phuong.local",
        554,
        "/Streaming/Channels/101",
    )
    assert unquote(parts.username or "") == "quản lý"
    assert unquote(parts.password or "") == PASSWORD
    assert "#" not in url and "/" not in (parts.password or "") and "?" not in url
    assert redact_url(url) == "rtsp://***@cam-7.phuong.local:554/Streaming/Channels/101"
    v6 = build_rtsp_url("dahua", "fe80::1", user="admin", password="x")
    assert urlsplit(v6).hostname == "fe80::1"
    assert redact_url(v6) == "rtsp://***@[fe80::1]:554/cam/realmonitor?channel=1&subtype=0"
    assert build_rtsp_url("imou", "10.0.0.5", user="admin").startswith("rtsp://admin@10.0.0.5")


@pytest.mark.parametrize(
    ("args", "kw", "match"),
    [
        (("axis", "10.0.0.5"), {}, "unknown vendor"),
        (("hikvision", "10.0.0.5"), {"stream": "third"}, "main' or 'sub"),
        (("hikvision", "10.0.0.5"), {"channel": 0}, "channel"),
        (("hikvision", "10.0.0.5"), {"channel": True}, "channel"),
        (("hikvision", "10.0.0.5"), {"port": 70000}, "port"),
        (("hikvision", "10.0.0.5/evil"), {}, "host"),
        (("hikvision", "user@10.0.0.5"), {}, "host"),
        (("hikvision", ""), {}, "host"),
        (("hikvision", "10.0.0.5"), {"password": "x"}, "needs a user"),
        (("hikvision", "10.0.0.5"), {"user": "a:b"}, "user"),
        (("hikvision", "10.0.0.5"), {"path": "/x"}, "fixed path"),
        (("generic", "10.0.0.5"), {}, "needs a path"),
        (("generic", "10.0.0.5"), {"path": "/{camera}"}, "bad path"),
        (("generic", "10.0.0.5"), {"path": "/a b"}, "characters"),
        (("generic", "10.0.0.5"), {"path": "/a#b"}, "characters"),
    ],
)
def test_bad_input(args: tuple[str, str], kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_rtsp_url(*args, **kw)
    assert set(VENDORS) == {"hikvision", "dahua", "kbvision", "imou", "ezviz", "generic"}


@pytest.mark.parametrize(
    ("vendor", "stream", "clip"),
    [
        ("hikvision", "main", "intersection"),
        ("hikvision", "sub", "driveway"),
        ("dahua", "main", "motorcycles"),
        ("kbvision", "main", "motorcycles"),
        ("ezviz", "main", "street"),
    ],
)
def test_vendor_urls_play_on_a_real_server(
    rtsp_server: RtspServer, vendor: str, stream: str, clip: str
) -> None:
    """The built URL opens on gst-rtsp-server with Digest auth, special-character password
    and all (the server mounts the vendors' paths)."""
    url = build_rtsp_url(
        vendor,
        "127.0.0.1",
        port=rtsp_server.ports["digest"],
        stream=stream,
        user=rtsp_server.user,
        password=rtsp_server.password,
    )
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(10, 10)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height) == (CLIP[clip].width, CLIP[clip].height)
        assert float(v.average_rate or v.guessed_rate or 0) == pytest.approx(CLIP[clip].fps, 0.01)
        n = sum(1 for _, _ in zip(c.demux(v), range(10), strict=False))
    assert n == 10
