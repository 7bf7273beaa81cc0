"""What kind of source a URL is, how FFmpeg should open it, why it failed, and how to log it.

A camera URL usually holds a password (``rtsp://admin:pw@10.0.0.5/...``, or, on some DVRs,
``/user=admin&password=pw&channel=1``), and FFmpeg error objects carry the URL as their file
name, so everything that reaches a log or a status line goes through :func:`redact_url` or
:func:`classify_error` (which keeps only FFmpeg's error text, never the URL).

Kinds of source (``source_kind``):

* ``file`` - a local path or ``file:`` URL (test cameras, the demo);
* ``rtsp`` / ``rtsps`` - IP cameras and NVRs; RTP is carried inside the RTSP TCP connection
  (``rtsp_transport=tcp``): UDP loses packets on real networks and breaks whole GOPs.
  Basic and Digest credentials come from the URL's user-info (percent-encoded; FFmpeg
  decodes them).  ``rtsps`` is RTSP over TLS; FFmpeg's RTSP client does **not verify the
  camera's certificate** (it has no option for it), so RTSPS protects against eavesdropping,
  not against an active man-in-the-middle;
* ``http`` / ``https`` - MPEG-TS over HTTP, HLS playlists (``.m3u8``), any container FFmpeg
  reads from a URL.  For ``https`` the server certificate is verified when the caller passes
  ``{"tls_verify": "1", "ca_file": PATH}`` (FFmpeg's TLS options).
"""

from __future__ import annotations

import errno
import re
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import av.error

__all__ = [
    "ERROR_CODES",
    "classify_error",
    "error_text",
    "is_file_source",
    "open_options",
    "pyav_timeout",
    "redact_url",
    "source_kind",
]

FILE: Final = "file"
RTSP: Final = "rtsp"
RTSPS: Final = "rtsps"
HTTP: Final = "http"
HTTPS: Final = "https"

#: Why a source could not be opened or read (``StreamStatus.error``).
AUTH_FAILED: Final = "auth_failed"  # 401/403: wrong user or password, or no permission
NOT_FOUND: Final = "not_found"  # 404 / no such stream path / no such file
REFUSED: Final = "refused"  # nothing listening (camera up, service down)
UNREACHABLE: Final = "unreachable"  # no route, DNS failure, host down
TIMEOUT: Final = "timeout"  # connected but no data within the read timeout
DROPPED: Final = "dropped"  # the connection broke while reading
EOF: Final = "eof"  # the source ended (a file, or a server that closed the stream)
NO_VIDEO: Final = "no_video"  # opened, but there is no video stream in it
BAD_DATA: Final = "bad_data"  # the bytes are not a stream FFmpeg understands
ERROR: Final = "error"  # anything else
ERROR_CODES: Final = frozenset(
    {
        AUTH_FAILED,
        NOT_FOUND,
        REFUSED,
        UNREACHABLE,
        TIMEOUT,
        DROPPED,
        EOF,
        NO_VIDEO,
        BAD_DATA,
        ERROR,
    }
)

# Query or path parameters that carry secrets (``?token=``, ``/user=admin&password=x``).
_SECRET_PARAM = re.compile(
    r"(?i)((?:^|[?&;/_])(?:pass(?:word)?|passwd|pwd|token|auth|key|secret|sig(?:nature)?|"
    r"access_token|api_key|user(?:name)?|login)=)([^&;/?#]*)"
)


#: Query parameters shown in logs (vendors' channel/stream selectors); all others are masked.
_HARMLESS_PARAMS = frozenset(
    {
        "channel",
        "subtype",
        "stream",
        "streamtype",
        "ch",
        "chid",
        "profile",
        "resolution",
        "codec",
        "transportmode",
        "unicast",
        "proto",
        "format",
    }
)


def source_kind(url: str) -> str:
    """``file``, ``rtsp``, ``rtsps``, ``http``, ``https``, or another URL scheme in lower case."""
    if "://" not in url:  # a path, or file:/path
        return FILE
    scheme = url.split("://", 1)[0].lower()
    if len(scheme) == 1 or scheme == FILE:  # file:///path, or a Windows drive letter
        return FILE
    return scheme


def is_file_source(url: str) -> bool:
    """A local file: it can be read faster than real time, so its timing must be chosen."""
    return source_kind(url) == FILE


def open_options(
    url: str, options: Mapping[str, str] | None = None, *, read_timeout_s: float | None = None
) -> dict[str, str]:
    """FFmpeg options for opening ``url``; the caller's ``options`` win over the defaults."""
    kind = source_kind(url)
    opts: dict[str, str] = {}
    if kind in (RTSP, RTSPS):
        opts["rtsp_transport"] = "tcp"
        if read_timeout_s:  # socket timeout of the RTSP connection, microseconds
            opts["timeout"] = str(int(read_timeout_s * 1_000_000))
    elif kind in (HTTP, HTTPS):
        if read_timeout_s:
            opts["rw_timeout"] = str(int(read_timeout_s * 1_000_000))
        # Our own reconnect loop reports drops; FFmpeg's silent HTTP reconnect would hide them.
        opts["reconnect"] = "0"
    if options:
        opts.update(options)
    return opts


def pyav_timeout(
    url: str, timeout_s: float | tuple[float, float]
) -> float | tuple[float, float | None]:
    """The ``timeout`` to give ``av.open``: (open, read) seconds, with no read timeout where
    FFmpeg bounds every read itself (RTSP: the ``timeout`` socket option of
    :func:`open_options`).

    Why: PyAV enforces its timeouts in FFmpeg's interrupt callback, which takes the GIL on
    every call, and FFmpeg calls it on every socket read and poll - hundreds of times a
    second per RTSP stream.  With a hundred cameras in one process those GIL hand-offs were
    most of the recorder's CPU (issue 13).  The open timeout stays (it is only in force while
    opening).  HTTP keeps PyAV's read timeout: an HLS playlist that stops growing waits
    inside FFmpeg with no socket read to time out."""
    open_s, read_s = timeout_s if isinstance(timeout_s, tuple) else (timeout_s, timeout_s)
    if source_kind(url) in (RTSP, RTSPS) and read_s:
        return (open_s, None)
    return (open_s, read_s)


def redact_url(url: str) -> str:
    """The URL as it may be logged: user-info replaced by ``***``, secret parameters masked.

    ``rtsp://admin:hunter2@10.0.0.5:554/Streaming/Channels/101`` ->
    ``rtsp://***@10.0.0.5:554/Streaming/Channels/101``;
    ``.../cam/realmonitor?channel=1&subtype=0&token=x`` keeps ``channel`` and ``subtype`` and
    masks ``token`` (only known-harmless query parameters keep their values); secret-looking
    ``name=value`` pairs in the path (``/user=admin&password=x``) are masked too.  A plain
    path is returned as it is.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable url>"
    if not parts.scheme or len(parts.scheme) == 1:  # a plain path (or a Windows drive)
        return url
    if "@" in parts.path:  # an unencoded '/' in a password split the user-info: hide it all
        return f"{parts.scheme}://<redacted>"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port:
        host = f"{host}:{port}"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        host = f"***@{host}"
    path = _SECRET_PARAM.sub(r"\1***", parts.path)
    query = "&".join(_redact_param(p) for p in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, host, path, query, ""))


def _redact_param(param: str) -> str:
    """Deny by default: only parameters known to be harmless keep their value."""
    key, eq, _value = param.partition("=")
    if not eq or key.lower() in _HARMLESS_PARAMS:
        return param
    return f"{key}=***"


def classify_error(exc: BaseException) -> tuple[str, str]:
    """``(code, detail)`` for an exception from opening or reading a source.

    ``detail`` is FFmpeg's (or the OS's) error text only: the file name of an FFmpeg error
    is the URL, password included, so it is never used.
    """
    detail = error_text(exc)
    if isinstance(exc, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return AUTH_FAILED, detail
    if isinstance(exc, av.error.HTTPNotFoundError | FileNotFoundError):
        return NOT_FOUND, detail
    if isinstance(exc, av.error.ExitError | TimeoutError):
        return TIMEOUT, "no data within the read timeout"
    if isinstance(exc, av.error.EOFError):
        return EOF, detail
    if isinstance(exc, av.error.InvalidDataError):
        return BAD_DATA, detail
    code = getattr(exc, "errno", None)
    if code == errno.ECONNREFUSED:
        return REFUSED, detail
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.EADDRNOTAVAIL):
        return UNREACHABLE, detail
    if code == errno.ETIMEDOUT:
        return TIMEOUT, detail
    if code in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.EIO):
        return DROPPED, detail
    if code == errno.ENOENT:
        return NOT_FOUND, detail
    if "resolve" in detail.lower() or "name or service" in detail.lower():
        return UNREACHABLE, detail
    return ERROR, detail


def error_text(e: BaseException) -> str:
    """Error text without the file name (which, for a stream, is the URL with password)."""
    if isinstance(e, av.error.FFmpegError | OSError) and e.strerror:
        return str(e.strerror)
    return type(e).__name__
