"""The local stack's process helpers: a stopped child is always reaped, even when it had
already exited (a zombie is "not alive", so waiting for it to die never reaps it)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from finmesh.stack import procs


def _spawn(tmp_path: Path, name: str, code: str) -> subprocess.Popen[bytes]:
    return procs.spawn(
        name, [sys.executable, "-c", code], run_dir=tmp_path / "run", logs_dir=tmp_path / "logs"
    )


def test_a_child_that_already_exited_is_reaped_by_stop(tmp_path: Path) -> None:
    proc = _spawn(tmp_path, "quick", "pass")
    deadline = time.monotonic() + 30
    while procs.is_alive(proc.pid):
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.02)
    assert proc.returncode is None  # a zombie nobody has waited for
    assert procs.stop(tmp_path / "run", "quick") is False  # nothing was running
    assert proc.returncode == 0
    assert proc.pid not in procs._CHILDREN


def test_a_running_child_is_stopped_and_reaped(tmp_path: Path) -> None:
    proc = _spawn(tmp_path, "slow", "import time; time.sleep(60)")
    assert procs.stop(tmp_path / "run", "slow", timeout_seconds=10) is True
    assert proc.returncode is not None
    assert proc.pid not in procs._CHILDREN
    assert not procs.pid_file(tmp_path / "run", "slow").exists()
