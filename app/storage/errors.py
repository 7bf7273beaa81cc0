"""Errors raised by every object store implementation.

Callers (HTTP routers, ingest jobs, evidence export) catch these and never the SDK's own
exceptions, so the choice of backend stays invisible above this package. Messages never
contain credentials: they name the key and, at most, a redacted store URL.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of everything this package raises on purpose."""


class ObjectNotFound(StorageError):
    """The key does not name an object (never written, or deleted)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"object not found: {key!r}")
        self.key = key


class StoreUnavailable(StorageError):
    """The store cannot be reached or refuses to work (down, wrong credentials, no disk).

    Readiness checks turn this into "not ready"; jobs treat it as retryable.
    """


class ObjectLocked(StorageError):
    """The object is under legal hold or retention, so it cannot be deleted or replaced."""

    def __init__(self, key: str, reason: str = "legal hold or retention") -> None:
        super().__init__(f"object is locked ({reason}): {key!r}")
        self.key = key
        self.reason = reason


class InvalidKey(StorageError, ValueError):
    """The key is not a safe relative `/`-separated path."""


class ObjectLockUnsupported(StorageError):
    """Legal hold or retention was asked of a store (bucket) that has no object lock."""


class InvalidStoreURL(StorageError, ValueError):
    """The storage URL cannot be parsed; the message carries a redacted form of it."""


class IncompleteUpload(StorageError, ValueError):
    """The stream ended before the announced length; nothing was stored."""
