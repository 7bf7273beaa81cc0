"""Local copies of stored footage: named for the process that made them, removed after the
job, and removed at the next start when the process that made them was killed."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from app.leftovers import host_id
from app.storage.download import local_copy, remove_orphaned_copies
from app.storage.local import LocalStore

ROOT = Path(__file__).resolve().parents[3]


def _store(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "objects")
    store.put("cam/1/seg.mp4", io.BytesIO(b"footage" * 100), 700)
    return store


def test_a_copy_is_named_for_its_process_and_removed_after_the_job(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with local_copy(store, "cam/1/seg.mp4", ".mp4", tmp_dir=tmp_path) as path:
        assert path.read_bytes() == b"footage" * 100
        assert path.parent.name.startswith(f"wardcam-job-{host_id()}.{os.getpid()}-")
        # a worker starting beside this one leaves a live process's copy alone
        assert remove_orphaned_copies(tmp_path) == 0
        assert path.exists()
    assert not path.parent.exists()


def test_the_copy_of_a_killed_process_is_removed_and_nothing_else(tmp_path: Path) -> None:
    store = _store(tmp_path)
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from app.storage.download import local_copy
        from app.storage.local import LocalStore
        with local_copy(LocalStore({str(tmp_path / "objects")!r}), "cam/1/seg.mp4", ".mp4",
                        tmp_dir=Path({str(tmp_path)!r})) as path:
            print(path, flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    copy = Path(proc.stdout.readline().strip())
    assert copy.read_bytes() == b"footage" * 100
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert copy.exists()  # a killed process removes nothing
    # another host's copy (a temp folder shared by containers), whose process id does not run
    # here, is that host's to judge; nor are folders of other names touched
    other_host = copy.parent.name.replace(host_id(), "0" * 8 if host_id() != "0" * 8 else "1" * 8)
    others = [tmp_path / other_host, tmp_path / "wardcam-job-abc123", tmp_path / "unrelated-12-3"]
    for folder in others:
        folder.mkdir()
    with local_copy(store, "cam/1/seg.mp4", tmp_dir=tmp_path) as mine:
        assert remove_orphaned_copies(tmp_path) == 1
        assert mine.exists()
    assert not copy.parent.exists()
    assert all(folder.is_dir() for folder in others)
    assert (tmp_path / "objects").is_dir()
