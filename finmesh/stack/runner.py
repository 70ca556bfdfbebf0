"""The local stack: what `make up`, `make down` and `finmesh status` do.

Start order: dev keys → PostgreSQL (embedded, unless ``DATABASE_URL``) → Kafka (local broker,
unless ``KAFKA_BOOTSTRAP_SERVERS``) and its topics → the three services, Envoy, the gateway and
the dashboard → once expense_svc is healthy (its start-up migrates the schema), its outbox
relay. Every process is detached with a pid file under ``$FINMESH_HOME/run`` and a log under
``$FINMESH_HOME/logs``. ``up`` is idempotent: what already runs is left alone. The test
harness uses the same class with a temporary home and free ports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from finmesh import auth
from finmesh.config import REPO_ROOT, TOPIC_PARTITIONS, StackConfig, all_topics
from finmesh.stack import envoy, procs
from finmesh.stack import kafka as kafka_stack
from finmesh.stack import postgres as pg_stack

SERVICES: tuple[str, ...] = ("expense_svc", "ml_svc", "insight_svc")
#: expense_svc's outbox relay, a process of its own beside it (see :mod:`expense_svc.relay`).
RELAY = "expense_relay"
FRONTEND_DIST = REPO_ROOT / "frontend" / "dist"


class StackError(RuntimeError):
    """A component failed to start or to become healthy; the message says which and where its
    log is."""


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    healthy: bool
    detail: str


def _say(msg: str) -> None:
    print(f"finmesh: {msg}", flush=True)


class Stack:
    def __init__(
        self,
        cfg: StackConfig,
        *,
        quiet: bool = False,
        services: tuple[str, ...] = SERVICES,
        edge: bool = True,
        frontend: bool = True,
        dev_tokens: bool = False,
    ) -> None:
        """``services``: which services to run; ``edge``: Envoy and the gateway; ``frontend``:
        the dashboard's server (needs ``frontend/dist``); ``dev_tokens``: let the dashboard
        mint tokens for any user at ``POST /dev/token`` (local development only)."""
        self.cfg = cfg
        self.quiet = quiet
        self.services = services
        self.edge = edge
        self.frontend = frontend
        self.dev_tokens = dev_tokens
        self._postgres = pg_stack.PostgresServer(
            cfg.home / "postgres",
            port=cfg.ports.postgres,
            log_file=cfg.logs_dir / "postgres.log",
        )
        self._kafka_data = cfg.home / "kafka"
        self._kafka_pid = cfg.run_dir / "kafka.pid"

    def _kafka_broker(self) -> kafka_stack.KafkaBroker:
        """The local broker; resolves its jars with Maven on first use (cached)."""
        libs = kafka_stack.ensure_kafka_jars(REPO_ROOT / ".finmesh" / "cache")
        return kafka_stack.KafkaBroker(
            libs,
            self._kafka_data,
            port=self.cfg.ports.kafka,
            controller_port=self.cfg.ports.kafka_controller,
            log_file=self.cfg.logs_dir / "kafka.log",
            pid_file=self._kafka_pid,
        )

    # ------------------------------------------------------------------ helpers
    def _log(self, msg: str) -> None:
        if not self.quiet:
            _say(msg)

    @property
    def database_url(self) -> str:
        return self.cfg.database_url or self._postgres.url

    @property
    def kafka_bootstrap(self) -> str:
        return self.cfg.kafka_bootstrap_servers or f"127.0.0.1:{self.cfg.ports.kafka}"

    def service_env(self) -> dict[str, str]:
        p = self.cfg.ports
        env = dict(os.environ)
        env.update(
            {
                "FINMESH_HOME": str(self.cfg.home),
                "DATABASE_URL": self.database_url,
                "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
                "FINMESH_JWT_ISSUER": self.cfg.auth.issuer,
                "FINMESH_JWT_AUDIENCE": self.cfg.auth.audience,
                "FINMESH_JWKS_PATH": str(self.cfg.auth.jwks_path),
                "EXPENSE_SVC_PORT": str(p.expense),
                "ML_SVC_PORT": str(p.ml),
                "INSIGHT_SVC_PORT": str(p.insight),
                "EXPENSE_SVC_METRICS_PORT": str(p.expense_metrics),
                "ML_SVC_METRICS_PORT": str(p.ml_metrics),
                "INSIGHT_SVC_METRICS_PORT": str(p.insight_metrics),
                "EXPENSE_RELAY_METRICS_PORT": str(p.relay_metrics),
                "GATEWAY_PORT": str(p.gateway),
                "ENVOY_PORT": str(p.envoy),
                "FRONTEND_PORT": str(p.frontend),
                "FINMESH_DEV_TOKENS": "1" if self.dev_tokens else "0",
                "FINMESH_LOG_LEVEL": self.cfg.log_level,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def envoy_settings(self) -> envoy.EnvoySettings:
        p = self.cfg.ports
        return envoy.EnvoySettings(
            listen_port=p.envoy,
            admin_port=p.envoy_admin,
            upstreams={
                "expense_svc": ("127.0.0.1", p.expense),
                "ml_svc": ("127.0.0.1", p.ml),
                "insight_svc": ("127.0.0.1", p.insight),
            },
            jwks_path=self.cfg.auth.jwks_path,
            issuer=self.cfg.auth.issuer,
            audience=self.cfg.auth.audience,
            cors_origins=(f"http://localhost:{p.frontend}", f"http://127.0.0.1:{p.frontend}"),
        )

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> None:
        procs.spawn(
            name,
            argv,
            run_dir=self.cfg.run_dir,
            logs_dir=self.cfg.logs_dir,
            env=env,
            cwd=REPO_ROOT,
        )

    def _wait(self, name: str, check: Callable[[], bool], timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if check():
                return
            if procs.read_pid(self.cfg.run_dir, name) is None:
                raise StackError(
                    f"{name} exited during start-up; see {self.cfg.logs_dir / (name + '.log')}"
                )
            time.sleep(0.2)
        raise StackError(
            f"{name} not healthy after {timeout_seconds:.0f}s; "
            f"see {self.cfg.logs_dir / (name + '.log')}"
        )

    # ------------------------------------------------------------------ health checks
    @staticmethod
    def grpc_healthy(port: int, timeout_seconds: float = 1.0) -> bool:
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                resp = stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout_seconds)
                return bool(resp.status == health_pb2.HealthCheckResponse.SERVING)
        except grpc.RpcError:
            return False

    @staticmethod
    def http_ok(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def envoy_healthy(self) -> bool:
        return self.http_ok(f"http://127.0.0.1:{self.cfg.ports.envoy_admin}/ready")

    def frontend_healthy(self) -> bool:
        return self.http_ok(f"http://127.0.0.1:{self.cfg.ports.frontend}/healthz")

    def relay_healthy(self) -> bool:
        return self.http_ok(f"http://127.0.0.1:{self.cfg.ports.relay_metrics}/metrics")

    def gateway_healthy(self) -> bool:
        return self.http_ok(f"http://127.0.0.1:{self.cfg.ports.gateway}/healthz")

    def service_port(self, name: str) -> int:
        return self.cfg.service(name).port

    # ------------------------------------------------------------------ up / down
    def up(self, *, timeout_seconds: float = 180.0) -> None:
        cfg = self.cfg
        for d in (cfg.home, cfg.logs_dir, cfg.run_dir):
            d.mkdir(parents=True, exist_ok=True)
        auth.generate_keys(cfg.keys_dir)
        if not envoy.DESCRIPTOR_SET.exists():
            raise StackError(f"{envoy.DESCRIPTOR_SET} is missing: run `make gen`")

        if not cfg.database_url:
            if self._postgres.is_running():
                self._log(f"PostgreSQL already running on :{cfg.ports.postgres}")
            else:
                self._log(f"starting PostgreSQL (embedded) on :{cfg.ports.postgres}")
                self._postgres.start()
            self._postgres.wait_ready(timeout_seconds=60)

        if not cfg.kafka_bootstrap_servers:
            broker = self._kafka_broker()
            if broker.is_running():
                self._log(f"Kafka already running on :{cfg.ports.kafka}")
            else:
                self._log(
                    f"starting Apache Kafka {kafka_stack.KAFKA_VERSION} (KRaft) "
                    f"on :{cfg.ports.kafka}"
                )
                broker.start()
            broker.wait_ready(timeout=90)
        kafka_stack.create_topics(self.kafka_bootstrap, all_topics(), TOPIC_PARTITIONS)

        if self.frontend and not FRONTEND_DIST.joinpath("index.html").exists():
            raise StackError(
                f"{FRONTEND_DIST} is missing: build the dashboard with "
                "`bash scripts/frontend.sh build` (make up does this)"
            )
        env = self.service_env()
        if "ml_svc" in self.services and procs.read_pid(cfg.run_dir, "ml_svc") is None:
            # ml_svc trains at start when it has no model; train here instead, in the
            # foreground with a progress bar, so `up` shows what the first start waits for.
            trained = subprocess.run(
                [sys.executable, "-m", "ml_svc.train", "--if-missing"], env=env
            )
            if trained.returncode != 0:
                raise StackError(f"training ml_svc's model failed (exit {trained.returncode})")
        started: list[str] = []
        for name in self.services:
            if procs.read_pid(cfg.run_dir, name) is not None:
                self._log(f"{name} already running")
                continue
            self._log(f"starting {name} on :{self.service_port(name)}")
            self._spawn(name, [sys.executable, "-m", name], env)
            started.append(name)

        if self.edge:
            self._start_edge(env)
        if self.frontend:
            if procs.read_pid(cfg.run_dir, "frontend") is None:
                self._log(f"starting the dashboard on :{cfg.ports.frontend}")
                self._spawn("frontend", [sys.executable, "-m", "finmesh.devserver"], env)
            else:
                self._log("dashboard already running")

        for name in self.services:
            port = self.service_port(name)
            self._wait(name, lambda p=port: self.grpc_healthy(p), timeout_seconds)  # type: ignore[misc]
        if "expense_svc" in self.services:  # after it: its start-up migrates the outbox table
            if procs.read_pid(cfg.run_dir, RELAY) is None:
                self._log(
                    f"starting expense_svc's outbox relay (metrics :{cfg.ports.relay_metrics})"
                )
                self._spawn(RELAY, [sys.executable, "-m", "expense_svc.relay"], env)
            else:
                self._log("outbox relay already running")
            self._wait(RELAY, self.relay_healthy, 60)
        if self.edge:
            self._wait("envoy", self.envoy_healthy, 30)
            self._wait("gateway", self.gateway_healthy, 60)
        if self.frontend:
            self._wait("frontend", self.frontend_healthy, 30)

    def _start_edge(self, env: Mapping[str, str]) -> None:
        cfg = self.cfg
        if procs.read_pid(cfg.run_dir, "gateway") is None:
            self._log(f"starting the FastAPI gateway on :{cfg.ports.gateway}")
            self._spawn("gateway", [sys.executable, "-m", "gateway"], env)
        else:
            self._log("gateway already running")
        if procs.read_pid(cfg.run_dir, "envoy") is None:
            config_path = envoy.write_config(self.envoy_settings(), cfg.run_dir / "envoy.json")
            envoy.validate(config_path)
            self._log(f"starting Envoy on :{cfg.ports.envoy}")
            self._spawn("envoy", envoy.command(config_path))
        else:
            self._log("Envoy already running")

    def down(self) -> list[str]:
        """Stop everything `up` started, in reverse order. Returns the names stopped."""
        stopped = []
        # Everything that could have been started, whatever this Stack's options: `make down`
        # must stop what any `make up` started.
        for name in ("frontend", "envoy", "gateway", RELAY, *reversed(SERVICES)):
            if procs.stop(self.cfg.run_dir, name):
                stopped.append(name)
        if not self.cfg.kafka_bootstrap_servers and kafka_stack.stop_pid_file(self._kafka_pid):
            stopped.append("kafka")
        if not self.cfg.database_url and self._postgres.is_running():
            self._postgres.stop()
            stopped.append("postgres")
        return stopped

    def status(self) -> list[ComponentStatus]:
        cfg = self.cfg
        out: list[ComponentStatus] = []
        if not cfg.database_url:
            running = self._postgres.is_running()
            out.append(
                ComponentStatus(
                    "postgres",
                    pg_stack.postmaster_pid(self._postgres.data_dir),
                    running,
                    f"127.0.0.1:{cfg.ports.postgres}",
                )
            )
        else:
            out.append(ComponentStatus("postgres", None, True, "external (DATABASE_URL)"))
        if not cfg.kafka_bootstrap_servers:
            running = kafka_stack.pid_file_running(self._kafka_pid)
            pid = procs.read_pid(cfg.run_dir, "kafka") if running else None
            out.append(ComponentStatus("kafka", pid, running, f"127.0.0.1:{cfg.ports.kafka}"))
        else:
            out.append(
                ComponentStatus("kafka", None, True, f"external ({cfg.kafka_bootstrap_servers})")
            )
        for name in SERVICES:
            port = self.service_port(name)
            pid = procs.read_pid(cfg.run_dir, name)
            out.append(
                ComponentStatus(
                    name, pid, pid is not None and self.grpc_healthy(port), f"grpc 127.0.0.1:{port}"
                )
            )
        pid = procs.read_pid(cfg.run_dir, RELAY)
        out.append(
            ComponentStatus(
                RELAY,
                pid,
                pid is not None and self.relay_healthy(),
                f"metrics http://127.0.0.1:{cfg.ports.relay_metrics}/metrics",
            )
        )
        pid = procs.read_pid(cfg.run_dir, "frontend")
        out.append(
            ComponentStatus(
                "frontend",
                pid,
                pid is not None and self.frontend_healthy(),
                f"http://localhost:{cfg.ports.frontend}",
            )
        )
        pid = procs.read_pid(cfg.run_dir, "gateway")
        out.append(
            ComponentStatus(
                "gateway",
                pid,
                pid is not None and self.gateway_healthy(),
                f"http://localhost:{cfg.ports.gateway}",
            )
        )
        pid = procs.read_pid(cfg.run_dir, "envoy")
        out.append(
            ComponentStatus(
                "envoy",
                pid,
                pid is not None and self.envoy_healthy(),
                f"http://localhost:{cfg.ports.envoy}",
            )
        )
        return out

    def urls(self) -> list[tuple[str, str]]:
        p = self.cfg.ports
        return [
            ("Envoy edge (JSON, gRPC, gRPC-Web)", f"http://localhost:{p.envoy}"),
            ("Dashboard", f"http://localhost:{p.frontend}"),
            ("FastAPI gateway (OpenAPI at /docs)", f"http://localhost:{p.gateway}/docs"),
            ("expense_svc (gRPC)", f"localhost:{p.expense}"),
            ("ml_svc (gRPC)", f"localhost:{p.ml}"),
            ("insight_svc (gRPC)", f"localhost:{p.insight}"),
            ("Envoy admin", f"http://127.0.0.1:{p.envoy_admin}"),
            ("logs", str(self.cfg.logs_dir)),
        ]
