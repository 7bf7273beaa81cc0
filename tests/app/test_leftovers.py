"""The marks in the names of working files: a file is removed as left behind only when the
process that wrote it ran on this host and is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.footage.endpoints import clean_spool
from app.leftovers import host_id, left_behind, mark


def _gone_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _other_host() -> str:
    return "0" * 8 if host_id() != "0" * 8 else "1" * 8


def test_a_mark_names_this_host_and_process() -> None:
    host, pid = mark().split(".")
    assert host == host_id() and len(host) == 8 and int(host, 16) >= 0
    assert pid == str(os.getpid())
    assert "-" not in mark()  # the names around it are cut at '-'


def test_only_this_hosts_gone_processes_left_files_behind() -> None:
    gone = _gone_pid()
    assert left_behind(f"{host_id()}.{gone}")
    assert left_behind(str(gone))  # a name from before marks had a host
    assert not left_behind(f"{_other_host()}.{gone}")  # its host judges it
    assert not left_behind(mark())  # this process
    assert not left_behind(f"{host_id()}.{os.getppid()}")  # a running one
    for junk in ("", "abc", f"{host_id()}.", f"{host_id()}.x1", "-1"):
        assert not left_behind(junk)


def test_the_spool_keeps_uploads_of_live_processes_and_other_hosts(tmp_path: Path) -> None:
    gone = _gone_pid()
    names = {
        "dead_here": f"upload-{host_id()}.{gone}-3-abc",
        "dead_legacy": f"upload-{gone}-3-abd",
        "other_host": f"upload-{_other_host()}.{gone}-3-abe",
        "mine": f"upload-{mark()}-3-abf",
        "unrelated": "notes.txt",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    assert clean_spool(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [names["other_host"], names["mine"], names["unrelated"]]
    )
