"""The whole mesh behind Envoy, started once per test session.

Uses the real PostgreSQL and Kafka from the other plugins and the same
:class:`finmesh.stack.runner.Stack` that `make up` uses, with a temporary home and free ports,
so the tests exercise exactly what users run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from finmesh import auth
from finmesh.config import AuthConfig, Ports, StackConfig
from finmesh.stack.procs import free_ports
from finmesh.stack.runner import Stack

ML_ARTIFACTS_CACHE = Path(__file__).resolve().parents[2] / ".finmesh" / "cache" / "ml_svc"


@dataclass
class Mesh:
    stack: Stack
    home: Path

    @property
    def cfg(self) -> StackConfig:
        return self.stack.cfg

    @property
    def envoy_url(self) -> str:
        return f"http://127.0.0.1:{self.cfg.ports.envoy}"

    def target(self, service: str) -> str:
        """``host:port`` of a service's gRPC server (``expense_svc``, ``ml_svc``, ...)."""
        return f"127.0.0.1:{self.cfg.service(service).port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.cfg.ports.gateway}"

    @property
    def envoy_target(self) -> str:
        return f"127.0.0.1:{self.cfg.ports.envoy}"

    def token(self, user: str, **kwargs: Any) -> str:
        return auth.sign_token(self.cfg.keys_dir, self.cfg.auth, user, **kwargs)

    def headers(self, user: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(user)}"}

    def metadata(self, user: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(user)}"),)

    def channel(self, service: str) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(self.target(service))


@pytest.fixture(scope="session")
def mesh(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: Any,
    kafka_broker: Any,
) -> Iterator[Mesh]:
    home = tmp_path_factory.mktemp("mesh")
    postgres_server.create_database("mesh")
    names = (
        "expense",
        "ml",
        "insight",
        "expense_metrics",
        "ml_metrics",
        "insight_metrics",
        "relay_metrics",
        "envoy",
        "envoy_admin",
        "gateway",
        "frontend",
    )
    # PostgreSQL and Kafka come from their own fixtures: their ports here are unused.
    ports = Ports(
        **dict(zip(names, free_ports(len(names)), strict=True)),
        postgres=0,
        kafka=0,
        kafka_controller=0,
    )
    cfg = StackConfig(
        home=home,
        ports=ports,
        auth=AuthConfig(jwks_path=home / "keys" / auth.JWKS_FILE),
        database_url=postgres_server.url_for("mesh"),
        kafka_bootstrap_servers=kafka_broker.bootstrap_servers,
        log_level="INFO",
    )
    # ml_svc loads its model from the per-machine artifact cache (trained once per code
    # version) instead of training at every test session's start.
    os.environ.setdefault("FINMESH_ML_ARTIFACTS_DIR", str(ML_ARTIFACTS_CACHE))
    stack = Stack(cfg, quiet=True, dev_tokens=True)
    try:
        stack.up(timeout_seconds=180)
    except Exception:
        stack.down()
        raise
    yield Mesh(stack=stack, home=home)
    stack.down()
