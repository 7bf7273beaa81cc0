"""The ObjectStore contract, run against every backend (see conftest `store`)."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.storage import (
    IncompleteUpload,
    InvalidKey,
    ObjectNotFound,
    ObjectStore,
    S3Store,
)

from ._streams import GeneratedStream

MB = 1024 * 1024


def _read(store: ObjectStore, key: str, offset: int = 0, length: int | None = None) -> bytes:
    with store.open(key, offset, length) as reader:
        return reader.read()


def test_roundtrip_and_stat(store: ObjectStore, key_prefix: str) -> None:
    key = f"{key_prefix}cam-1/2024/seg 001.mp4"
    before = datetime.now(UTC) - timedelta(seconds=5)
    info = store.put(key, io.BytesIO(b"hello footage"), 13, "video/mp4")
    assert info.key == key
    assert info.size == 13
    assert info.etag

    st = store.stat(key)
    assert (st.key, st.size, st.content_type) == (key, 13, "video/mp4")
    assert st.etag == info.etag == hashlib.md5(b"hello footage", usedforsecurity=False).hexdigest()
    assert st.last_modified.tzinfo is not None
    assert before <= st.last_modified <= datetime.now(UTC) + timedelta(seconds=5)
    assert _read(store, key) == b"hello footage"
    assert store.exists(key)


def test_unknown_length_small_and_empty(store: ObjectStore, key_prefix: str) -> None:
    store.put(f"{key_prefix}small", io.BytesIO(b"abc"))
    assert _read(store, f"{key_prefix}small") == b"abc"
    info = store.put(f"{key_prefix}empty", io.BytesIO(b""))
    assert info.size == 0
    assert _read(store, f"{key_prefix}empty") == b""


def test_overwrite_replaces(store: ObjectStore, key_prefix: str) -> None:
    key = f"{key_prefix}thumb.jpg"
    store.put(key, io.BytesIO(b"one"), content_type="image/jpeg")
    store.put(key, io.BytesIO(b"second"), content_type="image/png")
    assert _read(store, key) == b"second"
    assert store.stat(key).content_type == "image/png"


@pytest.mark.parametrize(
    ("offset", "length", "expected"),
    [
        (0, None, b"0123456789"),
        (3, None, b"3456789"),
        (3, 4, b"3456"),
        (0, 1, b"0"),
        (9, 1, b"9"),
        (8, 100, b"89"),
        (10, None, b""),
        (25, 5, b""),
        (4, 0, b""),
    ],
)
def test_ranged_get(
    store: ObjectStore, key_prefix: str, offset: int, length: int | None, expected: bytes
) -> None:
    key = f"{key_prefix}digits"
    store.put(key, io.BytesIO(b"0123456789"), 10)
    assert _read(store, key, offset, length) == expected
    assert b"".join(store.iter_chunks(key, offset, length, chunk_size=3)) == expected


def test_iter_chunks_sizes(store: ObjectStore, key_prefix: str) -> None:
    key = f"{key_prefix}chunks"
    store.put(key, io.BytesIO(bytes(range(256)) * 40))
    chunks = list(store.iter_chunks(key, chunk_size=1000))
    assert [len(c) for c in chunks] == [1000] * 10 + [240]
    assert b"".join(chunks) == bytes(range(256)) * 40


def test_open_is_a_streaming_file(store: ObjectStore, key_prefix: str) -> None:
    key = f"{key_prefix}file"
    store.put(key, io.BytesIO(b"line1\nline2\n"))
    reader = store.open(key)
    try:
        assert reader.readline() == b"line1\n"
        assert reader.read(3) == b"lin"
        assert reader.read() == b"e2\n"
        assert reader.read() == b""
    finally:
        reader.close()
    assert reader.closed


def test_missing_key(store: ObjectStore, key_prefix: str) -> None:
    key = f"{key_prefix}nope"
    with pytest.raises(ObjectNotFound):
        store.stat(key)
    with pytest.raises(ObjectNotFound):
        store.open(key)
    with pytest.raises(ObjectNotFound):
        store.open(key, 0, 0)
    with pytest.raises(ObjectNotFound):
        next(store.iter_chunks(key))
    assert not store.exists(key)
    store.delete(key)  # deleting nothing is fine


def test_delete(store: ObjectStore, key_prefix: str) -> None:
    key = f"{key_prefix}a/b/c"
    store.put(key, io.BytesIO(b"x"))
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(ObjectNotFound):
        store.stat(key)
    assert list(store.list(key_prefix)) == []
    store.put(key, io.BytesIO(b"again"))  # the key is reusable
    assert _read(store, key) == b"again"


def test_list(store: ObjectStore, key_prefix: str) -> None:
    """Order is not part of the contract (SeaweedFS lists directory by directory)."""
    keys = ["p/a/1", "p/a/2", "p/a-c", "p/ab", "p/b/x/y", "q"]
    for k in reversed(keys):
        store.put(key_prefix + k, io.BytesIO(k.encode()))
    got = list(store.list(key_prefix))
    assert sorted(got) == sorted(key_prefix + k for k in keys)
    assert len(got) == len(set(got))
    assert sorted(store.list(key_prefix + "p/a/")) == [key_prefix + "p/a/1", key_prefix + "p/a/2"]
    assert sorted(store.list(key_prefix + "p/a")) == [
        key_prefix + k for k in ["p/a-c", "p/a/1", "p/a/2", "p/ab"]
    ]
    assert list(store.list(key_prefix + "zzz")) == []


BAD_KEYS = [
    "",
    "/abs/path",
    "a/../b",
    "..",
    "a/./b",
    "a//b",
    "a/",
    "back\\slash",
    "nul\x00byte",
    "new\nline",
    ".wardcam/tmp/x",
    "x" * 1025,
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.put(key, io.BytesIO(b"x"))
    with pytest.raises(InvalidKey):
        store.stat(key)
    with pytest.raises(InvalidKey):
        store.open(key)
    with pytest.raises(InvalidKey):
        store.delete(key)


def test_invalid_prefix(store: ObjectStore) -> None:
    with pytest.raises(InvalidKey):
        list(store.list("../"))


@pytest.mark.parametrize("content_type", ["", "bad\r\nheader", "x" * 300])
def test_invalid_content_type(store: ObjectStore, key_prefix: str, content_type: str) -> None:
    with pytest.raises(ValueError, match="content type"):
        store.put(f"{key_prefix}x", io.BytesIO(b"x"), content_type=content_type)
    assert not store.exists(f"{key_prefix}x")


def test_failed_stream_leaves_no_object(store: ObjectStore, key_prefix: str) -> None:
    """A source that breaks after two multipart parts: the original error, no object."""
    key = f"{key_prefix}broken.mp4"
    stream = GeneratedStream(40 * MB, fail_after=12 * MB)
    with pytest.raises(RuntimeError, match="half-way"):
        store.put(key, stream)
    assert not store.exists(key)
    assert list(store.list(key_prefix)) == []
    if isinstance(store, S3Store):  # the multipart upload was aborted, not left dangling
        pending = store._client._list_multipart_uploads(store.bucket, prefix=key_prefix)
        assert [u.object_name for u in pending.uploads] == []


def test_source_oserror_is_not_store_unavailable(store: ObjectStore, key_prefix: str) -> None:
    """A client that disconnects mid-upload is the caller's problem, not the store's."""

    class Disconnect(io.RawIOBase):
        def read(self, size: int = -1, /) -> bytes:
            raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.put(f"{key_prefix}k", Disconnect())
    assert not store.exists(f"{key_prefix}k")


def test_failed_stream_keeps_previous_version(store: ObjectStore, key_prefix: str) -> None:
    key = f"{key_prefix}seg.mp4"
    store.put(key, io.BytesIO(b"original"))
    with pytest.raises(RuntimeError):
        store.put(key, GeneratedStream(1 * MB, fail_after=100_000))
    assert _read(store, key) == b"original"


def test_short_stream_with_length_is_refused(store: ObjectStore, key_prefix: str) -> None:
    key = f"{key_prefix}truncated"
    with pytest.raises(IncompleteUpload):
        store.put(key, io.BytesIO(b"only half"), length=100)
    assert not store.exists(key)
    # A longer stream is cut at `length`, as the SDK does.
    store.put(key, io.BytesIO(b"0123456789"), length=4)
    assert _read(store, key) == b"0123"


def test_large_stream_is_streamed(store: ObjectStore, key_prefix: str) -> None:
    """64 MB of unknown length through put and iter_chunks, allocating far less than that."""
    size = 64 * MB
    key = f"{key_prefix}big.bin"
    source = GeneratedStream(size, seed=7)
    tracemalloc.start()
    try:
        info = store.put(key, source, None, "video/mp2t")
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        total = 0
        for chunk in store.iter_chunks(key, chunk_size=1 * MB):
            digest.update(chunk)
            total += len(chunk)
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == size == total
    assert digest.hexdigest() == source.sha256
    # S3 holds up to three copies of a 5 MB part (ours, the SDK's, its slice: ~15 MB);
    # local holds a 1 MB copy buffer. Reading the whole stream would take 64 MB or more.
    assert put_peak < 24 * MB, f"put peak {put_peak / MB:.1f} MB"
    assert get_peak < 8 * MB, f"get peak {get_peak / MB:.1f} MB"


def test_known_length_multipart(store: ObjectStore, key_prefix: str) -> None:
    """Known length above the part size takes the multipart path with exact part sizes."""
    size = 11 * MB + 17
    key = f"{key_prefix}known.bin"
    source = GeneratedStream(size, seed=3)
    store.put(key, source, size)
    digest = hashlib.sha256(b"".join(store.iter_chunks(key))).hexdigest()
    assert digest == source.sha256
    assert store.stat(key).size == size


def test_put_file_stores_the_files_bytes(
    store: ObjectStore, key_prefix: str, tmp_path: Path
) -> None:
    """`put_file` (recorded segments, spooled uploads): the object is the file's bytes; the
    caller may remove its file afterwards; a file shorter than announced is refused."""
    data = bytes(range(256)) * 8192  # 2 MiB
    src = tmp_path / "segment.mp4"
    src.write_bytes(data)
    key = f"{key_prefix}cam-1/put-file.mp4"
    info = store.put_file(key, src, len(data), "video/mp4")
    src.unlink()
    assert info.size == len(data)
    assert info.etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert store.stat(key).content_type == "video/mp4"
    assert _read(store, key) == data
    short = tmp_path / "short.mp4"
    short.write_bytes(data[:1000])
    with pytest.raises(IncompleteUpload):
        store.put_file(f"{key_prefix}cam-1/short.mp4", short, len(data))
    assert not store.exists(f"{key_prefix}cam-1/short.mp4")
