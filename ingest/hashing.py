"""Copy bytes to disk while hashing them, with bounded memory and a hard size limit.

Evidence rules say a segment's SHA-256 is taken *when it arrives*; hashing during the copy
means the digest describes exactly the bytes that were written, and costs no second read.
Uploads are untrusted, so the size limit is enforced while copying (not after), and a copy
that fails for any reason leaves no file behind: bytes go to ``<dst>.part`` and are renamed
into place only once complete.

Three ways in:

* :func:`spool` for a file object or any iterable of byte chunks;
* :func:`aspool` for an async iterable (e.g. an ASGI request body);
* :class:`SpoolWriter` when the caller drives the loop itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import AsyncIterable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from ingest.errors import INCOMPLETE_UPLOAD, TOO_LARGE, IngestError

#: 1 MiB: large enough that per-call overhead vanishes next to hashing (~sha256sum speed),
#: small enough that memory stays flat whatever the file size.
CHUNK_SIZE = 1 << 20

__all__ = [
    "CHUNK_SIZE",
    "HashingWriter",
    "SpoolWriter",
    "Spooled",
    "aspool",
    "iter_chunks",
    "spool",
]


@dataclass(frozen=True)
class Spooled:
    """A file that was copied in whole: where it is, its SHA-256 (hex) and its size."""

    path: Path
    sha256: str
    size: int


def iter_chunks(src: BinaryIO | Iterable[bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield non-empty byte chunks from a file object or pass through an iterable of chunks."""
    read = getattr(src, "read", None)
    if read is not None:
        while chunk := read(chunk_size):
            yield chunk
        return
    for chunk in src:
        if chunk:
            yield chunk


class HashingWriter:
    """Wrap a writable binary file: every ``write`` also feeds SHA-256 and counts bytes.

    ``max_bytes`` is checked *before* a chunk is written, so a too-large stream is refused
    without writing the byte that crosses the limit.
    """

    def __init__(self, fileobj: BinaryIO, max_bytes: int | None = None) -> None:
        self._f = fileobj
        self._h = hashlib.sha256()
        self.size = 0
        self.max_bytes = max_bytes

    def write(self, data: bytes | bytearray | memoryview) -> int:
        n = len(data)
        if self.max_bytes is not None and self.size + n > self.max_bytes:
            raise IngestError(
                TOO_LARGE, f"more than {self.max_bytes} bytes (limit passed after {self.size})"
            )
        self._h.update(data)
        written = self._f.write(data)
        self.size += n
        return written if written is not None else n

    @property
    def sha256(self) -> str:
        """Hex digest of everything written so far."""
        return self._h.hexdigest()


class SpoolWriter:
    """Write chunks to ``<dst>.part``, then :meth:`commit` renames to ``dst`` or :meth:`abort`
    removes the partial file.  Used as a context manager it aborts on any exception.
    """

    def __init__(
        self,
        dst_path: str | os.PathLike[str],
        max_bytes: int | None = None,
        *,
        expected_size: int | None = None,
        fsync: bool = True,
    ) -> None:
        self.path = Path(dst_path)
        self.part_path = self.path.with_name(self.path.name + ".part")
        self.expected_size = expected_size
        self._fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if expected_size is not None and max_bytes is not None and expected_size > max_bytes:
            raise IngestError(TOO_LARGE, f"announced {expected_size} bytes, limit {max_bytes}")
        self._file: BinaryIO | None = open(self.part_path, "wb")  # noqa: SIM115
        self._writer = HashingWriter(self._file, max_bytes)

    @property
    def size(self) -> int:
        return self._writer.size

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        """Append one chunk; raises ``IngestError('too_large')`` (and aborts) past the limit."""
        try:
            self._writer.write(chunk)
        except BaseException:
            self.abort()
            raise

    def commit(self) -> Spooled:
        """Flush, fsync, check the announced size, rename into place; return the result."""
        f = self._file
        if f is None:
            raise RuntimeError("spool already closed")
        try:
            f.flush()
            if self._fsync:
                os.fsync(f.fileno())
            f.close()
            self._file = None
            if self.expected_size is not None and self.size != self.expected_size:
                raise IngestError(
                    INCOMPLETE_UPLOAD,
                    f"received {self.size} bytes of the {self.expected_size} announced",
                )
            os.replace(self.part_path, self.path)
        except BaseException:
            self.abort()
            raise
        return Spooled(self.path, self._writer.sha256, self.size)

    def abort(self) -> None:
        """Close and delete the partial file (idempotent)."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        with contextlib.suppress(FileNotFoundError):
            self.part_path.unlink()

    def __enter__(self) -> SpoolWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None or self._file is not None:
            self.abort()


def spool(
    src: BinaryIO | Iterable[bytes],
    dst_path: str | os.PathLike[str],
    max_bytes: int | None = None,
    *,
    expected_size: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    fsync: bool = True,
) -> Spooled:
    """Copy ``src`` to ``dst_path`` hashing on the way; all-or-nothing.

    Raises ``IngestError('too_large')`` as soon as more than ``max_bytes`` arrive and
    ``IngestError('incomplete_upload')`` if ``expected_size`` is given and not met; in both
    cases, and on any exception from ``src``, no file is left at ``dst_path`` or its ``.part``.
    """
    w = SpoolWriter(dst_path, max_bytes, expected_size=expected_size, fsync=fsync)
    with w:
        for chunk in iter_chunks(src, chunk_size):
            w.write(chunk)
        return w.commit()


async def aspool(
    src: AsyncIterable[bytes],
    dst_path: str | os.PathLike[str],
    max_bytes: int | None = None,
    *,
    expected_size: int | None = None,
    fsync: bool = True,
) -> Spooled:
    """:func:`spool` for an async byte stream (e.g. Starlette's ``request.stream()``).

    File writes are synchronous (local disk, 1 MiB at most per chunk from typical servers);
    run the whole thing in a thread if that matters for the event loop.
    """
    w = SpoolWriter(dst_path, max_bytes, expected_size=expected_size, fsync=fsync)
    with w:
        async for chunk in src:
            if chunk:
                w.write(chunk)
        return w.commit()
