"""ExpenseService through Envoy's JSON edge (and direct gRPC where it matters): create, get,
list, update, delete; bad input; other users' data; the outbox rows each change writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import grpc
import httpx
import pytest
from google.type import money_pb2

from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2, expense_service_pb2, expense_service_pb2_grpc
from tests.expense.conftest import fetch_all, money, reason, violations
from tests.plugins.mesh import Mesh


def _user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def mesh_db(mesh: Mesh, postgres_server: Any) -> str:
    return str(postgres_server.url_for("mesh"))


#: Fields the asynchronous enrichment (ml_svc over Kafka) may change at any moment.
ENRICHED_FIELDS = {
    "merchant",
    "category",
    "categorySource",
    "categoryConfidence",
    "categoryExplanation",
    "modelVersion",
    "enrichmentState",
    "etag",
    "updateTime",
}


def stable(expense: dict[str, Any]) -> dict[str, Any]:
    """An expense without the fields enrichment may change behind the test's back."""
    return {k: v for k, v in expense.items() if k not in ENRICHED_FIELDS}


async def settled(client: httpx.AsyncClient, mesh: Mesh, user: str, expense_id: str) -> Any:
    """The expense once enrichment has answered (up to 15 s; as it is if it never does), so an
    etag test is not raced by the enrichment consumer."""
    for _ in range(150):
        resp = await client.get(f"/v1/expenses/{expense_id}", headers=mesh.headers(user))
        body = resp.json()
        if body["enrichmentState"] != "ENRICHMENT_STATE_PENDING":
            return body
        await asyncio.sleep(0.1)
    return body


async def _create(client: httpx.AsyncClient, mesh: Mesh, user: str, **fields: Any) -> Any:
    body = {"amount": money("12.50"), "description": "Coffee and cake", **fields}
    resp = await client.post("/v1/expenses", json=body, headers=mesh.headers(user))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _count(client: httpx.AsyncClient, mesh: Mesh, user: str) -> int:
    resp = await client.get("/v1/expenses", params={"pageSize": 500}, headers=mesh.headers(user))
    assert resp.status_code == 200, resp.text
    return len(resp.json()["expenses"])


async def test_created_expense_is_stored_exactly_and_read_back(mesh: Mesh, mesh_db: str) -> None:
    user = _user("create")
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        created = await _create(
            client,
            mesh,
            user,
            amount={"currencyCode": "GBP", "units": "1234567", "nanos": 999999999},
            merchant="Pret",
            date={"year": 2026, "month": 3, "day": 14},
        )
        got = await client.get(f"/v1/expenses/{created['id']}", headers=mesh.headers(user))
    assert got.status_code == 200, got.text
    assert stable(got.json()) == stable(created)
    assert created["amount"] == {"currencyCode": "GBP", "units": "1234567", "nanos": 999999999}
    assert created["direction"] == "DIRECTION_DEBIT"
    assert created["enrichmentState"] == "ENRICHMENT_STATE_PENDING"
    assert created["origin"] == "EXPENSE_ORIGIN_MANUAL"
    assert created["categorySource"] == "CATEGORY_SOURCE_UNSPECIFIED"
    assert created["date"] == {"year": 2026, "month": 3, "day": 14}
    assert created["etag"]
    rows = await fetch_all(
        mesh_db,
        "SELECT amount::text, currency, user_id FROM expenses WHERE id = %s",
        (created["id"],),
    )
    assert rows == [("1234567.999999999", "GBP", user)]
    # The ExpenseRecorded event was committed with it, keyed by the user (the enrichment,
    # back within milliseconds, may have added an ExpenseChanged after it).
    events = await fetch_all(
        mesh_db,
        "SELECT key, event_type, payload FROM outbox WHERE topic = 'expenses.raw' AND key = %s"
        " ORDER BY id",
        (user,),
    )
    assert events[0][1] == "finance.events.v1.ExpenseRecorded"
    assert [e[1] for e in events].count("finance.events.v1.ExpenseRecorded") == 1
    recorded = events_pb2.ExpenseRecorded.FromString(bytes(events[0][2]))
    assert recorded.expense.id == created["id"] and recorded.user_id == user
    uuid.UUID(recorded.event_id)


async def test_date_defaults_to_today_and_output_only_fields_are_ignored(mesh: Mesh) -> None:
    user = _user("defaults")
    before = dt.datetime.now(dt.UTC).date()
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        created = await _create(
            client,
            mesh,
            user,
            id="00000000-0000-0000-0000-000000000001",
            enrichmentState="ENRICHMENT_STATE_ENRICHED",
            categorySource="CATEGORY_SOURCE_MODEL",
            modelVersion="forged",
            origin="EXPENSE_ORIGIN_IMPORT",
            createTime="2001-01-01T00:00:00Z",
        )
    after = dt.datetime.now(dt.UTC).date()
    assert created["id"] != "00000000-0000-0000-0000-000000000001"
    assert created["enrichmentState"] == "ENRICHMENT_STATE_PENDING"
    assert created["categorySource"] == "CATEGORY_SOURCE_UNSPECIFIED"
    assert created["modelVersion"] == ""
    assert created["origin"] == "EXPENSE_ORIGIN_MANUAL"
    assert not created["createTime"].startswith("2001")
    day = dt.date(created["date"]["year"], created["date"]["month"], created["date"]["day"])
    assert day in (before, after)


BAD_EXPENSES = [
    ("zero amount", {"amount": money("0")}, "expense.amount.units"),
    ("negative units", {"amount": {"currencyCode": "GBP", "units": "-5"}}, "expense.amount.units"),
    (
        "negative nanos",
        {"amount": {"currencyCode": "GBP", "units": "0", "nanos": -5}},
        "expense.amount.nanos",
    ),
    (
        "nanos out of range",
        {"amount": {"currencyCode": "GBP", "units": "1", "nanos": 1000000000}},
        "expense.amount.nanos",
    ),
    ("two-letter currency", {"amount": money("5", "XX")}, "expense.amount.currency_code"),
    ("unknown currency", {"amount": money("5", "ABC")}, "expense.amount.currency_code"),
    ("lower-case currency", {"amount": money("5", "gbp")}, "expense.amount.currency_code"),
    ("no amount", {"amount": None}, "expense.amount"),
    ("empty description", {"description": "   "}, "expense.description"),
    ("long description", {"description": "x" * 1001}, "expense.description"),
    ("impossible date", {"date": {"year": 2026, "month": 2, "day": 30}}, "expense.date"),
    ("partial date", {"date": {"year": 2026, "month": 2}}, "expense.date"),
    ("unknown category", {"category": "yachts"}, "expense.category"),
    ("malformed category", {"category": "Not A Category"}, "expense.category"),
    ("huge amount", {"amount": money("100000000000")}, "expense.amount.units"),
]


@pytest.mark.parametrize(
    ("case", "change", "field"), BAD_EXPENSES, ids=[c[0] for c in BAD_EXPENSES]
)
async def test_bad_expense_is_400_naming_the_field_and_writes_nothing(
    mesh: Mesh, mesh_db: str, case: str, change: dict[str, Any], field: str
) -> None:
    user = _user("bad")
    body: dict[str, Any] = {"amount": money("12.50"), "description": "Lunch", **change}
    body = {k: v for k, v in body.items() if v is not None}
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        resp = await client.post("/v1/expenses", json=body, headers=mesh.headers(user))
        assert resp.status_code == 400, resp.text
        assert field in violations(resp.json()), resp.json()
        assert await _count(client, mesh, user) == 0
    outbox = await fetch_all(mesh_db, "SELECT 1 FROM outbox WHERE key = %s", (user,))
    assert outbox == []


async def test_ten_megabyte_description_is_refused_without_a_500(mesh: Mesh) -> None:
    user = _user("huge")
    body = {"amount": money("1"), "description": "y" * (10 * 1024 * 1024)}
    async with httpx.AsyncClient(base_url=mesh.envoy_url, timeout=60) as client:
        resp = await client.post("/v1/expenses", json=body, headers=mesh.headers(user))
        assert resp.status_code in (400, 413), resp.text[:500]
        if resp.status_code == 400:
            assert "expense.description" in violations(resp.json())
        assert await _count(client, mesh, user) == 0
    # Direct gRPC too: the service itself refuses it as bad input.
    async with mesh.channel("expense_svc") as channel:
        stub = expense_service_pb2_grpc.ExpenseServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateExpense(
                expense_service_pb2.CreateExpenseRequest(
                    expense=expense_pb2.Expense(
                        amount=money_pb2.Money(currency_code="GBP", units=1),
                        description="y" * (10 * 1024 * 1024),
                    )
                ),
                metadata=mesh.metadata(user),
            )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_list_is_newest_first_paginated_and_filtered(mesh: Mesh) -> None:
    user = _user("list")
    specs = [
        ("2026-04-30", "Tesco groceries", "groceries"),
        ("2026-05-01", "Pret lunch", "dining"),
        ("2026-05-01", "TESCO express", "groceries"),
        ("2026-05-03", "Uber ride", "transport"),
        ("2026-05-20", "tesco.com order", "shopping"),
        ("2026-05-31", "Cinema 50%_off", "entertainment"),
        ("2026-06-01", "Rent June", "housing"),
    ]
    ids: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        for day, desc, category in specs:
            y, m, d = (int(p) for p in day.split("-"))
            extra: dict[str, Any] = {"date": {"year": y, "month": m, "day": d}, "description": desc}
            if category:
                extra["category"] = category
            ids[desc] = (await _create(client, mesh, user, **extra))["id"]
        await _create(client, mesh, _user("someone-else"), description="Tesco too")

        async def all_pages(**params: Any) -> list[str]:
            out: list[str] = []
            token = ""
            while True:
                resp = await client.get(
                    "/v1/expenses",
                    params={**params, "pageToken": token} if token else params,
                    headers=mesh.headers(user),
                )
                assert resp.status_code == 200, resp.text
                body = resp.json()
                assert len(body["expenses"]) <= params.get("pageSize", 50)
                out += [e["description"] for e in body["expenses"]]
                token = body["nextPageToken"]
                if not token:
                    return out

        everything = await all_pages(pageSize=3)
        assert everything == [
            "Rent June",
            "Cinema 50%_off",
            "tesco.com order",
            "Uber ride",
            "TESCO express",  # same date as Pret lunch, created later
            "Pret lunch",
            "Tesco groceries",
        ]
        assert await all_pages(month="2026-05", pageSize=2) == everything[1:6]
        assert await all_pages(query="tesco") == [
            "tesco.com order",
            "TESCO express",
            "Tesco groceries",
        ]
        assert await all_pages(query="50%_") == ["Cinema 50%_off"]
        assert await all_pages(query="%") == ["Cinema 50%_off"]
        assert await all_pages(category="groceries", month="2026-05") == ["TESCO express"]

        first = await client.get("/v1/expenses", params={"pageSize": 2}, headers=mesh.headers(user))
        token = first.json()["nextPageToken"]
        other_filter = await client.get(
            "/v1/expenses",
            params={"pageSize": 2, "pageToken": token, "month": "2026-05"},
            headers=mesh.headers(user),
        )
        assert other_filter.status_code == 400
        assert "page_token" in violations(other_filter.json())
        garbage = await client.get(
            "/v1/expenses", params={"pageToken": "not-a-token"}, headers=mesh.headers(user)
        )
        assert garbage.status_code == 400
        assert "page_token" in violations(garbage.json())


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pageSize": -1}, "page_size"),
        ({"month": "2026-13"}, "month"),
        ({"month": "May"}, "month"),
        ({"category": "NOT VALID"}, "category"),
        ({"query": "q" * 201}, "query"),
    ],
)
async def test_bad_list_parameters_are_400(mesh: Mesh, params: dict[str, Any], field: str) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        resp = await client.get("/v1/expenses", params=params, headers=mesh.headers("lister"))
    assert resp.status_code == 400, resp.text
    assert field in violations(resp.json())


async def test_page_size_zero_means_fifty_and_large_means_500(mesh: Mesh) -> None:
    user = _user("pagesize")
    async with mesh.channel("expense_svc") as channel:
        stub = expense_service_pb2_grpc.ExpenseServiceStub(channel)
        for i in range(51):
            await stub.CreateExpense(
                expense_service_pb2.CreateExpenseRequest(
                    expense=expense_pb2.Expense(
                        amount=money_pb2.Money(currency_code="EUR", units=i + 1),
                        description=f"item {i}",
                    )
                ),
                metadata=mesh.metadata(user),
            )
        default = await stub.ListExpenses(
            expense_service_pb2.ListExpensesRequest(), metadata=mesh.metadata(user)
        )
        big = await stub.ListExpenses(
            expense_service_pb2.ListExpensesRequest(page_size=100_000),
            metadata=mesh.metadata(user),
        )
    assert len(default.expenses) == 50 and default.next_page_token
    assert len(big.expenses) == 51 and not big.next_page_token


async def test_setting_the_category_makes_it_the_users_and_emits_a_correction(
    mesh: Mesh, mesh_db: str
) -> None:
    user = _user("correct")
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        created = await _create(client, mesh, user, description="PRET A MANGER 123")
        resp = await client.patch(
            f"/v1/expenses/{created['id']}",
            params={"updateMask": "category"},
            json={"category": "dining"},
            headers=mesh.headers(user),
        )
        assert resp.status_code == 200, resp.text
        updated = resp.json()
    assert updated["category"] == "dining"
    assert updated["categorySource"] == "CATEGORY_SOURCE_USER"
    assert updated["categoryConfidence"] == 1
    assert updated["enrichmentState"] == "ENRICHMENT_STATE_ENRICHED"
    assert updated["etag"] != created["etag"]
    assert updated["description"] == created["description"]
    assert updated["amount"] == created["amount"]
    rows = await fetch_all(
        mesh_db,
        "SELECT topic, event_type, payload FROM outbox WHERE key = %s ORDER BY id",
        (user,),
    )
    # (the enrichment consumer may add its own ExpenseChanged rows around these)
    changes = [
        events_pb2.ExpenseChanged.FromString(bytes(r[2]))
        for r in rows
        if r[1] == "finance.events.v1.ExpenseChanged"
    ]
    by_user = [c for c in changes if c.expense.category_source == 2 and c.expense.category]
    assert by_user
    paths = set(by_user[0].changed_fields.paths)
    assert by_user[0].previous_expense.category_source != 2
    assert "category_source" in paths
    # The category itself changed unless the model had already filed it under dining.
    assert ("category" in paths) == (by_user[0].previous_expense.category != "dining"), paths
    feedback = [r for r in rows if r[0] == "expenses.feedback"]
    assert [r[1] for r in feedback] == ["finance.events.v1.CategoryCorrected"]
    corrected = events_pb2.CategoryCorrected.FromString(bytes(feedback[0][2]))
    assert corrected.expense_id == created["id"]
    assert corrected.new_category == "dining"
    assert corrected.old_category == by_user[0].previous_expense.category
    assert corrected.description == "PRET A MANGER 123"


async def test_update_with_mask_changes_only_the_named_fields(mesh: Mesh) -> None:
    user = _user("mask")
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        created = await _create(client, mesh, user, merchant="Old", category="dining")
        resp = await client.patch(
            f"/v1/expenses/{created['id']}",
            params={"updateMask": "merchant,amount"},
            json={"merchant": "New", "amount": money("3.20", "EUR"), "description": "ignored"},
            headers=mesh.headers(user),
        )
        assert resp.status_code == 200, resp.text
        bad_mask = await client.patch(
            f"/v1/expenses/{created['id']}",
            params={"updateMask": "enrichmentState"},
            json={"enrichmentState": "ENRICHMENT_STATE_FAILED"},
            headers=mesh.headers(user),
        )
        bad_amount = await client.patch(
            f"/v1/expenses/{created['id']}",
            params={"updateMask": "amount"},
            json={"amount": money("-1")},
            headers=mesh.headers(user),
        )
        after = (
            await client.get(f"/v1/expenses/{created['id']}", headers=mesh.headers(user))
        ).json()
    body = resp.json()
    assert body["merchant"] == "New"
    assert body["amount"] == money("3.20", "EUR")
    assert body["description"] == created["description"]
    assert body["category"] == "dining"
    assert bad_mask.status_code == 400 and "update_mask" in violations(bad_mask.json())
    assert bad_amount.status_code == 400
    assert "expense.amount.units" in violations(bad_amount.json())
    assert stable(after) == stable(body)


async def test_stale_etag_is_409_and_changes_nothing(mesh: Mesh, mesh_db: str) -> None:
    user = _user("etag")
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        # The user's own category: once enrichment has answered nothing else changes it.
        created = await _create(client, mesh, user, category="dining")
        created = await settled(client, mesh, user, created["id"])
        first = await client.patch(
            f"/v1/expenses/{created['id']}",
            params={"updateMask": "description"},
            json={"description": "first edit", "etag": created["etag"]},
            headers=mesh.headers(user),
        )
        assert first.status_code == 200, first.text
        stale = await client.patch(
            f"/v1/expenses/{created['id']}",
            params={"updateMask": "description"},
            json={"description": "second edit", "etag": created["etag"]},
            headers=mesh.headers(user),
        )
        stale_delete = await client.delete(
            f"/v1/expenses/{created['id']}",
            params={"etag": created["etag"]},
            headers=mesh.headers(user),
        )
        now = await client.get(f"/v1/expenses/{created['id']}", headers=mesh.headers(user))
        assert stale.status_code == 409, stale.text
        assert stale_delete.status_code == 409, stale_delete.text
        assert reason(stale.json()) == "STALE_ETAG"
        assert now.json()["description"] == "first edit"
        assert stable(now.json()) == stable(first.json())
        rows = await fetch_all(
            mesh_db,
            "SELECT payload FROM outbox WHERE key = %s AND event_type = %s",
            (user, "finance.events.v1.ExpenseChanged"),
        )
        descriptions = {
            events_pb2.ExpenseChanged.FromString(bytes(r[0])).expense.description for r in rows
        }
        assert "second edit" not in descriptions and "first edit" in descriptions
        deleted = await client.delete(
            f"/v1/expenses/{created['id']}",
            params={"etag": now.json()["etag"]},
            headers=mesh.headers(user),
        )
        assert deleted.status_code == 200, deleted.text
        gone = await client.get(f"/v1/expenses/{created['id']}", headers=mesh.headers(user))
        assert gone.status_code == 404
    rows = await fetch_all(
        mesh_db, "SELECT event_type FROM outbox WHERE key = %s ORDER BY id DESC LIMIT 1", (user,)
    )
    assert rows == [("finance.events.v1.ExpenseDeleted",)]


async def test_another_users_expense_is_404_for_every_rpc_and_never_listed(mesh: Mesh) -> None:
    owner, intruder = _user("owner"), _user("intruder")
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        created = await _create(client, mesh, owner, category="dining")
        path = f"/v1/expenses/{created['id']}"
        get = await client.get(path, headers=mesh.headers(intruder))
        patch = await client.patch(
            path,
            params={"updateMask": "description"},
            json={"description": "mine now", "etag": created["etag"]},
            headers=mesh.headers(intruder),
        )
        delete = await client.delete(path, headers=mesh.headers(intruder))
        listed = await client.get("/v1/expenses", headers=mesh.headers(intruder))
        unknown = await client.get(f"/v1/expenses/{uuid.uuid4()}", headers=mesh.headers(owner))
        malformed = await client.get("/v1/expenses/not-a-uuid", headers=mesh.headers(owner))
        still = await client.get(path, headers=mesh.headers(owner))
    assert [get.status_code, patch.status_code, delete.status_code] == [404, 404, 404]
    assert unknown.status_code == 404 and malformed.status_code == 404
    assert listed.json()["expenses"] == []
    assert stable(still.json()) == stable(created)
    assert still.json()["category"] == "dining"


async def test_idempotency_key_and_request_id_must_agree(mesh: Mesh) -> None:
    user = _user("agree")
    body = {"amount": money("2"), "description": "Tea"}
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        resp = await client.post(
            "/v1/expenses",
            params={"requestId": "key-a"},
            json=body,
            headers={**mesh.headers(user), "Idempotency-Key": "key-b"},
        )
        assert resp.status_code == 400, resp.text
        assert "request_id" in violations(resp.json())
        too_long = await client.post(
            "/v1/expenses", params={"requestId": "k" * 129}, json=body, headers=mesh.headers(user)
        )
        assert too_long.status_code == 400
        assert await _count(client, mesh, user) == 0


async def test_list_categories_pages_and_rejects_negative_page_size(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        first = await client.get(
            "/v1/categories", params={"pageSize": 10}, headers=mesh.headers("cats")
        )
        rest = await client.get(
            "/v1/categories",
            params={"pageSize": 10, "pageToken": first.json()["nextPageToken"]},
            headers=mesh.headers("cats"),
        )
        negative = await client.get(
            "/v1/categories", params={"pageSize": -3}, headers=mesh.headers("cats")
        )
    ids = [c["id"] for c in first.json()["categories"] + rest.json()["categories"]]
    assert len(ids) == 18 and ids[0] == "groceries" and ids[-1] == "other"
    assert rest.json()["nextPageToken"] == ""
    assert negative.status_code == 400 and "page_size" in violations(negative.json())


async def test_full_replacement_update_keeps_what_the_client_left_unset(mesh: Mesh) -> None:
    user = _user("replace")
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        created = await _create(
            client, mesh, user, category="travel", date={"year": 2026, "month": 1, "day": 2}
        )
        resp = await client.patch(
            f"/v1/expenses/{created['id']}",
            params={"updateMask": "*"},
            json={"description": "Train to Leeds", "direction": "DIRECTION_CREDIT"},
            headers=mesh.headers(user),
        )
        cleared = await client.patch(
            f"/v1/expenses/{created['id']}",
            params={"updateMask": "category"},
            json={"category": ""},
            headers=mesh.headers(user),
        )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["description"] == "Train to Leeds"
    assert body["direction"] == "DIRECTION_CREDIT"
    assert body["amount"] == created["amount"]  # unset: kept
    assert body["date"] == created["date"]  # unset: kept
    assert body["category"] == "travel"  # empty: kept
    assert cleared.status_code == 400 and "expense.category" in violations(cleared.json())


async def test_unknown_enum_value_over_grpc_is_400(mesh: Mesh) -> None:
    user = _user("enum")
    async with mesh.channel("expense_svc") as channel:
        stub = expense_service_pb2_grpc.ExpenseServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateExpense(
                expense_service_pb2.CreateExpenseRequest(
                    expense=expense_pb2.Expense(
                        amount=money_pb2.Money(currency_code="GBP", units=1),
                        description="odd",
                        direction=7,  # type: ignore[arg-type]
                    )
                ),
                metadata=mesh.metadata(user),
            )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "expense.direction" in (info.value.details() or "")
