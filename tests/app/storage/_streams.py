"""Test streams that produce bytes on demand, so a 64 MB upload never exists in memory."""

from __future__ import annotations

import hashlib
import io


class GeneratedStream(io.RawIOBase):
    """`size` deterministic pseudo-random bytes, produced as they are read.

    Non-seekable and without a length, like an HTTP upload body; `sha256` is the hash of
    what has been handed out so far.
    """

    def __init__(self, size: int, *, seed: int = 0, fail_after: int | None = None) -> None:
        super().__init__()
        self.size = size
        self.fail_after = fail_after
        self.position = 0
        self._block = hashlib.sha256(f"block-{seed}".encode()).digest() * 2048  # 64 KiB
        self._hash = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            size = self.size - self.position
        size = min(size, len(self._block), self.size - self.position)
        if self.fail_after is not None and self.position + size > self.fail_after:
            raise RuntimeError("upload source broke half-way")
        if size <= 0:
            return b""
        start = self.position % len(self._block)
        # Vary the data per block so a misplaced part would change the hash.
        counter = (self.position // len(self._block)).to_bytes(8, "big")
        chunk = (self._block[start:] + self._block[:start])[:size]
        chunk = counter + chunk[8:] if size >= 8 and start == 0 else chunk
        self.position += len(chunk)
        self._hash.update(chunk)
        return chunk

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def expected_sha256(size: int, seed: int = 0) -> str:
    stream = GeneratedStream(size, seed=seed)
    while stream.read(1 << 16):
        pass
    return stream.sha256
