"""Several recording supervisors on one node, one per process (`wardcam recorders --processes N`).

Why: one Python process runs a few threads per camera, and past about a hundred cameras they
spend more and more of their time waiting for one another on the GIL (the CPU per camera
rises while the node still has cores free). N processes each run their own `Supervisor` with
its own worker identity; the leases in the database already make exactly one of them record
each stream, so they need nothing from one another but a share of the capacity.

The parent only starts, watches and stops them:

- SIGTERM or SIGINT is passed on to every child (each stores its open segments and releases
  its leases, as a lone `wardcam recorders` does) and the parent exits 0 once all have,
  non-zero if one of them failed or had to be killed;
- a child that dies is started again at once (a new identity: its streams are claimed after
  their lease runs out, as any dead worker's), unless children keep dying
  (`RESTART_LIMIT` deaths within `RESTART_WINDOW_S`: a bad setting, not bad luck), when the
  parent stops the others and exits 1;
- a child whose parent is gone (SIGKILLed) notices within a second and stops cleanly
  (`parent_gone`), so no recorder is left running without its supervisor.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

#: The environment variable naming a child's parent (its pid).
PARENT_ENV = "WARDCAM_RECORDERS_PARENT"
#: ... and how many children share the cameras (each claims a fair share of new streams).
POOL_ENV = "WARDCAM_RECORDERS_POOL"
RESTART_LIMIT = 5
RESTART_WINDOW_S = 60.0
STOP_TIMEOUT_S = 90.0


def shares(capacity: int, processes: int) -> list[int]:
    """`capacity` streams split as evenly as can be between `processes` children."""
    if processes < 1 or capacity < processes:
        raise ValueError(f"{processes} processes need a capacity of at least {processes}")
    q, r = divmod(capacity, processes)
    return [q + (1 if i < r else 0) for i in range(processes)]


def pool_size() -> int:
    """In a child: how many supervisor processes its parent runs (1 when not a child)."""
    try:
        return max(1, int(os.environ.get(POOL_ENV, "1"))) if os.environ.get(PARENT_ENV) else 1
    except ValueError:
        return 1


def parent_gone() -> bool:
    """In a child: its parent is no longer the process that started it."""
    parent = os.environ.get(PARENT_ENV)
    return parent is not None and os.getppid() != int(parent)


class Pool:
    """The children of one `wardcam recorders --processes N` (see the module docstring)."""

    def __init__(
        self, capacities: list[int], say: Callable[[str], None], poll_s: float = 0.5
    ) -> None:
        self.capacities = capacities
        self.say = say
        self.poll_s = poll_s
        self.children: list[subprocess.Popen[bytes] | None] = [None] * len(capacities)
        self.stop = threading.Event()

    def _start(self, i: int) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "app", "recorders", "--capacity", str(self.capacities[i])]
        env = {**os.environ, PARENT_ENV: str(os.getpid()), POOL_ENV: str(len(self.capacities))}
        return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)

    def run(self) -> int:
        """Start the children and watch them until stopped; the exit status."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop.set())
        deaths: collections.deque[float] = collections.deque()
        for i in range(len(self.capacities)):
            self.children[i] = self._start(i)
        while not self.stop.wait(self.poll_s):
            for i, child in enumerate(self.children):
                assert child is not None
                rc = child.poll()
                if rc is None:
                    continue
                now = time.monotonic()
                deaths.append(now)
                while deaths and now - deaths[0] > RESTART_WINDOW_S:
                    deaths.popleft()
                if len(deaths) >= RESTART_LIMIT:
                    self.say(
                        f"error: recorder processes died {len(deaths)} times within "
                        f"{RESTART_WINDOW_S:.0f} s (the last, pid {child.pid}, with status "
                        f"{rc}); stopping the others"
                    )
                    self.children[i] = None
                    self._stop_all()
                    return 1
                self.say(f"recorder process {child.pid} exited with status {rc}; restarting it")
                self.children[i] = self._start(i)
        return self._stop_all()

    def _stop_all(self) -> int:
        alive = [c for c in self.children if c is not None]
        for c in alive:
            if c.poll() is None:
                c.send_signal(signal.SIGTERM)
        status = 0
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for c in alive:
            try:
                rc = c.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"error: recorder process {c.pid} did not stop; killing it")
                c.kill()
                rc = c.wait()
            if rc not in (0, -signal.SIGTERM, -signal.SIGINT):
                status = 1
        return status
