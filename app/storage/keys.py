"""Object key validation, shared by both backends.

Keys become file paths in the local store, so anything that could escape the root or alias
another key is refused. The same rules apply to S3 so that a key valid in development is
valid in production and vice versa.
"""

from __future__ import annotations

from app.storage.errors import InvalidKey

#: Top-level name reserved for the local store's temp files and sidecars.
RESERVED_TOP = ".wardcam"
MAX_KEY_BYTES = 1024  # the S3 limit


def validate_key(key: object) -> str:
    """Return `key` unchanged if it is a safe relative `/`-separated path, else raise."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("key must be a non-empty string")
    _check_chars(key)
    if key.startswith("/"):
        raise InvalidKey(f"key must be relative: {key!r}")
    parts = key.split("/")
    for part in parts:
        if part == "":
            raise InvalidKey(f"key has an empty path segment: {key!r}")
        if part in (".", ".."):
            raise InvalidKey(f"key has a '.' or '..' segment: {key!r}")
    if parts[0] == RESERVED_TOP:
        raise InvalidKey(f"keys under {RESERVED_TOP}/ are reserved: {key!r}")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidKey(f"key longer than {MAX_KEY_BYTES} bytes")
    return key


def validate_prefix(prefix: object) -> str:
    """A listing prefix: empty, or a key-like string that may end in `/` or mid-segment."""
    if not isinstance(prefix, str):
        raise InvalidKey("prefix must be a string")
    if prefix == "":
        return prefix
    validate_key(prefix.removesuffix("/"))
    return prefix


def _check_chars(key: str) -> None:
    if "\\" in key:
        raise InvalidKey(f"key contains a backslash: {key!r}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        raise InvalidKey(f"key contains NUL or a control character: {key!r}")
