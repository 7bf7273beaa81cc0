"""Parsing storage URLs, and printing them without their secrets.

`WARDCAM_STORAGE_URL` carries S3 credentials in its user-info part, so every place that
might show the URL (repr, exceptions, logs, /readyz) goes through `redacted_url`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from app.storage.errors import InvalidStoreURL

_SECRET_PARAM_WORDS = ("secret", "password", "signature", "token", "credential", "key")
_REDACTED = "***"

LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
DEFAULT_PART_SIZE = 8 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last


def redacted_url(url: str) -> str:
    """`url` with user name, password and secret-looking query values replaced by `***`.

    Never raises: a URL that cannot be parsed is reduced to its scheme.
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{_REDACTED}:{_REDACTED}@" + netloc.rpartition("@")[2]
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, _REDACTED if _is_secret_param(k) else v) for k, v in pairs], safe="*"
            )
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except Exception:
        scheme = url.split(":", 1)[0] if ":" in url else ""
        return f"{scheme}://{_REDACTED}" if scheme.isalnum() else _REDACTED


def _is_secret_param(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_PARAM_WORDS)


def parse_file_url(url: str) -> Path:
    """The absolute directory of a `file://` URL.

    `file:///abs/dir` is the documented form. `file://./data/objects` and
    `file://data/objects` (what `file://<DATA_DIR>/objects` gives with the relative default
    `./data`) are accepted too and resolved against the working directory, because the
    settings layer builds the URL by string concatenation.
    """
    parts = urlsplit(url)
    if parts.scheme != "file":
        raise InvalidStoreURL(f"not a file:// URL: {redacted_url(url)}")
    if parts.query or parts.fragment:
        raise InvalidStoreURL(f"file:// URL takes no query: {redacted_url(url)}")
    host = parts.netloc
    raw = unquote(parts.path) if host in ("", "localhost") else unquote(host + parts.path)
    if not raw:
        raise InvalidStoreURL(f"file:// URL has no path: {redacted_url(url)}")
    return Path(os.path.abspath(os.path.expanduser(raw)))


@dataclass(frozen=True)
class S3Config:
    """What an `s3://` URL says. The secret is excluded from repr."""

    endpoint: str  # host:port
    bucket: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    secure: bool = True
    region: str | None = None
    lock_mode: str | None = None  # set => create the bucket with object lock
    part_size: int = DEFAULT_PART_SIZE


def parse_s3_url(url: str) -> S3Config:
    """Parse `s3://ACCESS:SECRET@host:port/bucket?secure=false&region=..&lock_mode=..`.

    ACCESS and SECRET may be percent-encoded (secrets often contain `/` or `+`).
    `part_size_mb` (>= 5) tunes the multipart part size, i.e. the memory one upload holds.
    """
    safe = redacted_url(url)
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise InvalidStoreURL(f"not an s3:// URL: {safe}")
    if "@" not in parts.netloc:
        raise InvalidStoreURL(f"s3:// URL needs ACCESS:SECRET@host:port: {safe}")
    userinfo, _, hostport = parts.netloc.rpartition("@")
    access, sep, secret = userinfo.partition(":")
    if not sep or not access or not secret:
        raise InvalidStoreURL(f"s3:// URL needs ACCESS:SECRET@host:port: {safe}")
    if not hostport:
        raise InvalidStoreURL(f"s3:// URL has no host: {safe}")
    bucket = parts.path.strip("/")
    if not bucket or "/" in bucket:
        raise InvalidStoreURL(f"s3:// URL needs exactly one bucket in its path: {safe}")

    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(params) - {"secure", "region", "lock_mode", "part_size_mb"}
    if unknown:
        raise InvalidStoreURL(f"unknown s3:// URL parameters {sorted(unknown)}: {safe}")
    secure = _parse_bool(params.get("secure", "true"), safe)
    lock_mode = params.get("lock_mode") or None
    if lock_mode is not None:
        lock_mode = lock_mode.upper()
        if lock_mode not in LOCK_MODES:
            raise InvalidStoreURL(f"lock_mode must be one of {LOCK_MODES}: {safe}")
    part_size = DEFAULT_PART_SIZE
    if "part_size_mb" in params:
        try:
            part_size = int(params["part_size_mb"]) * 1024 * 1024
        except ValueError:
            raise InvalidStoreURL(f"part_size_mb must be an integer: {safe}") from None
        if part_size < MIN_PART_SIZE:
            raise InvalidStoreURL(f"part_size_mb must be at least 5: {safe}")
    return S3Config(
        endpoint=hostport,
        bucket=bucket,
        access_key=unquote(access),
        secret_key=unquote(secret),
        secure=secure,
        region=params.get("region") or None,
        lock_mode=lock_mode,
        part_size=part_size,
    )


def _parse_bool(value: str, safe_url: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise InvalidStoreURL(f"secure must be true or false: {safe_url}")
