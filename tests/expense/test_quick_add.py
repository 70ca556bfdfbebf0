"""QuickAddExpense: free text parsed by ml_svc's ParseExpense, then recorded like a create.

The servicer runs in-process behind the real server bootstrap (auth interceptor, error
mapping) on a real PostgreSQL; ml_svc is either a small fake CategorizerService gRPC server
(a test double for the dependency), a port where nothing listens, or - through the mesh - the
real ml_svc.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from google.type import date_pb2, money_pb2

from expense_svc.ml_client import MlClient
from expense_svc.service import BudgetService, ExpenseService
from finance.expense.v1 import expense_pb2, expense_service_pb2, expense_service_pb2_grpc
from finance.ml.v1 import categorizer_service_pb2, categorizer_service_pb2_grpc
from finmesh import auth
from finmesh.config import AuthConfig, ServiceConfig
from finmesh.db import Pool
from finmesh.server import SERVER_OPTIONS, GrpcServer, ServiceDef
from finmesh.stack.procs import free_port
from tests.expense.conftest import money
from tests.plugins.mesh import Mesh


@dataclass
class FakeParser(categorizer_service_pb2_grpc.CategorizerServiceServicer):
    """Answers ParseExpense like ml_svc would for a few known texts."""

    delay_seconds: float = 0.0
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def ParseExpense(
        self, request: categorizer_service_pb2.ParseExpenseRequest, context: Any
    ) -> categorizer_service_pb2.ParseExpenseResponse:
        metadata = dict(context.invocation_metadata())
        self.calls.append((request.text, str(metadata.get("authorization", ""))))
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        out = categorizer_service_pb2.ParseExpenseResponse(
            direction=expense_pb2.DIRECTION_DEBIT, date=request.today
        )
        if "£3.50" in request.text:
            out.amount.CopyFrom(money_pb2.Money(currency_code="GBP", units=3, nanos=500_000_000))
            out.merchant = "Starbucks"
            out.description = "Latte at Starbucks"
            out.category = "dining"
            yesterday = dt.date(request.today.year, request.today.month, request.today.day)
            yesterday -= dt.timedelta(days=1)
            out.date.CopyFrom(
                date_pb2.Date(year=yesterday.year, month=yesterday.month, day=yesterday.day)
            )
        return out


class Unimplemented(categorizer_service_pb2_grpc.CategorizerServiceServicer):
    """ml_svc before ParseExpense lands: the generated base answers UNIMPLEMENTED."""


@dataclass
class Harness:
    keys: Path
    auth: AuthConfig

    def metadata(self, user: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {auth.sign_token(self.keys, self.auth, user)}"),)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Harness:
    keys = auth.generate_keys(tmp_path_factory.mktemp("keys"))
    return Harness(keys, AuthConfig(jwks_path=keys / auth.JWKS_FILE))


async def _start_fake(servicer: Any) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server(options=SERVER_OPTIONS)
    categorizer_service_pb2_grpc.add_CategorizerServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


Stub = expense_service_pb2_grpc.ExpenseServiceStub


@pytest_asyncio.fixture(loop_scope="session")
async def expense_server(
    harness: Harness, expense_pool: Pool
) -> AsyncIterator[Callable[[str, float], Any]]:
    """``start(ml_target, deadline)`` → a stub of an in-process expense_svc using that ml."""
    started: list[tuple[GrpcServer, MlClient, grpc.aio.Channel]] = []

    async def start(ml_target: str, deadline: float = 2.0) -> Stub:
        ml = MlClient(ml_target, deadline_seconds=deadline)
        cfg = ServiceConfig(name="expense_svc", port=0, auth=harness.auth)
        expenses, budgets = ExpenseService(expense_pool, ml), BudgetService(expense_pool)
        server = GrpcServer(
            cfg,
            [
                ServiceDef(
                    "finance.expense.v1.ExpenseService",
                    lambda s: expense_service_pb2_grpc.add_ExpenseServiceServicer_to_server(
                        expenses, s
                    ),
                ),
                ServiceDef("finance.expense.v1.BudgetService", lambda s: None),
            ],
        )
        del budgets
        port = await server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        started.append((server, ml, channel))
        return Stub(channel)

    yield start
    for server, ml, channel in started:
        await channel.close()
        await ml.close()
        await server.stop(0)


async def _count(stub: Any, harness: Harness, user: str) -> int:
    resp = await stub.ListExpenses(
        expense_service_pb2.ListExpensesRequest(page_size=500), metadata=harness.metadata(user)
    )
    return len(resp.expenses)


async def test_quick_add_records_what_the_parser_found_and_replays_by_request_id(
    harness: Harness, expense_server: Any
) -> None:
    fake = FakeParser()  # type: ignore[abstract]
    ml_server, target = await _start_fake(fake)
    try:
        stub = await expense_server(target)
        user = f"quick-{uuid.uuid4().hex[:6]}"
        request = expense_service_pb2.QuickAddExpenseRequest(
            text="Latte at Starbucks £3.50 yesterday",
            request_id="quick-1",
            today=date_pb2.Date(year=2026, month=5, day=10),
        )
        metadata = harness.metadata(user)
        first = await stub.QuickAddExpense(request, metadata=metadata)
        again = await stub.QuickAddExpense(request, metadata=harness.metadata(user))
    finally:
        await ml_server.stop(0)
    assert first.amount == money_pb2.Money(currency_code="GBP", units=3, nanos=500_000_000)
    assert (first.merchant, first.description) == ("Starbucks", "Latte at Starbucks")
    assert (first.date.year, first.date.month, first.date.day) == (2026, 5, 9)
    assert first.origin == expense_pb2.EXPENSE_ORIGIN_QUICK_ADD
    assert first.enrichment_state == expense_pb2.ENRICHMENT_STATE_PENDING
    assert again == first
    # parsed once (the replay never reached the parser), with the caller's token forwarded
    assert len(fake.calls) == 1
    assert fake.calls[0][1] == dict(metadata)["authorization"]
    assert await _count(stub, harness, user) == 1


async def test_text_without_an_amount_is_400_and_stores_nothing(
    harness: Harness, expense_server: Any
) -> None:
    ml_server, target = await _start_fake(FakeParser())  # type: ignore[abstract]
    try:
        stub = await expense_server(target)
        user = f"noamount-{uuid.uuid4().hex[:6]}"
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.QuickAddExpense(
                expense_service_pb2.QuickAddExpenseRequest(text="coffee with Sam"),
                metadata=harness.metadata(user),
            )
        with pytest.raises(grpc.aio.AioRpcError) as empty:
            await stub.QuickAddExpense(
                expense_service_pb2.QuickAddExpenseRequest(text="   "),
                metadata=harness.metadata(user),
            )
        assert await _count(stub, harness, user) == 0
    finally:
        await ml_server.stop(0)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "amount" in (info.value.details() or "")
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("mode", ["nothing listening", "too slow", "not implemented"])
async def test_parser_down_slow_or_missing_is_503_and_stores_nothing(
    harness: Harness, expense_server: Any, mode: str
) -> None:
    ml_server = None
    if mode == "nothing listening":
        target = f"127.0.0.1:{free_port()}"
    elif mode == "too slow":
        ml_server, target = await _start_fake(FakeParser(delay_seconds=3))  # type: ignore[abstract]
    else:
        ml_server, target = await _start_fake(Unimplemented())  # type: ignore[abstract]
    try:
        stub = await expense_server(target, 0.5)
        user = f"down-{uuid.uuid4().hex[:6]}"
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.QuickAddExpense(
                expense_service_pb2.QuickAddExpenseRequest(text="Latte at Starbucks £3.50"),
                metadata=harness.metadata(user),
            )
        assert await _count(stub, harness, user) == 0
    finally:
        if ml_server is not None:
            await ml_server.stop(0)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "ml_svc" in (info.value.details() or "")
    assert "nothing was stored" in (info.value.details() or "")


async def test_quick_add_through_envoy_uses_the_real_ml_svc(mesh: Mesh) -> None:
    """With ml_svc's ParseExpense in place the expense is recorded with the parsed amount; while
    ml_svc cannot parse (not implemented yet), the answer is a clear 503 and nothing is
    stored."""
    user = f"meshquick-{uuid.uuid4().hex[:6]}"
    text = "Latte at Starbucks £3.50 yesterday"
    async with mesh.channel("ml_svc") as channel:
        try:
            parsed: (
                categorizer_service_pb2.ParseExpenseResponse | None
            ) = await categorizer_service_pb2_grpc.CategorizerServiceStub(channel).ParseExpense(
                categorizer_service_pb2.ParseExpenseRequest(text=text, locale="en_GB"),
                metadata=mesh.metadata(user),
            )
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.UNIMPLEMENTED, exc
            parsed = None
    async with httpx.AsyncClient(base_url=mesh.envoy_url, timeout=30) as client:
        resp = await client.post(
            "/v1/expenses:quickAdd",
            json={"text": text, "locale": "en_GB"},
            headers=mesh.headers(user),
        )
        listed = await client.get("/v1/expenses", headers=mesh.headers(user))
    if parsed is None:
        assert resp.status_code == 503, resp.text
        assert "ml_svc" in resp.json()["message"]
        assert listed.json()["expenses"] == []
    else:
        assert resp.status_code == 200, resp.text
        assert resp.json()["amount"] == money("3.50")
        assert resp.json()["origin"] == "EXPENSE_ORIGIN_QUICK_ADD"
        assert [e["id"] for e in listed.json()["expenses"]] == [resp.json()["id"]]
