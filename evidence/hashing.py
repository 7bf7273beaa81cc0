"""SHA-256 of originals, fast, and the acquisition-hash check done before any evidence use."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from evidence.errors import SourceMissingError, TamperError


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file (the standard library's `hashlib.file_digest`).

    hashlib releases the GIL on large updates, so several files can be hashed in parallel
    threads (see :func:`verify_sources`).
    """
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class HashedSource(Protocol):
    """Anything with a local path and the SHA-256 recorded when it was acquired."""

    @property
    def path(self) -> Path: ...

    @property
    def sha256(self) -> str: ...


@dataclass(frozen=True)
class HashCheck:
    path: Path
    expected: str
    actual: str

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


def check_sources(sources: Iterable[HashedSource], workers: int = 2) -> list[HashCheck]:
    """Re-hash every source (in ``workers`` threads) and return the comparisons, in order.

    Raises :class:`SourceMissingError` if a source cannot be read.
    """
    items = list(sources)

    def one(src: HashedSource) -> HashCheck:
        p = Path(src.path)
        try:
            actual = sha256_file(p)
        except FileNotFoundError as exc:
            raise SourceMissingError(f"{p}: original is missing") from exc
        except OSError as exc:
            raise SourceMissingError(f"{p}: original cannot be read ({exc})") from exc
        return HashCheck(p, src.sha256.lower(), actual)

    if workers <= 1 or len(items) <= 1:
        return [one(s) for s in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(one, items))


def verify_sources(sources: Iterable[HashedSource], workers: int = 2) -> None:
    """Re-hash every original and compare it with its acquisition hash.

    Raises :class:`TamperError` (for the first mismatch, in the given order) -- a possible
    tamper must fail loudly, never be skipped.
    """
    for check in check_sources(sources, workers=workers):
        if not check.ok:
            raise TamperError(check.path, check.expected, check.actual)
