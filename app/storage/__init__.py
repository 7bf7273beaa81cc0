"""Object store for footage, thumbnails and evidence packages.

`make_store(settings.storage_url)` gives a `LocalStore` for `file://` URLs (the embedded
default) or an `S3Store` for `s3://` URLs. Callers use only the `ObjectStore` interface
and the errors below; see docs/MAP.md.
"""

from __future__ import annotations

from app.storage.base import DEFAULT_CHUNK_SIZE, ObjectInfo, ObjectStore, Readable
from app.storage.errors import (
    IncompleteUpload,
    InvalidKey,
    InvalidStoreURL,
    ObjectLocked,
    ObjectLockUnsupported,
    ObjectNotFound,
    StorageError,
    StoreUnavailable,
)
from app.storage.keys import validate_key
from app.storage.local import LocalStore
from app.storage.s3 import S3Store
from app.storage.urls import redacted_url

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "IncompleteUpload",
    "InvalidKey",
    "InvalidStoreURL",
    "LocalStore",
    "ObjectInfo",
    "ObjectLockUnsupported",
    "ObjectLocked",
    "ObjectNotFound",
    "ObjectStore",
    "Readable",
    "S3Store",
    "StorageError",
    "StoreUnavailable",
    "make_store",
    "redacted_url",
    "validate_key",
]


def make_store(url: str) -> ObjectStore:
    """The store a URL names: `file:///abs/dir` or `s3://ACCESS:SECRET@host:port/bucket?..`.

    Nothing is contacted here; an S3 bucket is created on first use.
    """
    from app.storage.urls import parse_file_url

    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "file":
        return LocalStore(parse_file_url(url))
    if scheme == "s3":
        return S3Store(url)
    raise InvalidStoreURL(f"storage URL must be file:// or s3://: {redacted_url(url)}")
