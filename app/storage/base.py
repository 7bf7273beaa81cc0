"""The object store interface every backend implements.

Footage segments are hundreds of megabytes, so the interface is built on streams: `put`
consumes a readable stream of known or unknown length, `open` returns a streaming reader.
Nothing here ever needs a whole object in memory.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from app.storage.errors import ObjectNotFound

DEFAULT_CHUNK_SIZE = 1 << 20


class Readable(Protocol):
    """Anything with `read(n) -> bytes`: a file, a socket file, an upload body."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows about one object.

    `etag` is an opaque change tag (MD5 of the bytes for single-part uploads on both
    backends, S3's multipart tag otherwise): use it to detect replacement, not as a hash of
    record. wardcam's SHA-256 of record lives in the database.
    """

    key: str
    size: int
    etag: str
    last_modified: datetime  # timezone-aware, UTC
    content_type: str
    version_id: str | None = None


class ObjectStore(abc.ABC):
    """Keys are `/`-separated relative paths (see `app.storage.keys.validate_key`).

    Every method may raise `StoreUnavailable`; methods taking a key raise `InvalidKey`
    for an unsafe one. `delete` of a missing key is a no-op (as in S3), so cleanup after a
    crash can simply be repeated.
    """

    @property
    @abc.abstractmethod
    def supports_object_lock(self) -> bool:
        """Whether legal hold and retention are available for this store."""

    @abc.abstractmethod
    def put(
        self,
        key: str,
        stream: Readable,
        length: int | None = None,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
        legal_hold: bool = False,
    ) -> ObjectInfo:
        """Store the stream under `key`, atomically: either the whole object appears or none.

        With `length`, exactly that many bytes are read and a shorter stream raises
        `IncompleteUpload`. `retain_until` (timezone-aware) and `legal_hold` need
        `supports_object_lock`, else `ObjectLockUnsupported`. Replacing an object that is
        held or retained raises `ObjectLocked`.
        """

    def put_file(
        self,
        key: str,
        path: Path,
        length: int,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
        legal_hold: bool = False,
    ) -> ObjectInfo:
        """`put` of a closed local file of `length` bytes that the caller wrote and nobody
        will write again (a recorded segment). A store may take the file itself rather than
        a copy of its bytes (`LocalStore`: a hard link on the same file system, with the
        store's file mode), so never pass a file someone else may still change (an NVR
        export); the caller may remove its own name for the file afterwards."""
        with path.open("rb") as fh:
            return self.put(
                key,
                fh,
                length,
                content_type,
                retain_until=retain_until,
                legal_hold=legal_hold,
            )

    @abc.abstractmethod
    def open(self, key: str, offset: int = 0, length: int | None = None) -> BinaryIO:
        """A streaming reader over `length` bytes from `offset` (to the end if None).

        Raises `ObjectNotFound` immediately. A range past the end yields fewer (or no)
        bytes, like slicing. The caller closes the reader.
        """

    def iter_chunks(
        self,
        key: str,
        offset: int = 0,
        length: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> Iterator[bytes]:
        """The same bytes as `open`, as chunks of at most `chunk_size` (e.g. for responses).

        The object is opened on the first `next()`, and closed when exhausted or when the
        generator is closed.
        """
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        reader = self.open(key, offset, length)
        try:
            while True:
                chunk = reader.read(chunk_size)
                if not chunk:
                    return
                yield chunk
        finally:
            reader.close()

    @abc.abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Metadata of the object; `ObjectNotFound` if there is none."""

    def exists(self, key: str) -> bool:
        """Whether `key` names an object."""
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; `ObjectLocked` while it is held or retained; no-op if absent."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, lazily.

        Order is not guaranteed: LocalStore, AWS and MinIO give lexicographic order, but
        SeaweedFS lists directory by directory. Sort if it matters.
        """

    @abc.abstractmethod
    def set_legal_hold(self, key: str, on: bool) -> None:
        """Place or release a legal hold; `ObjectLockUnsupported` without object lock."""

    @abc.abstractmethod
    def set_retention(self, key: str, retain_until: datetime, mode: str | None = None) -> None:
        """Keep the object undeletable until then (GOVERNANCE or COMPLIANCE on S3; default:
        the store URL's lock_mode); `ObjectLockUnsupported` without object lock."""

    @abc.abstractmethod
    def is_legal_hold(self, key: str) -> bool:
        """Whether the object is under legal hold (False where there is no object lock)."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Check that the store is usable; raise `StoreUnavailable` if not."""

    def close(self) -> None:  # noqa: B027 - optional hook, not abstract on purpose
        """Release pooled connections. Optional; the store stays usable after it."""


def check_range(offset: int, length: int | None) -> None:
    """Shared argument check for `open`/`iter_chunks`."""
    if offset < 0:
        raise ValueError("offset must be >= 0")
    if length is not None and length < 0:
        raise ValueError("length must be >= 0")


def check_retention(retain_until: datetime | None) -> None:
    """Naive datetimes are refused: wardcam stores UTC and a naive time is a bug upstream.

    A time in the past is refused too, as S3 does, so both backends agree.
    """
    if retain_until is None:
        return
    if retain_until.tzinfo is None:
        raise ValueError("retain_until must be timezone-aware")
    if retain_until <= datetime.now(UTC):
        raise ValueError("retain_until must be in the future")


def check_content_type(content_type: str) -> None:
    """A content type becomes an HTTP header: no control characters, nothing overlong."""
    if (
        not isinstance(content_type, str)
        or not content_type
        or len(content_type) > 255
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in content_type)
    ):
        raise ValueError(f"invalid content type: {content_type!r}")
