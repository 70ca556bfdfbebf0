"""Idempotent creation (AIP-155) through Envoy and direct gRPC: replay, reuse with another
payload, per-user scope, and many concurrent requests with one key."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import httpx
import pytest
from google.type import money_pb2

from finance.expense.v1 import expense_pb2, expense_service_pb2, expense_service_pb2_grpc
from tests.expense.conftest import fetch_all, money, reason, violations
from tests.plugins.mesh import Mesh


def _user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def mesh_db(mesh: Mesh, postgres_server: Any) -> str:
    return str(postgres_server.url_for("mesh"))


async def _rows(mesh_db: str, user: str) -> int:
    rows = await fetch_all(mesh_db, "SELECT count(*) FROM expenses WHERE user_id = %s", (user,))
    return int(rows[0][0])


BODY = {"amount": money("7.25"), "description": "Sandwich", "category": "dining"}


async def test_replay_with_the_header_returns_the_original_response_byte_for_byte(
    mesh: Mesh, mesh_db: str
) -> None:
    user = _user("replay")
    headers = {**mesh.headers(user), "Idempotency-Key": str(uuid.uuid4())}
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        first = await client.post("/v1/expenses", json=BODY, headers=headers)
        # Change the stored expense: a replay still answers what the create answered.
        await client.patch(
            f"/v1/expenses/{first.json()['id']}",
            params={"updateMask": "merchant"},
            json={"merchant": "Pret"},
            headers=mesh.headers(user),
        )
        second = await client.post("/v1/expenses", json=BODY, headers=headers)
    assert first.status_code == 200 == second.status_code, second.text
    assert second.content == first.content
    assert await _rows(mesh_db, user) == 1
    recorded = await fetch_all(
        mesh_db,
        "SELECT count(*) FROM outbox WHERE key = %s AND event_type LIKE %s",
        (user, "%ExpenseRecorded"),
    )
    assert recorded == [(1,)]


async def test_request_id_query_parameter_and_direct_grpc_replay(mesh: Mesh, mesh_db: str) -> None:
    user = _user("reqid")
    key = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        http = await client.post(
            "/v1/expenses", params={"requestId": key}, json=BODY, headers=mesh.headers(user)
        )
        both = await client.post(
            "/v1/expenses",
            params={"requestId": key},
            json=BODY,
            headers={**mesh.headers(user), "Idempotency-Key": key},
        )
    assert http.status_code == 200 == both.status_code
    assert both.content == http.content
    async with mesh.channel("expense_svc") as channel:
        stub = expense_service_pb2_grpc.ExpenseServiceStub(channel)
        grpc_replay = await stub.CreateExpense(
            expense_service_pb2.CreateExpenseRequest(
                expense=expense_pb2.Expense(
                    amount=money_pb2.Money(currency_code="GBP", units=7, nanos=250_000_000),
                    description="Sandwich",
                    category="dining",
                    direction=expense_pb2.DIRECTION_DEBIT,
                ),
                request_id=key,
            ),
            metadata=mesh.metadata(user),
        )
    assert grpc_replay.id == http.json()["id"]
    assert await _rows(mesh_db, user) == 1


async def test_same_key_with_another_payload_is_400_and_writes_nothing(
    mesh: Mesh, mesh_db: str
) -> None:
    user = _user("reuse")
    headers = {**mesh.headers(user), "Idempotency-Key": "k-1"}
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        first = await client.post("/v1/expenses", json=BODY, headers=headers)
        assert first.status_code == 200
        other = await client.post(
            "/v1/expenses", json={**BODY, "amount": money("7.26")}, headers=headers
        )
        quick = await client.post(
            "/v1/expenses:quickAdd", json={"text": "tea 2.50"}, headers=headers
        )
    assert other.status_code == 400, other.text
    assert reason(other.json()) == "IDEMPOTENCY_KEY_REUSED"
    assert "request_id" in violations(other.json())
    # Another method with the same key is a different request too.
    assert quick.status_code == 400, quick.text
    assert reason(quick.json()) == "IDEMPOTENCY_KEY_REUSED"
    assert await _rows(mesh_db, user) == 1
    events = await fetch_all(
        mesh_db,
        "SELECT count(*) FROM outbox WHERE key = %s AND event_type = %s",
        (user, "finance.events.v1.ExpenseRecorded"),
    )
    assert events == [(1,)]  # (an ExpenseChanged from the mesh's enrichment may follow)


async def test_keys_are_scoped_per_user(mesh: Mesh, mesh_db: str) -> None:
    alice, bob = _user("alice"), _user("bob")
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        a = await client.post(
            "/v1/expenses", json=BODY, headers={**mesh.headers(alice), "Idempotency-Key": "same"}
        )
        b = await client.post(
            "/v1/expenses",
            json={**BODY, "description": "Bob's lunch"},
            headers={**mesh.headers(bob), "Idempotency-Key": "same"},
        )
    assert a.status_code == 200 == b.status_code, b.text
    assert a.json()["id"] != b.json()["id"]
    assert b.json()["description"] == "Bob's lunch"
    assert await _rows(mesh_db, alice) == 1 == await _rows(mesh_db, bob)


async def test_fifty_concurrent_requests_with_one_key_create_one_expense(
    mesh: Mesh, mesh_db: str
) -> None:
    user = _user("herd")
    headers = {**mesh.headers(user), "Idempotency-Key": str(uuid.uuid4())}
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=mesh.envoy_url, limits=limits, timeout=60) as client:
        responses = await asyncio.gather(
            *(client.post("/v1/expenses", json=BODY, headers=headers) for _ in range(50))
        )
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {200, 409}, [
        r.text for r in responses if r.status_code not in (200, 409)
    ]
    ok = [r for r in responses if r.status_code == 200]
    assert ok, statuses
    assert len({r.json()["id"] for r in ok}) == 1
    assert len({r.content for r in ok}) == 1
    for r in responses:
        if r.status_code == 409:
            assert r.json()["code"] == grpc.StatusCode.ABORTED.value[0]
    assert await _rows(mesh_db, user) == 1
    # one ExpenseRecorded (the mesh's ml_svc may already have enriched it: an ExpenseChanged)
    recorded = await fetch_all(
        mesh_db,
        "SELECT count(*) FROM outbox WHERE key = %s AND event_type = %s",
        (user, "finance.events.v1.ExpenseRecorded"),
    )
    assert recorded == [(1,)]
