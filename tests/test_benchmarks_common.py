"""The long benchmarks clean up when they are stopped, not only when they finish; the indexing
benchmarks leave no settings folder behind.

`benchmarks/live.py` records about 9 GB in a 10-minute run and starts a worker, an RTSP
server and a database; stopped with `kill` (or Ctrl-C on a run started in the background,
which inherits SIGINT ignored) it used to leave all of them behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from benchmarks._common import stop_on_signals

    work = Path(sys.argv[1])
    stop_on_signals()
    work.mkdir()
    (work / "footage.mp4").write_bytes(b"x" * 1024)
    try:
        print("ready", flush=True)
        time.sleep(60)
        print("finished", flush=True)
    finally:
        for f in work.iterdir():
            f.unlink()
        work.rmdir()
        print("cleaned up", flush=True)
    """
)


def _ignore_sigint() -> None:
    """What a shell does to a job it starts in the background."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("sig", "background"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["kill", "ctrl-c-on-a-background-run"],
)
def test_a_stopped_benchmark_runs_its_cleanup(
    tmp_path: Path, sig: signal.Signals, background: bool
) -> None:
    work = tmp_path / "work"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(work)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint if background else None,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    assert work.is_dir()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert "cleaned up" in out
    assert "finished" not in out
    assert not work.exists()
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in err


@pytest.mark.parametrize("script", ["indexing", "fragmentation"])
def test_the_indexing_benchmarks_leave_no_settings_folder_behind(
    tmp_path: Path, script: str
) -> None:
    """ultralytics' settings folder of a run is the run's own, and removed when it ends."""
    env = {k: v for k, v in os.environ.items() if k != "YOLO_CONFIG_DIR"}
    env["TMPDIR"] = str(tmp_path)
    probe = (
        f"import os, runpy, sys; sys.argv = ['{script}.py', '--help']\n"
        f"try:\n    runpy.run_path('benchmarks/{script}.py', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(os.environ['YOLO_CONFIG_DIR'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=True,
    ).stdout.strip().splitlines()[-1]
    assert Path(out).parent == tmp_path and Path(out).name.startswith("wardcam-yolo-")
    assert list(tmp_path.iterdir()) == []  # removed at exit
    # with a folder given, none is made
    env["YOLO_CONFIG_DIR"] = str(tmp_path / "given")
    subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=True,
    )
    assert list(tmp_path.iterdir()) == []
