"""The gateway's configuration, parsed once from the environment (like the services')."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from finmesh.config import REPO_ROOT, AuthConfig, stack_from_env

DESCRIPTOR_SET = REPO_ROOT / "gen" / "descriptor" / "finmesh.binpb"


@dataclass(frozen=True)
class GatewayConfig:
    """Where the gateway listens, where the services are, how tokens are verified."""

    host: str = "127.0.0.1"
    port: int = 8000
    auth: AuthConfig = field(default_factory=AuthConfig)
    #: gRPC ``host:port`` per service package owner: ``expense_svc``, ``ml_svc``, ``insight_svc``.
    targets: Mapping[str, str] = field(default_factory=dict)
    descriptor_set: Path = DESCRIPTOR_SET
    log_level: str = "INFO"
    #: Largest request body of a non-streaming RPC (HTTP 413 above it); Envoy's setting.
    max_request_bytes: int = 16 * 1024 * 1024


def gateway_from_env(env: Mapping[str, str] | None = None) -> GatewayConfig:
    """``GATEWAY_PORT``, ``FINMESH_BIND_HOST``, the service ports / ``*_SVC_TARGET`` overrides and
    the ``FINMESH_JWT_*`` settings, exactly as the services read them."""
    stack = stack_from_env(env)
    targets = {
        "expense_svc": stack.service("expense_svc").expense_target,
        "ml_svc": stack.service("ml_svc").ml_target,
        "insight_svc": stack.service("insight_svc").insight_target,
    }
    return GatewayConfig(
        host=stack.bind_host,
        port=stack.ports.gateway,
        auth=stack.auth,
        targets=targets,
        log_level=stack.log_level,
    )
