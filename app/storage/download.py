"""Objects as local files, for the work that needs files (PyAV, hashing, zip).

A local copy is footage, personal data that must not outlive the job that needed it. Its
folder is removed when the job ends; a worker killed mid-job (`kill -9`, out of memory, power
cut), or one that exits while a job's thread is still at work, never gets there. So each
folder names the process that made it (host and process id, :func:`app.leftovers.mark`), and a
worker starting up removes the folders of this host's processes that are gone
(:func:`remove_orphaned_copies`).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.leftovers import left_behind, mark
from app.storage.base import ObjectStore

log = logging.getLogger(__name__)

PREFIX = "wardcam-job-"


def download(store: ObjectStore, key: str, path: Path) -> Path:
    """Stream an object to a local file (parents created); returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for chunk in store.iter_chunks(key):
            out.write(chunk)
    return path


@contextmanager
def local_copy(
    store: ObjectStore, key: str, suffix: str = "", tmp_dir: Path | None = None
) -> Iterator[Path]:
    """The object as a local file in a temp folder named for this process, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{mark()}-", dir=tmp_dir) as tmp:
        yield download(store, key, Path(tmp) / f"object{suffix}")


def remove_orphaned_copies(tmp_dir: Path | None = None) -> int:
    """Remove the local copies left by processes that no longer run; returns how many.

    Only folders named by :func:`local_copy` (``wardcam-job-<host>.<pid>-…``) are touched, and
    only when the host is this one and no process of that id runs here (a reused id keeps the
    folder until a later start; another host's folders in a shared temp folder are its own).
    """
    root = Path(tmp_dir) if tmp_dir is not None else Path(tempfile.gettempdir())
    removed = 0
    for folder in root.glob(f"{PREFIX}*-*"):
        owner = folder.name[len(PREFIX) :].split("-", 1)[0]
        if not folder.is_dir() or folder.is_symlink() or not left_behind(owner):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed += 1
    if removed:
        log.info("removed %d local footage copies left by stopped workers", removed)
    return removed
