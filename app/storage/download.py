"""Objects as local files, for the work that needs files (PyAV, hashing, zip)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.storage.base import ObjectStore


def download(store: ObjectStore, key: str, path: Path) -> Path:
    """Stream an object to a local file (parents created); returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for chunk in store.iter_chunks(key):
            out.write(chunk)
    return path


@contextmanager
def local_copy(store: ObjectStore, key: str, suffix: str = "") -> Iterator[Path]:
    """The object as a local file in a temp dir, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="wardcam-job-") as tmp:
        yield download(store, key, Path(tmp) / f"object{suffix}")
