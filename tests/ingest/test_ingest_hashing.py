"""Hash-while-copy: digests equal hashlib's, limits stop early, failures leave nothing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from evidence.hashing import sha256_file
from ingest.errors import IngestError
from ingest.hashing import HashingWriter, aspool, spool
from tests.ingest.media import CLIP, CLIPS, Clip


def _chunks(data: bytes, size: int, consumed: list[int] | None = None) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        if consumed is not None:
            consumed.append(i)
        yield data[i : i + size]


@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: c.name)
def test_sha256_file_matches_readme_and_hashlib(clip: Clip) -> None:
    data = clip.path.read_bytes()
    assert sha256_file(clip.path) == hashlib.sha256(data).hexdigest() == clip.sha256


def test_spool_from_file_object(tmp_path: Path) -> None:
    clip = CLIP["intersection"]
    with open(clip.path, "rb") as f:
        got = spool(f, tmp_path / "a" / "copy.mp4")
    assert got.sha256 == clip.sha256
    assert got.size == clip.size
    assert got.path == tmp_path / "a" / "copy.mp4"
    assert got.path.read_bytes() == clip.path.read_bytes()
    assert sorted(p.name for p in got.path.parent.iterdir()) == ["copy.mp4"]


def test_spool_from_odd_sized_chunks(tmp_path: Path) -> None:
    data = CLIP["driveway"].path.read_bytes()
    got = spool(
        _chunks(data, 77_777), tmp_path / "x.mp4", max_bytes=len(data), expected_size=len(data)
    )
    assert (got.sha256, got.size) == (hashlib.sha256(data).hexdigest(), len(data))


def test_too_large_aborts_early_and_removes_partial(tmp_path: Path) -> None:
    data = CLIP["intersection"].path.read_bytes()  # 3.2 MB
    consumed: list[int] = []
    dst = tmp_path / "big.mp4"
    with pytest.raises(IngestError) as ei:
        spool(_chunks(data, 64 * 1024, consumed), dst, max_bytes=1_000_000)
    assert ei.value.code == "too_large"
    # Stopped at the chunk that crossed 1 MB, not after reading all 3.2 MB.
    assert len(consumed) == 1_000_000 // (64 * 1024) + 1
    assert list(tmp_path.iterdir()) == []


def test_announced_size_over_limit_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as ei:
        spool(io.BytesIO(b"x" * 10), tmp_path / "y", max_bytes=5, expected_size=10)
    assert ei.value.code == "too_large"
    assert list(tmp_path.iterdir()) == []


def test_upload_that_stops_half_way(tmp_path: Path) -> None:
    data = CLIP["driveway"].path.read_bytes()
    with pytest.raises(IngestError) as ei:
        spool(io.BytesIO(data[: len(data) // 2]), tmp_path / "u.mp4", expected_size=len(data))
    assert ei.value.code == "incomplete_upload"
    assert list(tmp_path.iterdir()) == []


def test_source_error_leaves_nothing(tmp_path: Path) -> None:
    def broken() -> Iterator[bytes]:
        yield b"a" * 1000
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        spool(broken(), tmp_path / "z.mp4")
    assert list(tmp_path.iterdir()) == []


def test_aspool(tmp_path: Path) -> None:
    data = CLIP["motorcycles"].path.read_bytes()

    async def body() -> AsyncIterator[bytes]:
        for chunk in _chunks(data, 65_536):
            yield chunk
        yield b""  # servers send an empty final chunk

    got = asyncio.run(aspool(body(), tmp_path / "m.mp4", max_bytes=len(data)))
    assert got.sha256 == CLIP["motorcycles"].sha256

    async def too_much() -> AsyncIterator[bytes]:
        for chunk in _chunks(data, 65_536):
            yield chunk

    with pytest.raises(IngestError) as ei:
        asyncio.run(aspool(too_much(), tmp_path / "n.mp4", max_bytes=100_000))
    assert ei.value.code == "too_large"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.mp4"]


def test_hashing_writer() -> None:
    out = io.BytesIO()
    w = HashingWriter(out, max_bytes=10)
    w.write(b"hello")
    w.write(memoryview(b"world"))
    assert w.sha256 == hashlib.sha256(b"helloworld").hexdigest() and w.size == 10
    with pytest.raises(IngestError):
        w.write(b"!")
    assert out.getvalue() == b"helloworld"


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="no sha256sum")
def test_hashing_speed_is_close_to_sha256sum(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    block = CLIP["intersection"].path.read_bytes()
    with open(big, "wb") as f:
        for _ in range(20):  # ~64 MB
            f.write(block)
    sha256_file(big)  # warm the page cache for both
    t = time.perf_counter()
    ours = sha256_file(big)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    theirs = subprocess.run(["sha256sum", str(big)], check=True, capture_output=True, text=True)
    t_theirs = time.perf_counter() - t
    assert ours == theirs.stdout.split()[0]
    assert t_ours <= 1.5 * t_theirs + 0.2, f"ours {t_ours:.3f}s vs sha256sum {t_theirs:.3f}s"
