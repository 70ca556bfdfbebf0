"""The `finmesh` CLI as an operator runs it: token, tail, status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from finance.events.v1 import events_pb2
from finmesh import auth
from finmesh.config import AuthConfig
from finmesh.kafka import EventProducer
from tests.plugins.mesh import Mesh


def _finmesh(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "finmesh", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout,
        check=False,
    )


def test_token_is_accepted_and_negative_ttl_gives_an_expired_token(tmp_path: Path) -> None:
    env = {"FINMESH_HOME": str(tmp_path)}
    good = _finmesh("token", "--user", "cli-user", env=env)
    assert good.returncode == 0, good.stderr
    verifier = auth.TokenVerifier(AuthConfig(jwks_path=tmp_path / "keys" / auth.JWKS_FILE))
    assert verifier.verify(good.stdout.strip()).user_id == "cli-user"
    expired = _finmesh("token", "--user", "cli-user", "--ttl", "-60", env=env)
    assert expired.returncode == 0, expired.stderr
    try:
        verifier.verify(expired.stdout.strip())
    except auth.AuthError as exc:
        assert "expired" in str(exc)
    else:
        raise AssertionError("a negative --ttl must give an expired token")


def test_tail_prints_events_as_json_lines(kafka_broker: Any) -> None:
    event = events_pb2.CategoryCorrected(user_id="tail-user", expense_id="e-1")
    producer = EventProducer(kafka_broker.bootstrap_servers, client_id="cli-test")
    try:
        event_id = producer.produce("expenses.feedback", "tail-user", event)
        assert producer.flush(30) == 0
    finally:
        producer.close()
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers}
    proc = subprocess.Popen(
        [sys.executable, "-m", "finmesh", "tail", "expenses.feedback", "--from-beginning"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    watchdog = threading.Timer(30, proc.kill)  # a tail that never prints must not hang the suite
    watchdog.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            record = json.loads(line)
            if record.get("event_id") == event_id or event_id in line:
                assert "tail-user" in line
                break
        else:
            raise AssertionError("tail ended without printing the event")
    finally:
        watchdog.cancel()
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_status_reports_every_component_healthy(mesh: Mesh) -> None:
    cfg = mesh.cfg
    p = cfg.ports
    env = {
        "FINMESH_HOME": str(cfg.home),
        "DATABASE_URL": cfg.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": cfg.kafka_bootstrap_servers,
        "EXPENSE_SVC_PORT": str(p.expense),
        "ML_SVC_PORT": str(p.ml),
        "INSIGHT_SVC_PORT": str(p.insight),
        "ENVOY_PORT": str(p.envoy),
        "ENVOY_ADMIN_PORT": str(p.envoy_admin),
        "GATEWAY_PORT": str(p.gateway),
        "FRONTEND_PORT": str(p.frontend),
        "EXPENSE_RELAY_METRICS_PORT": str(p.relay_metrics),
    }
    done = _finmesh("status", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in (
        "expense_svc",
        "ml_svc",
        "insight_svc",
        "expense_relay",
        "gateway",
        "envoy",
        "frontend",
    ):
        line = next(row for row in done.stdout.splitlines() if row.startswith(name))
        assert "healthy" in line, done.stdout
