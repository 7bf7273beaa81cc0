"""LocalStore specifics: temp files and sidecars."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from app.storage import (
    InvalidStoreURL,
    LocalStore,
    StorageError,
    StoreUnavailable,
    make_store,
)

from ._streams import GeneratedStream

MB = 1024 * 1024


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "objects")


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_layout_is_plain_files(local: LocalStore) -> None:
    local.put("cam/1/seg.mp4", io.BytesIO(b"bytes"), content_type="video/mp4")
    assert (local.root / "cam" / "1" / "seg.mp4").read_bytes() == b"bytes"
    assert list(local.list()) == ["cam/1/seg.mp4"]  # sidecars are not listed


def test_failed_put_leaves_no_temp_file(local: LocalStore) -> None:
    with pytest.raises(RuntimeError):
        local.put("k/broken", GeneratedStream(8 * MB, fail_after=3 * MB))
    assert _files(local.root) == []
    assert not (local.root / "k").exists()


def test_failed_put_with_hold_leaves_no_marker(local: LocalStore) -> None:
    with pytest.raises(RuntimeError):
        local.put("k/broken", GeneratedStream(2 * MB, fail_after=MB), legal_hold=True)
    assert _files(local.root) == []


def test_delete_prunes_empty_directories(local: LocalStore) -> None:
    local.put("a/b/c/d", io.BytesIO(b"x"))
    local.put("a/keep", io.BytesIO(b"x"))
    local.delete("a/b/c/d")
    assert not (local.root / "a" / "b").exists()
    assert (local.root / "a" / "keep").exists()
    assert [f for f in _files(local.root) if not f.startswith(".wardcam/")] == ["a/keep"]


def test_list_is_lexicographic(local: LocalStore) -> None:
    keys = ["p/a/1", "p/a/2", "p/a-c", "p/ab", "p/b/x/y", "q", "P"]
    for k in keys:
        local.put(k, io.BytesIO(b"x"))
    assert list(local.list()) == sorted(keys)
    assert list(local.list("p/a")) == ["p/a-c", "p/a/1", "p/a/2", "p/ab"]


def test_stat_of_file_placed_by_hand(local: LocalStore) -> None:
    (local.root / "manual").write_bytes(b"12345")
    info = local.stat("manual")
    assert info.size == 5
    assert info.content_type == "application/octet-stream"
    assert info.etag


def test_key_that_conflicts_with_a_prefix(local: LocalStore) -> None:
    local.put("a", io.BytesIO(b"x"))
    with pytest.raises(StorageError):
        local.put("a/b", io.BytesIO(b"y"))
    assert _files(local.root).count("a") == 1
    assert not any(name.startswith(".wardcam/tmp/") for name in _files(local.root))


def test_stale_temp_files_are_swept(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "o")
    old = store.root / ".wardcam" / "tmp" / "old.part"
    new = store.root / ".wardcam" / "tmp" / "new.part"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    past = time.time() - 3 * 24 * 3600
    os.utime(old, (past, past))
    LocalStore(tmp_path / "o")
    assert not old.exists()
    assert new.exists()  # may belong to a live upload in another process


def test_disk_error_is_store_unavailable(local: LocalStore) -> None:
    tmp_dir = local.root / ".wardcam" / "tmp"
    tmp_dir.rmdir()
    with pytest.raises(StoreUnavailable):
        local.put("k", io.BytesIO(b"x"))
    tmp_dir.mkdir()


def test_ping(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "o")
    store.ping()
    os.rename(tmp_path / "o", tmp_path / "gone")
    with pytest.raises(StoreUnavailable):
        store.ping()


def test_make_store_file_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = make_store(f"file://{tmp_path}/abs")
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path / "abs"
    monkeypatch.chdir(tmp_path)
    rel = make_store("file://./data/objects")
    assert isinstance(rel, LocalStore)
    assert rel.root == tmp_path / "data" / "objects"
    with pytest.raises(InvalidStoreURL):
        make_store("ftp://example/x")


def test_put_file_takes_the_file_itself(local: LocalStore, tmp_path: Path) -> None:
    """On the store's file system the file becomes the object (a hard link: its bytes are not
    copied again), with the store's file mode; removing the caller's name keeps the object."""
    src = tmp_path / "seg.mp4"
    src.write_bytes(b"recorded segment bytes")
    local.put_file("cam/1/seg.mp4", src, 22, "video/mp4")
    placed = local.root / "cam" / "1" / "seg.mp4"
    assert os.path.samefile(src, placed)
    assert placed.stat().st_mode & 0o777 == 0o640
    src.unlink()
    assert placed.read_bytes() == b"recorded segment bytes"
    assert local.stat("cam/1/seg.mp4").size == 22
    assert _files(local.root / ".wardcam" / "tmp") == []


def test_put_file_of_a_missing_file_is_not_the_stores_failure(
    local: LocalStore, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        local.put_file("cam/1/gone.mp4", tmp_path / "gone.mp4", 10)
    assert not local.exists("cam/1/gone.mp4")
