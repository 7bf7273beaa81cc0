"""Files a process writes while it works carry its process id in their name (upload spool
files, jobs' local copies of footage): what a process killed mid-way left behind is then told
from what a live one is still using, and removed when the next process starts."""

from __future__ import annotations

import os


def process_gone(pid: int) -> bool:
    """Whether no process of this id runs here (another user's process counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
