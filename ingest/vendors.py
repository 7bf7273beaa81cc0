"""Standard RTSP URLs of the camera brands wards buy, from vendor + host + channel + stream.

Why: a ward committee knows its NVR's address, the channel a camera is plugged into and the
password, not the vendor's RTSP path syntax; typing whole URLs by hand is where credentials
with ``@`` or ``#`` break the URL.  :func:`build_rtsp_url` is pure (no network) and puts the
credentials into the URL percent-encoded, which FFmpeg decodes before Basic/Digest auth.

Paths (``channel`` counts from 1; ``stream`` is ``main`` for recording, ``sub`` for detection):

=================  ===================================================  ==================
vendor             path                                                  main / sub
=================  ===================================================  ==================
hikvision          ``/Streaming/Channels/{channel}0{n}``                 n = 1 / 2 (101/102)
dahua, kbvision,   ``/cam/realmonitor?channel={channel}&subtype={n}``    n = 0 / 1
imou
ezviz              ``/h264/ch{channel}/{main|sub}/av_stream``            (Hikvision firmware)
generic            the caller's ``path``, with ``{channel}``, ``{stream}`` (main/sub),
                   ``{stream_no}`` (1/2) and ``{subtype}`` (0/1) filled in
=================  ===================================================  ==================

KBVision (sold widely in Vietnam) and Imou run Dahua firmware; EZVIZ runs Hikvision's.  Imou
and EZVIZ cameras use the user ``admin`` and the device's safety/verification code (on its
label) as the password.  The URL returned contains the password: store it encrypted, and log
it only through :func:`ingest.streams.redact_url`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final
from urllib.parse import quote

__all__ = ["DEFAULT_PORT", "STREAMS", "VENDORS", "build_rtsp_url"]

VENDORS: Final = ("hikvision", "dahua", "kbvision", "imou", "ezviz", "generic")
STREAMS: Final = ("main", "sub")
DEFAULT_PORT: Final = 554
_DAHUA_FAMILY = frozenset({"dahua", "kbvision", "imou"})
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)


def build_rtsp_url(
    vendor: str,
    host: str,
    *,
    channel: int = 1,
    stream: str = "main",
    user: str | None = None,
    password: str | None = None,
    port: int | None = None,
    path: str | None = None,
    tls: bool = False,
) -> str:
    """The vendor's standard RTSP URL (``rtsps`` with ``tls``); raises ``ValueError`` for a
    vendor, host, channel, stream, port or path that cannot be right.

    ``build_rtsp_url("hikvision", "192.168.1.64", channel=2, stream="sub", user="admin",
    password="a@b#1")`` -> ``rtsp://admin:a%40b%231@192.168.1.64:554/Streaming/Channels/202``.
    """
    v = vendor.strip().lower()
    if v not in VENDORS:
        raise ValueError(f"unknown vendor {vendor!r}; one of {', '.join(VENDORS)}")
    if stream not in STREAMS:
        raise ValueError(f"stream must be 'main' or 'sub', not {stream!r}")
    if isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= 512:
        raise ValueError(f"channel must be a whole number from 1 to 512, not {channel!r}")
    port = DEFAULT_PORT if port is None else port
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be 1..65535, not {port!r}")
    netloc = f"{_host(host)}:{port}"
    if user is None and password is not None:
        raise ValueError("a password needs a user")
    if user is not None:
        if user == "" or ":" in user:
            raise ValueError("the user must not be empty or contain ':'")
        cred = quote(user, safe="")
        if password is not None:
            cred += ":" + quote(password, safe="")
        netloc = f"{cred}@{netloc}"
    main = stream == "main"
    if v == "hikvision":
        tail = f"/Streaming/Channels/{channel}0{1 if main else 2}"
    elif v in _DAHUA_FAMILY:
        tail = f"/cam/realmonitor?channel={channel}&subtype={0 if main else 1}"
    elif v == "ezviz":
        tail = f"/h264/ch{channel}/{stream}/av_stream"
    else:
        if not path:
            raise ValueError("vendor 'generic' needs a path, e.g. '/stream{stream_no}'")
        try:
            tail = path.format(
                channel=channel, stream=stream, stream_no=1 if main else 2, subtype=0 if main else 1
            )
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"bad path template {path!r}: {e}") from e
        if not tail.startswith("/"):
            tail = "/" + tail
        if any(c in tail for c in " #\\@") or any(ord(c) < 33 for c in tail):
            raise ValueError(f"path {tail!r} has characters that do not belong in a URL path")
    if path is not None and v != "generic":
        raise ValueError(f"vendor {v!r} has a fixed path; use vendor 'generic' for {path!r}")
    return f"{'rtsps' if tls else 'rtsp'}://{netloc}{tail}"


def _host(host: str) -> str:
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        if not _HOSTNAME.match(h):
            raise ValueError(f"not a host name or IP address: {host!r}") from None
        return h.lower()
    return f"[{ip.compressed}]" if ip.version == 6 else str(ip)
