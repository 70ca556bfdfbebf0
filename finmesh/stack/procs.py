"""Detached background processes with pid files: how the local stack starts and stops things.

Each process runs in its own session (process group), so it outlives the short-lived `make up`
shell and can be stopped as a group (Java and PostgreSQL start children). Its output goes to
``<logs>/<name>.log``; its pid to ``<run>/<name>.pid``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Popen handles of the processes this process started, so that ``stop`` reaps them (and they
#: are not garbage-collected while running, which Python reports as a ResourceWarning).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that were free a moment ago (bound together, then
    released), for servers started by tests and benchmarks."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


def free_port() -> int:
    """One port that was free a moment ago."""
    return free_ports(1)[0]


def pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.pid"


def is_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def read_pid(run_dir: Path, name: str) -> int | None:
    """The pid of a running process started under ``name``, or None."""
    path = pid_file(run_dir, name)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if is_alive(pid) else None


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    run_dir: Path,
    logs_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` detached, logging to ``<logs_dir>/<name>.log``, pid in ``<run_dir>``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    logs_dir.mkdir(parents=True, exist_ok=True)
    with open(logs_dir / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    pid_file(run_dir, name).write_text(f"{proc.pid}\n")
    _CHILDREN[proc.pid] = proc
    return proc


def stop(
    run_dir: Path, name: str, *, timeout_seconds: float = 15.0, sig: int = signal.SIGTERM
) -> bool:
    """Stop the process group started under ``name``: ``sig``, then SIGKILL after the timeout.
    Returns True when something was running."""
    pid = read_pid(run_dir, name)
    if pid is None:
        pid_file(run_dir, name).unlink(missing_ok=True)
        _reap_exited()
        return False
    kill_group(pid, sig)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline and is_alive(pid):
        _reap(pid)
        time.sleep(0.05)
    if is_alive(pid):
        kill_group(pid, signal.SIGKILL)
        while is_alive(pid):
            _reap(pid)
            time.sleep(0.05)
    pid_file(run_dir, name).unlink(missing_ok=True)
    _reap_exited()
    return True


def kill_group(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid`` (falls back to the process alone)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _reap_exited() -> None:
    """Collect every child of ours that has exited: one that was already a zombie when
    :func:`stop` looked is "not alive", so its wait loops never reaped it."""
    for pid, proc in list(_CHILDREN.items()):
        if proc.poll() is not None:
            del _CHILDREN[pid]


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our child (tests start processes in-process)."""
    proc = _CHILDREN.get(pid)
    if proc is not None:
        if proc.poll() is not None:
            del _CHILDREN[pid]
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
