"""Small stream adapters that keep memory bounded.

`FillingReader` sits between a caller's stream and a backend: it enforces an announced
length and hands out full blocks, because the minio SDK builds each multipart part with
`bytes +=` (quadratic for a stream that returns small reads). `RangeReader` bounds a local
file to a byte range; `ResponseReader` turns an HTTP response into a closable file object
whose errors are ours.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO, Protocol

from app.storage.base import Readable
from app.storage.errors import IncompleteUpload


class FillingReader(io.RawIOBase):
    """Reads from `source` until `size` bytes are gathered or it ends.

    With `length`, at most `length` bytes are read and ending early raises
    `IncompleteUpload` (so a truncated upload never becomes an object).
    """

    def __init__(self, source: Readable, length: int | None = None) -> None:
        super().__init__()
        if length is not None and length < 0:
            raise ValueError("length must be >= 0")
        self._source = source
        self._length = length
        self.count = 0
        #: The exception the caller's stream raised, if any: backends re-raise it as is
        #: instead of mistaking a broken upload for a broken store.
        self.source_error: BaseException | None = None

    @property
    def source_failed(self) -> bool:
        return self.source_error is not None

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            chunks = []
            while chunk := self.read(1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        if self._length is not None:
            size = min(size, self._length - self.count)
        if size == 0:
            return b""
        buf = bytearray()
        while len(buf) < size:
            try:
                data = self._source.read(size - len(buf))
            except BaseException as exc:
                self.source_error = exc
                raise
            if not data:
                break
            buf += data
        self.count += len(buf)
        if len(buf) < size and self._length is not None:
            raise IncompleteUpload(
                f"stream ended after {self.count} of {self._length} announced bytes"
            )
        return bytes(buf)

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


class RangeReader(io.RawIOBase):
    """At most `length` bytes of `raw` from its current position; closes `raw` with itself."""

    def __init__(self, raw: BinaryIO, length: int) -> None:
        super().__init__()
        self._raw = raw
        self._remaining = length

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._remaining <= 0:
            return 0
        view = memoryview(b)[: min(len(b), self._remaining)]
        n = self._raw.readinto(view)  # type: ignore[attr-defined]
        if not n:
            return 0
        self._remaining -= n
        return int(n)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class _Response(Protocol):
    def read(self, amt: int | None = None) -> bytes: ...
    def close(self) -> None: ...
    def release_conn(self) -> None: ...


class ResponseReader(io.RawIOBase):
    """A streaming HTTP response body as a raw file; `translate` maps transport errors."""

    def __init__(
        self, response: _Response, translate: Callable[[BaseException], BaseException]
    ) -> None:
        super().__init__()
        self._response = response
        self._translate = translate

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._response.read(len(b))
        except Exception as exc:
            raise self._translate(exc) from exc
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._response.close()
                self._response.release_conn()
            finally:
                super().close()


def buffered(raw: io.RawIOBase, buffer_size: int = 256 * 1024) -> BinaryIO:
    """Wrap a raw reader so callers get the usual `read(n)`/`readline` behaviour."""
    return io.BufferedReader(raw, buffer_size)
