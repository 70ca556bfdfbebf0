"""The transcoder: an ASGI app that turns JSON/HTTP requests into gRPC calls and back.

Routes are compiled once from the descriptor set (:mod:`gateway.descriptors`,
:mod:`gateway.templates`); each holds its dynamic request/response classes and a generic gRPC
multicallable on the upstream's channel (one ``grpc.aio`` channel per service). Per request the
work is: route lookup, token check (cached), request building, the call, JSON printing.

Behaviour follows Envoy's ``grpc_json_transcoder`` as configured in ``finmesh/stack/envoy.py``
(``convert_grpc_status``, ``reject_unknown_method``, ``reject_unknown_query_parameters``,
``always_print_primitive_fields``), so the same request gets the same answer at both edges.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import message

from finmesh.stack.envoy import DEFAULT_TIMEOUT_SECONDS, ROUTE_TIMEOUTS
from gateway import jsonout, status, transcode
from gateway.auth import GatewayAuth, Rejection
from gateway.config import GatewayConfig
from gateway.descriptors import Catalog, HttpRule, Method
from gateway.templates import Router

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HTTP_BODY = "google.api.HttpBody"
#: Largest chunk of a streamed request body sent as one message (client-streaming HttpBody).
STREAM_CHUNK_BYTES = 1024 * 1024
#: Request headers forwarded to the services as gRPC metadata.
FORWARDED_HEADERS = (b"authorization", b"x-request-id", b"idempotency-key")
JSON_HEADERS = [(b"content-type", b"application/json")]

CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.max_receive_message_length", 32 * 1024 * 1024),
    ("grpc.max_send_message_length", 32 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
)


class BodyTooLarge(Exception):
    """The request body is over :attr:`GatewayConfig.max_request_bytes`."""


@dataclass
class Route:
    """One HTTP binding of one RPC, ready to serve."""

    method: Method
    rule: HttpRule
    request_cls: type[message.Message]
    response_cls: type[message.Message]
    http_body_field: str  # the body field when it is a google.api.HttpBody, else ""
    timeout_seconds: float | None
    call: Any = field(default=None, repr=False)  # grpc.aio multicallable, bound at start


def _serialize(msg: message.Message) -> bytes:
    return msg.SerializeToString()


class Transcoder:
    """ASGI app for every transcoded route; anything else goes to ``fallback``."""

    def __init__(
        self,
        cfg: GatewayConfig,
        catalog: Catalog,
        fallback: Callable[[Scope, Receive, Send], Awaitable[None]],
        fallback_paths: frozenset[str],
    ) -> None:
        self.cfg = cfg
        self.catalog = catalog
        self.fallback = fallback
        self.fallback_paths = fallback_paths
        self.auth = GatewayAuth(cfg.auth)
        self.routes: list[Route] = []
        for m in catalog.methods:
            for rule in m.rules:
                http_body_field = ""
                if rule.body not in ("", "*"):
                    fd = m.input.fields_by_name.get(rule.body)
                    mt = fd.message_type if fd is not None else None
                    if mt is not None and mt.full_name == HTTP_BODY:
                        http_body_field = rule.body
                timeout = ROUTE_TIMEOUTS.get(m.grpc_path, DEFAULT_TIMEOUT_SECONDS)
                self.routes.append(
                    Route(
                        method=m,
                        rule=rule,
                        request_cls=catalog.message_class(m.input),
                        response_cls=catalog.message_class(m.output),
                        http_body_field=http_body_field,
                        timeout_seconds=float(timeout) if timeout else None,
                    )
                )
        self.router: Router[Route] = Router((r.rule.verb, r.rule.template, r) for r in self.routes)
        self._status_cls = catalog.message_class_by_name("google.rpc.Status")
        self._channels: dict[str, grpc.aio.Channel] = {}

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Open one channel per upstream and bind every route's multicallable."""
        for route in self.routes:
            up = route.method.upstream
            channel = self._channels.get(up)
            if channel is None:
                target = self.cfg.targets[up]
                channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
                self._channels[up] = channel
            m = route.method
            kind = (
                channel.stream_unary
                if m.client_streaming and not m.server_streaming
                else channel.unary_stream
                if m.server_streaming and not m.client_streaming
                else channel.stream_stream
                if m.server_streaming
                else channel.unary_unary
            )
            route.call = kind(
                m.grpc_path,
                request_serializer=_serialize,
                response_deserializer=route.response_cls.FromString,
            )

    async def stop(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        started = False

        async def tracked(event: Message) -> None:
            nonlocal started
            started = started or event["type"] == "http.response.start"
            await send(event)

        try:
            await self._handle(scope, receive, tracked)
        except Exception:
            # A bug, never the client's fault: log it, answer like a service's INTERNAL.
            log.exception("unhandled error for %s %s", scope.get("method"), scope.get("path"))
            if not started:
                body = json.dumps({"code": 13, "message": "internal error", "details": []})
                await _send(send, 500, body.encode())

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1")
        http_method: str = scope["method"]
        headers = _headers(scope)
        if path.startswith("/v1/"):
            authorization = headers.get(b"authorization")
            verdict = self.auth.check(
                authorization.decode("latin-1") if authorization is not None else None
            )
            if isinstance(verdict, Rejection):
                await self._reject_auth(scope, send, headers, verdict)
                return
        match = self.router.resolve(http_method, path)
        if match is None:
            if path in self.fallback_paths or path.startswith("/docs/"):
                await self.fallback(scope, receive, send)
                return
            await _send(
                send,
                404,
                status.local_reply(404, f"Could not resolve {path} to a method."),
                head=http_method == "HEAD",
            )
            return
        route = match.target
        metadata = _metadata(headers)
        try:
            if route.method.client_streaming:
                await self._client_stream(route, match.bindings, scope, receive, send, metadata)
                return
            request = await self._build_request(route, match.bindings, scope, receive)
        except transcode.TranscodeError as exc:
            await _send(send, 400, status.local_reply(400, str(exc)))
            return
        except (ValueError, TypeError) as exc:
            # protobuf refusing a value the checks above let through (e.g. a lone surrogate).
            await _send(send, 400, status.local_reply(400, f"Invalid request: {exc}"))
            return
        except BodyTooLarge:
            await _send(send, 413, status.local_reply(413, "Payload Too Large"))
            return
        if route.method.server_streaming:
            await self._server_stream(route, request, receive, send, metadata)
            return
        try:
            response = await route.call(request, metadata=metadata, timeout=route.timeout_seconds)
        except grpc.aio.AioRpcError as err:
            await self._send_rpc_error(send, err)
            return
        await self._send_message(send, route, response)

    # ------------------------------------------------------------------ requests
    async def _build_request(
        self, route: Route, bindings: Mapping[str, str], scope: Scope, receive: Receive
    ) -> message.Message:
        request = route.request_cls()
        body_field = route.rule.body
        if body_field:
            body = await _read_body(receive, self.cfg.max_request_bytes)
            if route.http_body_field:
                http_body = getattr(request, route.http_body_field)
                http_body.data = body
                http_body.content_type = _headers(scope).get(b"content-type", b"").decode("latin-1")
            else:
                transcode.merge_json_body(request, body_field, transcode.parse_json(body))
        for field_path, value in bindings.items():
            transcode.apply_binding(request, field_path, value)
        transcode.apply_query(request, transcode.parse_query(scope.get("query_string", b"")))
        return request

    async def _client_stream(
        self,
        route: Route,
        bindings: Mapping[str, str],
        scope: Scope,
        receive: Receive,
        send: Send,
        metadata: tuple[tuple[str, str], ...],
    ) -> None:
        """A client-streaming RPC: the raw body goes out in ≤1 MiB messages; the first one also
        carries the path/query fields and the content type (Envoy's behaviour)."""
        first = route.request_cls()
        for field_path, value in bindings.items():
            transcode.apply_binding(first, field_path, value)
        transcode.apply_query(first, transcode.parse_query(scope.get("query_string", b"")))
        content_type = _headers(scope).get(b"content-type", b"").decode("latin-1")
        body_field = route.http_body_field

        async def messages() -> AsyncIterator[message.Message]:
            if not body_field:
                # A stream of JSON messages: the body is one JSON array (or one object).
                value = transcode.parse_json(await _read_body(receive, self.cfg.max_request_bytes))
                for i, item in enumerate(value if isinstance(value, list) else [value]):
                    msg = first if i == 0 else route.request_cls()
                    transcode.merge_json_body(msg, "*", item)
                    yield msg
                return
            sent = 0
            buffer = bytearray()
            more = True
            while more:
                event = await receive()
                if event["type"] == "http.disconnect":
                    return
                buffer.extend(event.get("body", b""))
                more = bool(event.get("more_body", False))
                while len(buffer) >= STREAM_CHUNK_BYTES or (not more and (buffer or not sent)):
                    msg = first if not sent else route.request_cls()
                    part = getattr(msg, body_field)
                    part.data = bytes(buffer[:STREAM_CHUNK_BYTES])
                    del buffer[:STREAM_CHUNK_BYTES]
                    if not sent:
                        part.content_type = content_type
                    sent += 1
                    yield msg

        try:
            response = await route.call(
                messages(), metadata=metadata, timeout=route.timeout_seconds
            )
        except grpc.aio.AioRpcError as err:
            await self._send_rpc_error(send, err)
            return
        await self._send_message(send, route, response)

    # ------------------------------------------------------------------ responses
    def _json(self, msg: message.Message) -> bytes:
        return jsonout.dumps(msg, self.catalog.pool)

    async def _send_message(self, send: Send, route: Route, msg: message.Message) -> None:
        if route.method.output.full_name == HTTP_BODY:
            content_type = getattr(msg, "content_type", "") or "application/octet-stream"
            await _send(send, 200, bytes(getattr(msg, "data", b"")), content_type=content_type)
            return
        await _send(send, 200, self._json(msg))

    def _status_body(self, err: grpc.aio.AioRpcError) -> tuple[int, bytes]:
        code = err.code().value[0]
        st = self._status_cls()
        for key, value in err.trailing_metadata() or ():
            if key == "grpc-status-details-bin" and isinstance(value, bytes):
                with contextlib.suppress(Exception):
                    st.ParseFromString(value)
                break
        if not st.code and not st.message and not len(st.details):  # type: ignore[attr-defined]
            st.code = code  # type: ignore[attr-defined]
            st.message = err.details() or ""  # type: ignore[attr-defined]
        body = self._json(st)
        return status.http_status(st.code, body), body  # type: ignore[attr-defined]

    async def _send_rpc_error(self, send: Send, err: grpc.aio.AioRpcError) -> None:
        http, body = self._status_body(err)
        if http >= 500 and err.code() != grpc.StatusCode.UNIMPLEMENTED:
            log.warning("upstream failed: %s %s", err.code().name, err.details())
        await _send(send, http, body)

    async def _server_stream(
        self,
        route: Route,
        request: message.Message,
        receive: Receive,
        send: Send,
        metadata: tuple[tuple[str, str], ...],
    ) -> None:
        """A server stream as a JSON array, flushed per message (Envoy's transcoder output).
        Headers go out with the first message, so an early error still gets its status."""
        call = route.call(request, metadata=metadata, timeout=route.timeout_seconds)

        async def watch_disconnect() -> None:
            while True:
                event = await receive()
                if event["type"] == "http.disconnect":
                    call.cancel()
                    return

        watcher = asyncio.create_task(watch_disconnect())
        try:
            try:
                first = await call.read()
            except grpc.aio.AioRpcError as err:
                await self._send_rpc_error(send, err)
                return
            if first is grpc.aio.EOF:
                await _send(send, 200, b"[]")
                return
            await send({"type": "http.response.start", "status": 200, "headers": JSON_HEADERS})
            await send(
                {"type": "http.response.body", "body": b"[" + self._json(first), "more_body": True}
            )
            while True:
                try:
                    item = await call.read()
                except grpc.aio.AioRpcError as err:
                    if err.code() != grpc.StatusCode.CANCELLED:
                        log.info("stream ended with %s", err.code().name)
                    break
                except asyncio.CancelledError:
                    break
                if item is grpc.aio.EOF:
                    break
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"," + self._json(item),
                        "more_body": True,
                    }
                )
            await send({"type": "http.response.body", "body": b"]", "more_body": False})
        finally:
            watcher.cancel()
            call.cancel()

    async def _reject_auth(
        self, scope: Scope, send: Send, headers: Mapping[bytes, bytes], verdict: Rejection
    ) -> None:
        if not verdict.edge:
            st = self._status_cls()
            st.ParseFromString(verdict.status.SerializeToString())
            await _send(send, 401, self._json(st))
            return
        # The path as the client sent it (percent-encoded): the decoded path may hold
        # characters a header cannot carry (a UnicodeEncodeError here was a 500).
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")
        realm = b'Bearer realm="http://' + headers.get(b"host", b"") + raw_path + b'"'
        if verdict.message != "Jwt is missing":
            realm += b', error="invalid_token"'
        await _send(
            send,
            401,
            status.local_reply(401, verdict.message),
            extra_headers=[(b"www-authenticate", realm)],
        )


def _headers(scope: Scope) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for k, v in scope["headers"]:
        out.setdefault(k, v)
    return out


def _metadata(headers: Mapping[bytes, bytes]) -> tuple[tuple[str, str], ...]:
    out = []
    for name in FORWARDED_HEADERS:
        value = headers.get(name)
        if value is not None:
            out.append((name.decode(), value.decode("latin-1")))
    if b"x-request-id" not in headers:
        out.append(("x-request-id", str(uuid.uuid4())))
    return tuple(out)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        event = await receive()
        if event["type"] == "http.disconnect":
            break
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        more = bool(event.get("more_body", False))
    return b"".join(chunks)


async def _send(
    send: Send,
    http: int,
    body: bytes,
    *,
    content_type: str = "application/json",
    extra_headers: list[tuple[bytes, bytes]] | None = None,
    head: bool = False,
) -> None:
    headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
        *(extra_headers or ()),
    ]
    await send({"type": "http.response.start", "status": http, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _chunk(send: Send, body: bytes) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": True})
