"""Configuration, parsed once at start-up from the environment into frozen dataclasses.

Every setting has a default that works for the local stack (`make up`). Tests and benchmarks
build these objects directly instead of patching ``os.environ``.

Environment variables (all optional):

==============================  =========================================  ==================
variable                        meaning                                    default
==============================  =========================================  ==================
``FINMESH_HOME``                state directory (data, logs, keys, cache)  ``<repo>/.finmesh``
``DATABASE_URL``                external PostgreSQL instead of embedded    (embedded)
``KAFKA_BOOTSTRAP_SERVERS``     external Kafka, not the local broker       (local broker)
``FINMESH_JWT_ISSUER``          expected ``iss`` claim                     ``finmesh-local``
``FINMESH_JWT_AUDIENCE``        expected ``aud`` claim                     ``finmesh``
``FINMESH_JWKS_PATH``           JWKS file of the token-verifying keys      ``<home>/keys/jwks.json``
``EXPENSE_SVC_PORT``            expense_svc gRPC port                      ``50051``
``ML_SVC_PORT``                 ml_svc gRPC port                           ``50052``
``INSIGHT_SVC_PORT``            insight_svc gRPC port                      ``50053``
``EXPENSE_SVC_METRICS_PORT``    expense_svc Prometheus port                ``9464``
``ML_SVC_METRICS_PORT``         ml_svc Prometheus port                     ``9465``
``INSIGHT_SVC_METRICS_PORT``    insight_svc Prometheus port                ``9466``
``EXPENSE_RELAY_METRICS_PORT``  outbox relay Prometheus port               ``9467``
``ENVOY_PORT``                  Envoy edge (JSON, gRPC, gRPC-Web)          ``8080``
``ENVOY_ADMIN_PORT``            Envoy admin, loopback only                 ``9901``
``GATEWAY_PORT``                FastAPI gateway                            ``8000``
``FRONTEND_PORT``               dashboard                                  ``5173``
``POSTGRES_PORT``               embedded PostgreSQL                        ``5433``
``KAFKA_PORT``                  local Kafka broker                         ``9092``
``KAFKA_CONTROLLER_PORT``       local Kafka KRaft controller               ``9093``
``FINMESH_BIND_HOST``           address the services listen on             ``127.0.0.1``
``EXPENSE_SVC_TARGET``          how other services reach expense_svc       ``127.0.0.1:<port>``
``ML_SVC_TARGET``               how other services reach ml_svc            ``127.0.0.1:<port>``
``INSIGHT_SVC_TARGET``          how other services reach insight_svc       ``127.0.0.1:<port>``
``FINMESH_LOG_LEVEL``           log level                                  ``INFO``
==============================  =========================================  ==================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Kafka topics of the contract; each also has a ``<topic>.dlq``.
TOPICS: tuple[str, ...] = (
    "expenses.raw",
    "expenses.parsed",
    "expenses.feedback",
    "insights.events",
)
TOPIC_PARTITIONS = 3


def all_topics() -> tuple[str, ...]:
    """The contract topics followed by their dead-letter topics."""
    return TOPICS + tuple(f"{t}.dlq" for t in TOPICS)


@dataclass(frozen=True)
class AuthConfig:
    """How bearer tokens are verified."""

    issuer: str = "finmesh-local"
    audience: str = "finmesh"
    jwks_path: Path = REPO_ROOT / ".finmesh" / "keys" / "jwks.json"
    leeway_seconds: int = 5


@dataclass(frozen=True)
class DatabaseConfig:
    """PostgreSQL connection and pool sizing."""

    url: str = ""
    pool_min_size: int = 2
    pool_max_size: int = 10
    connect_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class KafkaConfig:
    """Kafka bootstrap servers and client identity."""

    bootstrap_servers: str = ""
    client_id: str = "finmesh"


@dataclass(frozen=True)
class ServiceConfig:
    """Everything one gRPC service needs to start."""

    name: str
    port: int
    host: str = "127.0.0.1"
    metrics_port: int = 0
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    #: gRPC targets of the other services (``host:port``).
    expense_target: str = "127.0.0.1:50051"
    ml_target: str = "127.0.0.1:50052"
    insight_target: str = "127.0.0.1:50053"
    grace_seconds: float = 5.0
    log_level: str = "INFO"
    #: Directory for service-owned files (ML artifacts and the like).
    data_dir: Path = REPO_ROOT / ".finmesh" / "data"

    def with_overrides(self, **changes: object) -> ServiceConfig:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Ports:
    """The ports of every component of the local stack."""

    expense: int = 50051
    ml: int = 50052
    insight: int = 50053
    expense_metrics: int = 9464
    ml_metrics: int = 9465
    insight_metrics: int = 9466
    relay_metrics: int = 9467
    envoy: int = 8080
    envoy_admin: int = 9901
    gateway: int = 8000
    frontend: int = 5173
    postgres: int = 5433
    kafka: int = 9092
    kafka_controller: int = 9093


@dataclass(frozen=True)
class StackConfig:
    """The local stack as `make up` runs it (and the test harness, with other ports)."""

    home: Path
    ports: Ports
    auth: AuthConfig
    database_url: str = ""  # empty: start the embedded PostgreSQL
    kafka_bootstrap_servers: str = ""  # empty: start the local Kafka broker
    log_level: str = "INFO"
    bind_host: str = "127.0.0.1"
    #: Overrides of the ``host:port`` each service uses to reach another (containers).
    targets: Mapping[str, str] = field(default_factory=dict)

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def service(self, name: str) -> ServiceConfig:
        """The config of one service of this stack: ``expense_svc``, ``ml_svc``, ``insight_svc``."""
        p = self.ports
        port, metrics = {
            "expense_svc": (p.expense, p.expense_metrics),
            "ml_svc": (p.ml, p.ml_metrics),
            "insight_svc": (p.insight, p.insight_metrics),
        }[name]
        return ServiceConfig(
            name=name,
            port=port,
            host=self.bind_host,
            metrics_port=metrics,
            database=DatabaseConfig(url=self.database_url),
            kafka=KafkaConfig(bootstrap_servers=self.kafka_bootstrap_servers, client_id=name),
            auth=self.auth,
            expense_target=self.targets.get("expense_svc") or f"127.0.0.1:{p.expense}",
            ml_target=self.targets.get("ml_svc") or f"127.0.0.1:{p.ml}",
            insight_target=self.targets.get("insight_svc") or f"127.0.0.1:{p.insight}",
            log_level=self.log_level,
            data_dir=self.home / "data" / name,
        )


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {key} must be an integer, got {raw!r}") from exc


def stack_from_env(env: Mapping[str, str] | None = None) -> StackConfig:
    """Read the local stack's configuration from the environment."""
    env = os.environ if env is None else env
    home = Path(env.get("FINMESH_HOME") or REPO_ROOT / ".finmesh").resolve()
    d = Ports()
    ports = Ports(
        expense=_int(env, "EXPENSE_SVC_PORT", d.expense),
        ml=_int(env, "ML_SVC_PORT", d.ml),
        insight=_int(env, "INSIGHT_SVC_PORT", d.insight),
        expense_metrics=_int(env, "EXPENSE_SVC_METRICS_PORT", d.expense_metrics),
        ml_metrics=_int(env, "ML_SVC_METRICS_PORT", d.ml_metrics),
        insight_metrics=_int(env, "INSIGHT_SVC_METRICS_PORT", d.insight_metrics),
        relay_metrics=_int(env, "EXPENSE_RELAY_METRICS_PORT", d.relay_metrics),
        envoy=_int(env, "ENVOY_PORT", d.envoy),
        envoy_admin=_int(env, "ENVOY_ADMIN_PORT", d.envoy_admin),
        gateway=_int(env, "GATEWAY_PORT", d.gateway),
        frontend=_int(env, "FRONTEND_PORT", d.frontend),
        postgres=_int(env, "POSTGRES_PORT", d.postgres),
        kafka=_int(env, "KAFKA_PORT", d.kafka),
        kafka_controller=_int(env, "KAFKA_CONTROLLER_PORT", d.kafka_controller),
    )
    auth = AuthConfig(
        issuer=env.get("FINMESH_JWT_ISSUER") or AuthConfig.issuer,
        audience=env.get("FINMESH_JWT_AUDIENCE") or AuthConfig.audience,
        jwks_path=Path(env.get("FINMESH_JWKS_PATH") or home / "keys" / "jwks.json"),
    )
    return StackConfig(
        home=home,
        ports=ports,
        auth=auth,
        database_url=env.get("DATABASE_URL", ""),
        kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", ""),
        log_level=env.get("FINMESH_LOG_LEVEL", "INFO"),
        bind_host=env.get("FINMESH_BIND_HOST") or "127.0.0.1",
        targets={
            name: env[var]
            for name, var in (
                ("expense_svc", "EXPENSE_SVC_TARGET"),
                ("ml_svc", "ML_SVC_TARGET"),
                ("insight_svc", "INSIGHT_SVC_TARGET"),
            )
            if env.get(var)
        },
    )


def service_from_env(name: str, env: Mapping[str, str] | None = None) -> ServiceConfig:
    """A service's config when it runs as its own process (``python -m expense_svc``).

    The stack runner passes ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` explicitly, so a
    service never has to know whether they are embedded.
    """
    return stack_from_env(env).service(name)
