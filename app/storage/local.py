"""`LocalStore`: the embedded default, objects as files under one directory.

Layout under the root directory::

    <key>                              the object's bytes, exactly as uploaded
    .wardcam/tmp/<random>.part         uploads in flight (same file system => atomic rename)
    .wardcam/meta/<h2>/<h>.json        content type, etag, size and mtime of the object
    .wardcam/holds/<h2>/<h>            legal hold marker (exists = held)
    .wardcam/retention/<h2>/<h>        retain-until time, ISO 8601

`<h>` is the SHA-256 of the key, so sidecars live in a flat, fanned-out tree that cannot
collide with object paths whatever the keys look like.

Object lock here is an emulation: this class refuses to delete or replace an object that is
held or retained, which protects evidence against wardcam's own code paths and API. It is
not WORM storage: anyone with write access to the directory can still remove files. Use an
S3 bucket with object lock (COMPLIANCE mode) where that matters.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import secrets
import stat as stat_mod
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from app.storage.base import (
    ObjectInfo,
    ObjectStore,
    Readable,
    check_content_type,
    check_range,
    check_retention,
)
from app.storage.errors import (
    IncompleteUpload,
    ObjectLocked,
    ObjectNotFound,
    StorageError,
    StoreUnavailable,
)
from app.storage.keys import RESERVED_TOP, validate_key, validate_prefix
from app.storage.streams import FillingReader, RangeReader, buffered

_COPY_CHUNK = 1 << 20
_STALE_TEMP_SECONDS = 24 * 3600
_FILE_MODE = 0o640


class LocalStore(ObjectStore):
    """Objects as files under `root`; see the module docstring for layout and lock caveats."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()
        self._internal = self.root / RESERVED_TOP
        self._tmp = self._internal / "tmp"
        try:
            for sub in ("tmp", "meta", "holds", "retention"):
                (self._internal / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create object store directory {self.root}") from exc
        self._sweep_stale_temp()

    def __repr__(self) -> str:
        return f"LocalStore(root={str(self.root)!r})"

    # -- interface -------------------------------------------------------------------------

    @property
    def supports_object_lock(self) -> bool:
        """True in the emulated sense described in the module docstring."""
        return True

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
        validate_key(key)
        check_retention(retain_until)
        check_content_type(content_type)
        dest = self._path(key)
        if dest.is_file():
            self._refuse_if_locked(key)
        reader = FillingReader(stream, length)
        return self._put(
            key,
            lambda tmp: self._write_temp(tmp, reader),
            lambda: reader.source_failed,
            content_type,
            retain_until,
            legal_hold,
        )

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
        """The file itself becomes the object (a hard link, no copy of its bytes) where it is
        on the store's file system; elsewhere its bytes are copied as by `put`.

        Why: a recording worker stores a ~4 MB segment per camera every few seconds; copying
        each one again (and through Python, a megabyte at a time) was a good part of its CPU
        and of its time holding the GIL (issue 13)."""
        validate_key(key)
        check_retention(retain_until)
        check_content_type(content_type)
        if self._path(key).is_file():
            self._refuse_if_locked(key)
        src_failed = False

        def fill(tmp: Path) -> tuple[str, int, int]:
            nonlocal src_failed
            try:
                os.link(path, tmp)
            except FileNotFoundError:
                src_failed = True
                raise
            except OSError:  # another file system, or no hard links there: copy
                try:
                    fh = path.open("rb")
                except OSError:
                    src_failed = True
                    raise
                with fh:
                    reader = FillingReader(fh, length)
                    try:
                        return self._write_temp(tmp, reader)
                    finally:
                        src_failed = reader.source_failed
            return self._adopt(tmp, length)

        return self._put(key, fill, lambda: src_failed, content_type, retain_until, legal_hold)

    def _put(
        self,
        key: str,
        fill: Callable[[Path], tuple[str, int, int]],
        source_failed: Callable[[], bool],
        content_type: str,
        retain_until: datetime | None,
        legal_hold: bool,
    ) -> ObjectInfo:
        """Fill a temp file (`fill` -> md5 etag, size, mtime_ns), then make it the object."""
        dest = self._path(key)
        tmp = self._tmp / f"{secrets.token_hex(16)}.part"
        created: builtins.list[Path] = []
        try:
            etag, size, mtime_ns = fill(tmp)
            # Protection markers go in before the object is visible, so there is no
            # moment where a held object exists unprotected. Markers already there belong
            # to no live protection (a locked object was refused above): drop them.
            if not legal_hold:
                self._sidecar("holds", key).unlink(missing_ok=True)
            if retain_until is None:
                self._sidecar("retention", key).unlink(missing_ok=True)
            if legal_hold:
                created += self._write_sidecar("holds", key, b"")
            if retain_until is not None:
                created += self._write_sidecar(
                    "retention", key, retain_until.astimezone(UTC).isoformat().encode()
                )
            meta = {
                "key": key,
                "content_type": content_type,
                "etag": etag,
                "size": size,
                "mtime_ns": mtime_ns,
            }
            self._write_sidecar("meta", key, json.dumps(meta).encode())
            self._place(tmp, dest)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            for path in created:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
            if isinstance(exc, OSError) and not source_failed():
                # Disk full, permissions, a vanished directory: the store, not the caller.
                raise StoreUnavailable(f"cannot write object {key!r}: {exc.strerror}") from exc
            raise
        last_modified = datetime.fromtimestamp(mtime_ns / 1e9, UTC)
        return ObjectInfo(key, size, etag, last_modified, content_type)

    def open(self, key: str, offset: int = 0, length: int | None = None) -> BinaryIO:
        validate_key(key)
        check_range(offset, length)
        path = self._path(key)
        try:
            raw = path.open("rb", buffering=0)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StoreUnavailable(f"cannot read object {key!r}") from exc
        try:
            if not stat_mod.S_ISREG(os.fstat(raw.fileno()).st_mode):
                raise ObjectNotFound(key)
            raw.seek(offset)
            size = length if length is not None else max(0, os.fstat(raw.fileno()).st_size)
            return buffered(RangeReader(raw, size))
        except BaseException:
            raw.close()
            raise

    def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        path = self._path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StoreUnavailable(f"cannot stat object {key!r}") from exc
        if not stat_mod.S_ISREG(st.st_mode):
            raise ObjectNotFound(key)
        meta = self._read_meta(key)
        if meta and meta.get("size") == st.st_size and meta.get("mtime_ns") == st.st_mtime_ns:
            etag = str(meta["etag"])
            content_type = str(meta["content_type"])
        else:  # placed by hand, or meta lost in a crash: still a valid object
            etag = f"{st.st_size:x}-{st.st_mtime_ns:x}"
            content_type = "application/octet-stream"
        last_modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC)
        return ObjectInfo(key, st.st_size, etag, last_modified, content_type)

    def delete(self, key: str) -> None:
        validate_key(key)
        path = self._path(key)
        if not path.is_file():
            return
        self._refuse_if_locked(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreUnavailable(f"cannot delete object {key!r}") from exc
        for kind in ("meta", "retention", "holds"):
            self._sidecar(kind, key).unlink(missing_ok=True)
        self._prune_dirs(path.parent)

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        head, _, _ = prefix.rpartition("/")
        start = self.root / head if head else self.root
        base = f"{head}/" if head else ""
        for key in self._walk(start, base):
            if key.startswith(prefix):
                yield key

    def set_legal_hold(self, key: str, on: bool) -> None:
        validate_key(key)
        if not self._path(key).is_file():
            raise ObjectNotFound(key)
        if on:
            self._write_sidecar("holds", key, b"")
        else:
            self._sidecar("holds", key).unlink(missing_ok=True)

    def set_retention(self, key: str, retain_until: datetime, mode: str | None = None) -> None:
        validate_key(key)
        check_retention(retain_until)
        if not self._path(key).is_file():
            raise ObjectNotFound(key)
        current = self._retained_until(key)
        if current is not None and current >= retain_until:
            return
        self._write_sidecar("retention", key, retain_until.astimezone(UTC).isoformat().encode())

    def is_legal_hold(self, key: str) -> bool:
        validate_key(key)
        if not self._path(key).is_file():
            raise ObjectNotFound(key)
        return self._sidecar("holds", key).exists()

    def ping(self) -> None:
        for path in (self.root, self._tmp):
            if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
                raise StoreUnavailable(f"object store directory not writable: {path}")

    # -- internals -------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def _sidecar(self, kind: str, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self._internal / kind / digest[:2] / digest

    def _refuse_if_locked(self, key: str) -> None:
        if self._sidecar("holds", key).exists():
            raise ObjectLocked(key, "legal hold")
        until = self._retained_until(key)
        if until is not None and until > datetime.now(UTC):
            raise ObjectLocked(key, f"retained until {until.isoformat()}")

    def _retained_until(self, key: str) -> datetime | None:
        try:
            text = self._sidecar("retention", key).read_text()
        except FileNotFoundError:
            return None
        try:
            return datetime.fromisoformat(text.strip())
        except ValueError:
            # An unreadable marker must not unlock anything: treat it as retained forever.
            return datetime.max.replace(tzinfo=UTC)

    def _read_meta(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._sidecar("meta", key).read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("key") == key else None

    def _adopt(self, tmp: Path, length: int) -> tuple[str, int, int]:
        """A file linked in as `tmp`: check its length, make it the store's (mode, fsync);
        return (md5 etag, size, mtime_ns)."""
        os.chmod(tmp, _FILE_MODE)
        with tmp.open("rb") as f:
            st = os.fstat(f.fileno())
            if st.st_size != length:
                raise IncompleteUpload(f"file holds {st.st_size} bytes, {length} were announced")
            md5 = hashlib.file_digest(f, lambda: hashlib.md5(usedforsecurity=False))
            os.fsync(f.fileno())
        return md5.hexdigest(), st.st_size, st.st_mtime_ns

    def _write_temp(self, tmp: Path, reader: FillingReader) -> tuple[str, int, int]:
        """Stream into `tmp` and fsync it; return (md5 etag, size, mtime_ns)."""
        md5 = hashlib.md5(usedforsecurity=False)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
        with open(fd, "wb", buffering=0) as out:
            while chunk := reader.read(_COPY_CHUNK):
                md5.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            st = os.fstat(out.fileno())
        return md5.hexdigest(), st.st_size, st.st_mtime_ns

    def _place(self, tmp: Path, dest: Path) -> None:
        """Rename the finished temp file over `dest` and make the rename durable."""
        for attempt in range(3):
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, dest)
                break
            except FileNotFoundError:
                # A concurrent delete pruned the freshly made parent directory: retry.
                if attempt == 2:
                    raise
            except (NotADirectoryError, FileExistsError, IsADirectoryError) as exc:
                raise StorageError(
                    f"key conflicts with an existing object or prefix: {dest}"
                ) from exc
        _fsync_dir(dest.parent)

    def _write_sidecar(self, kind: str, key: str, data: bytes) -> builtins.list[Path]:
        """Atomically write a sidecar; return [path] if it did not exist before."""
        path = self._sidecar(kind, key)
        existed = path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp / f"{secrets.token_hex(16)}.side"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
            with open(fd, "wb", buffering=0) as out:
                out.write(data)
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        return [] if existed else [path]

    def _prune_dirs(self, directory: Path) -> None:
        """Remove now-empty parent directories of a deleted object, up to the root."""
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def _walk(self, directory: Path, base: str) -> Iterator[str]:
        """Keys under `directory` in lexicographic order, without building the full list.

        A directory `d` holds keys `d/...`; sorting it as `d/` among the file names puts
        its keys exactly where a lexicographic sort of full keys would.
        """
        try:
            with os.scandir(directory) as it:
                entries = [
                    (entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name, entry)
                    for entry in it
                ]
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise StoreUnavailable(f"cannot list {directory}") from exc
        for sort_name, entry in sorted(entries, key=lambda item: item[0]):
            if not base and entry.name == RESERVED_TOP:
                continue
            if sort_name.endswith("/"):
                yield from self._walk(Path(entry.path), f"{base}{entry.name}/")
            elif entry.is_file(follow_symlinks=False):
                yield f"{base}{entry.name}"

    def _sweep_stale_temp(self) -> None:
        """Remove temp files left by a crash long ago (recent ones may be live uploads)."""
        cutoff = time.time() - _STALE_TEMP_SECONDS
        with contextlib.suppress(OSError), os.scandir(self._tmp) as it:
            for entry in it:
                with contextlib.suppress(OSError):
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
