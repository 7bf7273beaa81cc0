"""Source kinds, FFmpeg options, error codes and URL redaction (what may reach a log)."""

from __future__ import annotations

import errno

import av.error
import pytest

from ingest import streams
from ingest.streams import (
    classify_error,
    is_file_source,
    open_options,
    pyav_timeout,
    redact_url,
    source_kind,
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://admin:hunter2@10.0.0.5:554/Streaming/101", "rtsp://***@10.0.0.5:554/Streaming/101"),
        ("rtsps://admin@cam.local/x", "rtsps://***@cam.local/x"),
        ("rtsp://:hunter2@cam.local/x", "rtsp://***@cam.local/x"),
        ("http://cam.local/live.m3u8?token=abc", "http://cam.local/live.m3u8?token=***"),
        ("rtsp://u:p@h:554/cam/realmonitor?channel=1&subtype=0&pwd=hunter2",
         "rtsp://***@h:554/cam/realmonitor?channel=1&subtype=0&pwd=***"),
        ("http://h/live.ts?s=hunter2&sig", "http://h/live.ts?s=***&sig"),
        ("rtsp://10.0.0.5:554/user=admin&password=hunter2&channel=1&stream=0.sdp",
         "rtsp://10.0.0.5:554/user=***&password=***&channel=1&stream=0.sdp"),
        ("rtsp://10.0.0.5/user=admin_password=hunter2_channel=1_stream=0.sdp",
         "rtsp://10.0.0.5/user=***"),
        # an unencoded '/' in the password splits the user-info from the host
        ("rtsp://admin:hun/ter2@10.0.0.5/x", "<unparseable url>"),
        ("rtsp://admin:12/hunter2@10.0.0.5/x", "rtsp://<redacted>"),
        ("rtsp://admin:pw@[fe80::1]:554/x", "rtsp://***@[fe80::1]:554/x"),
        ("/data/footage/x.mp4", "/data/footage/x.mp4"),
        ("file:///data/x.mp4", "file:///data/x.mp4"),
    ],
)  # fmt: skip
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "hunter2" not in redact_url(url) and "hun/ter2" not in redact_url(url)


def test_source_kinds_and_options() -> None:
    assert [source_kind(u) for u in ("/a.mp4", "file:/a.mp4", "file:///a.mp4", "C://x")] == [
        "file"
    ] * 4
    assert source_kind("RTSP://h/x") == "rtsp" and source_kind("https://h/x.m3u8") == "https"
    assert is_file_source("a.mp4") and not is_file_source("rtsps://h/x")
    assert open_options("rtsp://h/x", read_timeout_s=5) == {
        "rtsp_transport": "tcp",
        "timeout": "5000000",
    }
    assert open_options("rtsps://h/x", {"rtsp_transport": "udp"})["rtsp_transport"] == "udp"
    assert open_options("https://h/x.ts", {"tls_verify": "1"}, read_timeout_s=2) == {
        "rw_timeout": "2000000",
        "reconnect": "0",
        "tls_verify": "1",
    }
    assert open_options("/a.mp4", read_timeout_s=5) == {}


def test_classify_error() -> None:
    def ff(cls: type[av.error.FFmpegError], code: int, text: str) -> av.error.FFmpegError:
        return cls(code, text, "rtsp://admin:hunter2@cam/x")

    cases = [
        (ff(av.error.HTTPUnauthorizedError, -825242872, "401 Unauthorized"), "auth_failed"),
        (ff(av.error.HTTPForbiddenError, -858797304, "403 Forbidden"), "auth_failed"),
        (ff(av.error.HTTPNotFoundError, -875574520, "404 Not Found"), "not_found"),
        (ff(av.error.ConnectionRefusedError, errno.ECONNREFUSED, "Connection refused"), "refused"),
        (ff(av.error.OSError, errno.EHOSTUNREACH, "No route to host"), "unreachable"),
        (ff(av.error.OSError, errno.ECONNRESET, "Connection reset by peer"), "dropped"),
        (ff(av.error.InvalidDataError, -1094995529, "Invalid data found"), "bad_data"),
        (ff(av.error.OSError, errno.EIO, "Input/output error"), "dropped"),
        (av.error.ExitError(-1414092869, "Immediate exit requested"), "timeout"),
        (FileNotFoundError(errno.ENOENT, "No such file", "/x/y.mp4"), "not_found"),
        (RuntimeError("odd"), "error"),
    ]
    for exc, code in cases:
        got, detail = classify_error(exc)
        assert got == code, exc
        assert got in streams.ERROR_CODES
        assert "hunter2" not in detail and "/x/y" not in detail


def test_no_pyav_read_timeout_where_ffmpeg_bounds_the_reads() -> None:
    """RTSP reads are bounded by FFmpeg's socket timeout (set by open_options), so PyAV's read
    timeout - whose interrupt callback takes the GIL on every socket read - is not used;
    its open timeout is. Other sources keep both (an HLS playlist waits without a read)."""
    rtsp = "rtsp://u:p@10.0.0.5/Streaming/Channels/101"
    assert pyav_timeout(rtsp, (5.0, 10.0)) == (5.0, None)
    assert pyav_timeout("rtsps://10.0.0.5/x", 7.0) == (7.0, None)
    assert open_options(rtsp, read_timeout_s=10.0)["timeout"] == "10000000"
    assert pyav_timeout("http://10.0.0.5/live.m3u8", (5.0, 10.0)) == (5.0, 10.0)
    assert pyav_timeout("/srv/clip.mp4", 3.0) == (3.0, 3.0)
