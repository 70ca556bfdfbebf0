"""The gRPC server bootstrap every service uses.

A service hands over its servicers as :class:`ServiceDef` objects; this module adds what every
server must have and nothing service-specific:

* ``grpc.health.v1.Health`` (the library's servicer) and server reflection;
* an interceptor that, for every business RPC, verifies the bearer token (health and
  reflection are public), sets the request id and user id for logs and handlers, maps domain
  errors (:mod:`finmesh.errors`) to ``google.rpc`` status, and records Prometheus metrics;
* ``grpc.so_reuseport = 0`` so two servers can never silently share a port;
* graceful stop on SIGTERM/SIGINT: health goes NOT_SERVING, then ``server.stop(grace)``.

Shape follows grpc's ``async_greeter_server_with_graceful_shutdown.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import grpc
import prometheus_client
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from finmesh import errors, logs
from finmesh.auth import AuthError, Principal, TokenVerifier, principal_var
from finmesh.config import ServiceConfig

log = logging.getLogger(__name__)

PUBLIC_PREFIXES: tuple[str, ...] = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)

SERVER_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.so_reuseport", 0),
    ("grpc.max_receive_message_length", 32 * 1024 * 1024),
    ("grpc.max_send_message_length", 32 * 1024 * 1024),
    ("grpc.keepalive_permit_without_calls", 1),
)

RPC_LATENCY = prometheus_client.Histogram(
    "finmesh_rpc_duration_seconds",
    "Server-side RPC latency",
    ["service", "method", "code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)


@dataclass(frozen=True)
class ServiceDef:
    """One gRPC service to serve: its full name and how to add its servicer to a server."""

    full_name: str
    add_to_server: Callable[[grpc.aio.Server], None]

    @classmethod
    def of(
        cls,
        proto_module: Any,
        service: str,
        add: Callable[[Any, grpc.aio.Server], None],
        servicer: Any,
    ) -> ServiceDef:
        """``service`` of ``proto_module`` (a ``*_pb2``), served by ``servicer`` through its
        generated ``add_<Service>Servicer_to_server``."""
        full_name = proto_module.DESCRIPTOR.services_by_name[service].full_name
        return cls(full_name, lambda server: add(servicer, server))


def _metadata_value(metadata: Any, key: str) -> str | None:
    """The value of ``key`` in call metadata (``(key, value)`` pairs; grpc's stubs type the
    aio metadata as a mapping, but it iterates as pairs)."""
    for k, v in metadata or ():
        if k == key:
            return v.decode() if isinstance(v, bytes) else v
    return None


async def _abort(context: grpc.aio.ServicerContext[Any, Any], err: errors.FinmeshError) -> None:
    await context.abort_with_status(rpc_status.to_status(err.to_status()))


class ServerInterceptor(grpc.aio.ServerInterceptor):
    """Auth, request context, error mapping and metrics for every business RPC."""

    def __init__(self, verifier: TokenVerifier, service_name: str) -> None:
        self._verifier = verifier
        self._service = service_name
        # method -> its wrapped handler, built on the method's first call (the servicers are
        # fixed once the server starts); each call then reads its own metadata.
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method: str = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = await continuation(handler_call_details)
        if handler is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        wrapped = self._wrapped[method] = _wrap(handler, self._service, method, self._verifier)
        return wrapped


class _Undecodable:
    """Stands in for a request message whose bytes did not parse (e.g. a string field holding
    invalid UTF-8, which Envoy passes through from a URL): the handler wrapper turns it into
    INVALID_ARGUMENT instead of gRPC's generic deserialization failure."""

    def __init__(self, error: str) -> None:
        self.error = error


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:  # any parse failure is the client's bad input
            return _Undecodable(str(exc) or type(exc).__name__)

    return deserialize


def _checked(request: Any) -> Any:
    if isinstance(request, _Undecodable):
        raise errors.InvalidArgument(
            f"the request is not a valid message: {request.error}", reason="MALFORMED_REQUEST"
        )
    return request


async def _checked_stream(requests: Any) -> Any:
    async for request in requests:
        yield _checked(request)


def _wrap(
    handler: grpc.RpcMethodHandler[Any, Any],
    service: str,
    method: str,
    verifier: TokenVerifier,
) -> grpc.RpcMethodHandler[Any, Any]:
    short = method.rsplit("/", 1)[-1]

    @contextlib.asynccontextmanager
    async def scope(context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[None]:
        start = time.perf_counter()
        code = "OK"
        metadata = context.invocation_metadata()
        request_id = _metadata_value(metadata, "x-request-id") or uuid.uuid4().hex
        principal: Principal | None = None
        auth_error: AuthError | None = None
        try:
            principal = verifier.verify_header(_metadata_value(metadata, "authorization"))
        except AuthError as exc:
            auth_error = exc
        tokens = (
            logs.request_id_var.set(request_id),
            logs.user_id_var.set(principal.user_id if principal else ""),
            principal_var.set(principal),
        )
        try:
            if auth_error is not None:
                raise errors.Unauthenticated(str(auth_error))
            yield
        except grpc.aio.AbortError:
            code = (context.code() or grpc.StatusCode.UNKNOWN).name
            raise
        except errors.FinmeshError as err:
            code = err.code.name
            log.info("%s failed: %s (%s)", short, err.message, err.reason)
            await _abort(context, err)
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        except NotImplementedError:
            # The generated servicer base class: this RPC's issue has not landed yet.
            code = "UNIMPLEMENTED"
            log.info("%s is not implemented yet", short)
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{short} is not implemented yet")
        except Exception as exc:
            code = "INTERNAL"
            log.exception("unhandled error in %s", short)
            await context.abort_with_status(rpc_status.to_status(errors.internal_status()))
            raise AssertionError("unreachable") from exc
        finally:
            RPC_LATENCY.labels(service, short, code).observe(time.perf_counter() - start)
            logs.request_id_var.reset(tokens[0])
            logs.user_id_var.reset(tokens[1])
            principal_var.reset(tokens[2])

    if handler.unary_unary:
        inner_uu: Any = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with scope(context):
                return await inner_uu(_checked(request), context)
            return None

        return grpc.unary_unary_rpc_method_handler(
            unary_unary, _tolerant(handler.request_deserializer), handler.response_serializer
        )
    if handler.unary_stream:
        inner_us: Any = handler.unary_stream

        async def unary_stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with scope(context):
                async for item in inner_us(_checked(request), context):
                    yield item

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, _tolerant(handler.request_deserializer), handler.response_serializer
        )
    if handler.stream_unary:
        inner_su: Any = handler.stream_unary

        async def stream_unary(requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with scope(context):
                return await inner_su(_checked_stream(requests), context)
            return None

        return grpc.stream_unary_rpc_method_handler(
            stream_unary, _tolerant(handler.request_deserializer), handler.response_serializer
        )
    inner_ss: Any = handler.stream_stream

    async def stream_stream(requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        async with scope(context):
            async for item in inner_ss(_checked_stream(requests), context):
                yield item

    return grpc.stream_stream_rpc_method_handler(
        stream_stream, _tolerant(handler.request_deserializer), handler.response_serializer
    )


class GrpcServer:
    """A started gRPC server with health, reflection and the interceptor. Used by ``run`` and
    directly by tests (start on port 0, read :attr:`port`)."""

    def __init__(self, cfg: ServiceConfig, services: Sequence[ServiceDef]) -> None:
        self.cfg = cfg
        self.services = list(services)
        self.health = health.aio.HealthServicer()
        self.server = grpc.aio.server(
            interceptors=[ServerInterceptor(TokenVerifier(cfg.auth), cfg.name)],
            options=SERVER_OPTIONS,
        )
        for svc in self.services:
            svc.add_to_server(self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [s.full_name for s in self.services]
        reflection.enable_server_reflection(
            [
                *names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            self.server,
        )
        self.port = 0

    async def start(self) -> int:
        self.port = self.server.add_insecure_port(f"{self.cfg.host}:{self.cfg.port}")
        if self.port == 0:
            raise OSError(f"{self.cfg.name}: cannot bind {self.cfg.host}:{self.cfg.port}")
        await self.server.start()
        serving = health_pb2.HealthCheckResponse.SERVING
        await self.health.set("", serving)
        for svc in self.services:
            await self.health.set(svc.full_name, serving)
        log.info("%s serving on %s:%d", self.cfg.name, self.cfg.host, self.port)
        return self.port

    async def stop(self, grace_seconds: float | None = None) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.cfg.grace_seconds if grace_seconds is None else grace_seconds)


AppFactory = Callable[[ServiceConfig], AbstractAsyncContextManager[Sequence[ServiceDef]]]


async def serve(cfg: ServiceConfig, app: AppFactory) -> None:
    """Run a service until SIGTERM/SIGINT. ``app`` opens the service's resources (pools,
    consumers), yields its servicers, and closes the resources when the server has stopped."""
    if cfg.metrics_port:
        prometheus_client.start_http_server(cfg.metrics_port, addr=cfg.host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with app(cfg) as services:
        server = GrpcServer(cfg, services)
        await server.start()
        await stop.wait()
        log.info("%s stopping (grace %.1fs)", cfg.name, cfg.grace_seconds)
        await server.stop()
    log.info("%s stopped", cfg.name)


def main(name: str, app: AppFactory) -> None:
    """Process entry point shared by the services: ``python -m expense_svc``."""
    from finmesh.config import service_from_env

    cfg = service_from_env(name)
    logs.configure(name, cfg.log_level)
    try:
        import uvloop

        uvloop.run(serve(cfg, app))
    except ImportError:  # pragma: no cover - uvloop is a locked dependency
        asyncio.run(serve(cfg, app))
