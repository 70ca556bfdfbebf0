"""Fixtures for the dashboard's browser tests: the built app served by ``finmesh.devserver``
in front of the test mesh, and one run of the Playwright flows (``flows.mjs``) per session.

The frontend server comes from the mesh when the stack runner serves one on
``mesh.cfg.ports.frontend`` with dev sign-in on; otherwise this fixture starts
``python -m finmesh.devserver`` itself as the runner would (same home, dev tokens on).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from finmesh.config import REPO_ROOT
from finmesh.stack.procs import free_port
from tests.plugins.mesh import Mesh

FRONTEND = REPO_ROOT / "frontend"
RESULTS_DIR = REPO_ROOT / "test-results" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
#: The browser's time zone in flows.mjs; "this month" and "today" are the browser's.
BROWSER_TZ = ZoneInfo("Europe/London")


def _newest_mtime(*roots: Path) -> float:
    newest = 0.0
    for root in roots:
        paths = [root] if root.is_file() else root.rglob("*")
        for p in paths:
            if p.is_file():
                newest = max(newest, p.stat().st_mtime)
    return newest


def ensure_built() -> None:
    """Builds frontend/dist when it is missing or older than its sources (make test builds it
    first, so this is normally a no-op)."""
    npm = shutil.which("npm")
    assert npm, "npm is not on PATH: the dashboard tests need Node 20+"
    if not (FRONTEND / "node_modules" / ".bin" / "vite").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
    index = FRONTEND / "dist" / "index.html"
    sources = _newest_mtime(
        FRONTEND / "src",
        FRONTEND / "index.html",
        FRONTEND / "vite.config.ts",
        FRONTEND / "package-lock.json",
        REPO_ROOT / "gen" / "ts",
    )
    if not index.exists() or index.stat().st_mtime < sources:
        subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True, capture_output=True)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def frontend_url(mesh: Mesh) -> Iterator[str]:
    ensure_built()
    url = f"http://127.0.0.1:{mesh.cfg.ports.frontend}"
    if _healthy(url) and httpx.get(f"{url}/config.json").json().get("devTokens"):
        yield url  # the stack runner serves it, with dev sign-in on
        return
    # Our own, on a free port: the app calls the API through it (same origin), so any port
    # works with Envoy's CORS policy.
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FINMESH_HOME": str(mesh.home),
        "FRONTEND_PORT": str(port),
        "ENVOY_PORT": str(mesh.cfg.ports.envoy),
        "FINMESH_DEV_TOKENS": "1",
    }
    log = (mesh.cfg.logs_dir / "devserver.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "finmesh.devserver"], env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 20
        while not _healthy(url):
            assert proc.poll() is None, "finmesh.devserver exited; see devserver.log"
            assert time.monotonic() < deadline, "finmesh.devserver did not become healthy"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@dataclass
class FlowRun:
    user: str
    out_dir: Path
    results: dict[str, Any]
    statement: bytes
    output: str

    def flow(self, name: str) -> dict[str, Any]:
        r: dict[str, Any] = self.results["flows"].get(name) or {"ok": False, "error": "not run"}
        return r


def statement_csv(today: date) -> bytes:
    """A UK bank CSV (DD/MM/YYYY, Money Out / Money In) dated this month, with one bad line."""
    d = today.replace(day=1)
    day = f"{d:%d/%m/%Y}"
    return (
        "Date,Description,Money Out,Money In,Balance\n"
        f"{day},CARD PAYMENT TO TESCO STORES 3297,23.45,,976.55\n"
        f"{day},NETFLIX.COM,10.99,,965.56\n"
        f"{day},DD THAMES WATER,31.20,,934.36\n"
        f"{day},BROKEN LINE,N/A,,934.36\n"
    ).encode()


@pytest.fixture(scope="session")
def flows(mesh: Mesh, frontend_url: str, tmp_path_factory: pytest.TempPathFactory) -> FlowRun:
    node = shutil.which("node")
    assert node, "node is not on PATH: the dashboard tests need Node 20+"
    assert CHROMIUM.exists(), "Chromium is missing: apt-get install -y chromium"
    work = tmp_path_factory.mktemp("e2e")
    user = f"e2e-{uuid.uuid4().hex[:10]}"
    today = datetime.now(BROWSER_TZ).date()
    statement = statement_csv(today)
    statement_path = work / "statement.csv"
    statement_path.write_bytes(statement)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for old in [*RESULTS_DIR.glob("*.png"), RESULTS_DIR / "results.json"]:
        old.unlink(missing_ok=True)
    cfg = {
        "baseUrl": frontend_url,
        "outDir": str(RESULTS_DIR),
        "user": user,
        "statementPath": str(statement_path),
        "expiredToken": mesh.token(user, ttl_seconds=-60),
        "quickAddText": f"Latte at Starbucks £3.50 {'today' if today.day == 1 else 'yesterday'}",
        # A merchant nobody has heard of, in dollars: a suggestion, outside every GBP total.
        "suggestionText": "$12 Zorblax Qwint",
        "chromium": str(CHROMIUM),
        # £3.50 + £5.00 typed in, £23.45 + £10.99 + £31.20 imported, all this month.
        "expectedTotal": "£74.14",
    }
    cfg_path = work / "config.json"
    cfg_path.write_text(json.dumps(cfg))
    proc = subprocess.run(
        [node, str(Path(__file__).with_name("flows.mjs")), str(cfg_path)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    results_path = RESULTS_DIR / "results.json"
    assert results_path.exists(), f"flows.mjs wrote no results:\n{proc.stdout}\n{proc.stderr}"
    results = json.loads(results_path.read_text())
    return FlowRun(user, RESULTS_DIR, results, statement, proc.stdout + proc.stderr)
