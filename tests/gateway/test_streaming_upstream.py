"""What the gateway sends upstream, seen by a recording gRPC server: statement bodies split
into ≤1 MiB messages (query fields and content type in the first only, like Envoy), the
caller's token, request id and idempotency key forwarded as metadata, a server stream turned
into a JSON array flushed per message."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import uvicorn

from finance.expense.v1 import expense_service_pb2
from finance.insight.v1 import insight_service_pb2
from finmesh import auth
from finmesh.config import AuthConfig
from finmesh.stack.procs import free_port
from gateway.app import create_app
from gateway.config import GatewayConfig
from gateway.transcoder import STREAM_CHUNK_BYTES


class Recorder:
    def __init__(self) -> None:
        self.imports: list[expense_service_pb2.ImportStatementRequest] = []
        self.metadata: dict[str, str] = {}
        self.release = asyncio.Event()

    async def import_statement(
        self, requests: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        self.metadata = {k: v for k, v in context.invocation_metadata() or ()}  # type: ignore[misc]
        async for req in requests:
            self.imports.append(req)
        return expense_service_pb2.ImportStatementResponse(imported_count=len(self.imports))

    async def watch(
        self, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        for i in range(3):
            yield insight_service_pb2.WatchInsightsResponse(
                insight=insight_service_pb2.Insight(id=f"i{i}", title="Over budget")
            )
            # The rest only once the client has seen the first: proves the first was flushed.
            await self.release.wait()


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Recorder, httpx.AsyncClient]]:
    rec = Recorder()
    server = grpc.aio.server(options=(("grpc.so_reuseport", 0),))
    handlers = {
        "finance.expense.v1.ExpenseService": grpc.method_handlers_generic_handler(
            "finance.expense.v1.ExpenseService",
            {
                "ImportStatement": grpc.stream_unary_rpc_method_handler(
                    rec.import_statement,
                    expense_service_pb2.ImportStatementRequest.FromString,
                    expense_service_pb2.ImportStatementResponse.SerializeToString,
                )
            },
        ),
        "finance.insight.v1.InsightService": grpc.method_handlers_generic_handler(
            "finance.insight.v1.InsightService",
            {
                "WatchInsights": grpc.unary_stream_rpc_method_handler(
                    rec.watch,
                    insight_service_pb2.WatchInsightsRequest.FromString,
                    insight_service_pb2.WatchInsightsResponse.SerializeToString,
                )
            },
        ),
    }
    server.add_generic_rpc_handlers(tuple(handlers.values()))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    keys = auth.generate_keys(tmp_path / "keys")
    cfg = GatewayConfig(
        auth=AuthConfig(jwks_path=keys / auth.JWKS_FILE),
        targets={name: f"127.0.0.1:{port}" for name in ("expense_svc", "ml_svc", "insight_svc")},
    )
    token = auth.sign_token(keys, cfg.auth, "stream-user")
    app = create_app(cfg)
    await app.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://gw",
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        ) as client:
            yield rec, client
    finally:
        await app.stop()
        await server.stop(0)


async def test_statement_body_is_streamed_in_chunks_with_the_fields_first(
    setup: tuple[Recorder, httpx.AsyncClient],
) -> None:
    rec, client = setup
    data = bytes(range(256)) * (10 * 1024)  # 2.5 MiB
    r = await client.post(
        "/v1/expenses:import?filename=march.csv&format=STATEMENT_FORMAT_CSV&requestId=imp-1",
        content=data,
        headers={"content-type": "text/csv", "idempotency-key": "k-1", "x-request-id": "rid-1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["importedCount"] == len(rec.imports) >= 3
    assert all(len(m.file.data) <= STREAM_CHUNK_BYTES for m in rec.imports)
    assert b"".join(m.file.data for m in rec.imports) == data
    first, rest = rec.imports[0], rec.imports[1:]
    assert (first.filename, first.format, first.request_id) == ("march.csv", 1, "imp-1")
    assert first.file.content_type == "text/csv"
    assert all(not m.filename and not m.file.content_type and not m.request_id for m in rest)
    assert rec.metadata["authorization"] == client.headers["authorization"]
    assert rec.metadata["idempotency-key"] == "k-1"
    assert rec.metadata["x-request-id"] == "rid-1"


async def test_an_empty_statement_is_one_message_with_the_fields(
    setup: tuple[Recorder, httpx.AsyncClient],
) -> None:
    rec, client = setup
    r = await client.post("/v1/expenses:import?filename=empty.csv", content=b"")
    assert r.status_code == 200, r.text
    assert [(m.filename, m.file.data) for m in rec.imports] == [("empty.csv", b"")]
    assert rec.metadata["x-request-id"]  # generated when the caller sent none


async def test_server_stream_is_a_json_array_flushed_per_message(
    setup: tuple[Recorder, httpx.AsyncClient], tmp_path: Path
) -> None:
    rec, asgi_client = setup
    # A real HTTP server: the in-process transport would buffer the whole response.
    app = asgi_client._transport.app  # type: ignore[attr-defined]
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn has no "started" event
            await asyncio.sleep(0.02)
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
            client.stream(
                "GET",
                "/v1/insights:watch",
                headers={"authorization": asgi_client.headers["authorization"]},
            ) as resp,
        ):
            assert resp.status_code == 200
            assert resp.headers["content-type"] == "application/json"
            chunks = resp.aiter_raw()
            first = await asyncio.wait_for(anext(chunks), 10)
            assert first.startswith(b'[{"insight":{"id":"i0"')
            rec.release.set()
            body = first + b"".join([c async for c in chunks])
    finally:
        server.should_exit = True
        await serving
    items = json.loads(body)
    assert [i["insight"]["id"] for i in items] == ["i0", "i1", "i2"]
    assert items[0]["insight"]["type"] == "INSIGHT_TYPE_UNSPECIFIED"  # defaults printed


async def test_an_rpc_the_service_does_not_implement_is_501(
    setup: tuple[Recorder, httpx.AsyncClient],
) -> None:
    _, client = setup
    r = await client.get("/v1/expenses/e1")  # the recording server has no GetExpense
    assert r.status_code == 501
    assert r.json()["code"] == 12 and r.json()["details"] == []
