"""Files a process writes while it works carry a mark of the process in their name (upload
spool files, jobs' local copies of footage): what a process killed mid-way left behind is then
told from what a live one is still using, and removed when the next process starts.

The mark is ``<host>.<pid>``: a process id means something only on the machine (or in the
container: its own process ids) that gave it. Where a folder is shared — a data volume mounted
by several API replicas, a temp folder shared by containers — a process of another host whose
id happens not to run here is not gone, and its file is not this process's to remove. ``host``
is a short hash of the host name (a container's is its own).
"""

from __future__ import annotations

import hashlib
import os
import socket


def host_id() -> str:
    """Eight hex digits naming this host (or container)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def mark() -> str:
    """This process's mark for the names of the files it works on: ``<host>.<pid>``."""
    return f"{host_id()}.{os.getpid()}"


def process_gone(pid: int) -> bool:
    """Whether no process of this id runs here (another user's process counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def left_behind(name_mark: str) -> bool:
    """Whether the process a file name's mark names is gone, so that its file may be removed.

    Only marks of this host are judged (and never this process's own); another host's, or
    anything that is not a mark, is left alone. A bare process id (names written before
    the mark had a host) is judged as this host's.
    """
    host, _, pid = name_mark.rpartition(".")
    if not pid.isdigit() or (host and host != host_id()):
        return False
    return int(pid) != os.getpid() and process_gone(int(pid))
