"""Object-level authorisation: user B tries every RPC on user A's data through Envoy JSON and
through the gateway, and only ever gets 404 or their own (empty) data, never A's.

A owns an expense, a budget with spend against it, an imported statement, insights derived from
them (summary, recurring, forecast, alerts) and a personal category memory in ml_svc. Every test
first checks that A *does* see the data (so a "not found" for B cannot be vacuous), then that B
does not, by status and by looking for A's ids and A's unique marker text in B's answers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.plugins.mesh import Mesh
from tests.security.helpers import EDGES, assert_json_error, client, user

MONTH = "2026-03"
BUDGET_URL = f"/v1/budgets/{MONTH}/groceries"


@dataclass
class Owner:
    name: str
    marker: str
    expense: dict[str, Any]
    imported_ids: list[str]
    budget: dict[str, Any]
    csv: bytes


def _csv(marker: str) -> bytes:
    lines = ["Date,Description,Amount"]
    for month in (1, 2, 3):
        lines.append(f"05/{month:02d}/2026,{marker} STREAMING SUBSCRIPTION,-12.99")
    lines.append(f"07/03/2026,{marker} GROCER,-40.00")
    return ("\n".join(lines) + "\n").encode()


async def _wait_for(predicate: Any, what: str, seconds: float = 150) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.5)
    pytest.fail(f"never happened: {what}")


@pytest.fixture(scope="module")
async def owner(mesh: Mesh) -> AsyncIterator[Owner]:
    name = user("authz-a")
    marker = f"ZQ{uuid.uuid4().hex[:6].upper()}"
    headers = mesh.headers(name)
    async with client(mesh, "envoy", timeout_seconds=120) as c:
        r = await c.post(
            "/v1/expenses",
            json={
                "amount": {"currencyCode": "GBP", "units": "61", "nanos": 250_000_000},
                "description": f"{marker} market groceries",
                "date": {"year": 2026, "month": 3, "day": 10},
                "category": "groceries",
            },
            headers=headers,
        )
        assert r.status_code == 200, r.text
        expense = r.json()
        r = await c.patch(
            BUDGET_URL,
            json={"limit": {"currencyCode": "GBP", "units": "80"}, "rollover": False},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        data = _csv(marker)
        r = await c.post(
            "/v1/expenses:import?filename=a.csv&format=STATEMENT_FORMAT_CSV&currencyCode=GBP",
            content=data,
            headers={**headers, "content-type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["importedCount"] == 4
        imported_ids = list(r.json()["expenseIds"])

        async def budget_spent() -> dict[str, Any] | None:
            got = await c.get(BUDGET_URL, headers=headers)
            assert got.status_code == 200, got.text
            body: dict[str, Any] = got.json()
            return body if body.get("spent", {}).get("units", "0") != "0" else None

        budget = await _wait_for(budget_spent, "A's budget has spend")

        async def summary_has_marker() -> bool:
            got = await c.get(f"/v1/insights/summary?month={MONTH}", headers=headers)
            return got.status_code == 200 and bool(got.json()["totals"])

        await _wait_for(summary_has_marker, "A's summary has totals")
    yield Owner(name, marker, expense, imported_ids, budget, data)


def _amounts(value: Any) -> Iterator[tuple[str, int]]:
    """Every google.type.Money (units, nanos) anywhere in a JSON value."""
    if isinstance(value, dict):
        if "currencyCode" in value and "units" in value:
            yield str(value["units"]), int(value.get("nanos", 0))
        for v in value.values():
            yield from _amounts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _amounts(v)


def _leaks(owner: Owner, resp: httpx.Response) -> list[str]:
    text = resp.text
    found = [x for x in [owner.expense["id"], *owner.imported_ids] if x in text]
    if owner.marker.lower() in text.lower():
        found.append(owner.marker)
    return found


@pytest.mark.parametrize("edge", EDGES)
async def test_another_users_expense_is_not_found_for_get_update_and_delete(
    mesh: Mesh, owner: Owner, edge: str
) -> None:
    stranger = mesh.headers(user("authz-b"))
    url = f"/v1/expenses/{owner.expense['id']}"
    async with client(mesh, edge) as c:
        mine = await c.get(url, headers=mesh.headers(owner.name))
        assert mine.status_code == 200 and mine.json()["id"] == owner.expense["id"]
        etag = mine.json()["etag"]
        attempts = [
            await c.get(url, headers=stranger),
            await c.patch(
                f"{url}?updateMask=description,category",
                json={"description": "hijacked", "category": "travel"},
                headers=stranger,
            ),
            await c.patch(
                f"{url}?updateMask=description",
                json={"description": "hijacked", "etag": etag},
                headers=stranger,
            ),
            await c.delete(url, headers=stranger),
            await c.delete(f"{url}?etag={etag}", headers=stranger),
        ]
        for imported in owner.imported_ids:
            attempts.append(await c.get(f"/v1/expenses/{imported}", headers=stranger))
            attempts.append(await c.delete(f"/v1/expenses/{imported}", headers=stranger))
        for r in attempts:
            assert_json_error(r, 404)
            # The 404 may echo the id the caller sent, nothing of the expense itself.
            assert owner.marker.lower() not in r.text.lower(), r.text
            assert '"61"' not in r.text and "groceries" not in r.text, r.text
        after = await c.get(url, headers=mesh.headers(owner.name))
    assert after.status_code == 200
    assert after.json()["description"] == owner.expense["description"]
    assert after.json()["category"] == "groceries"


@pytest.mark.parametrize("edge", EDGES)
async def test_lists_and_insights_of_another_user_never_contain_the_owners_data(
    mesh: Mesh, owner: Owner, edge: str
) -> None:
    stranger = mesh.headers(user("authz-b"))
    urls = [
        "/v1/expenses",
        f"/v1/expenses?month={MONTH}",
        f"/v1/expenses?query={owner.marker}",
        "/v1/expenses?category=groceries",
        "/v1/budgets",
        f"/v1/budgets?month={MONTH}",
        "/v1/categories",
        f"/v1/insights/summary?month={MONTH}",
        f"/v1/insights?month={MONTH}",
        "/v1/insights",
        "/v1/insights/recurring",
        f"/v1/insights/forecast?month={MONTH}",
    ]
    async with client(mesh, edge) as c:
        # A sees their data in the same places (so B's empty answers are meaningful).
        a_expenses = await c.get(
            f"/v1/expenses?query={owner.marker}", headers=mesh.headers(owner.name)
        )
        assert a_expenses.status_code == 200
        assert {e["id"] for e in a_expenses.json()["expenses"]} >= {owner.expense["id"]}
        a_summary = await c.get(
            f"/v1/insights/summary?month={MONTH}", headers=mesh.headers(owner.name)
        )
        assert a_summary.json()["totals"], a_summary.text
        for url in urls:
            r = await c.get(url, headers=stranger)
            assert r.status_code == 200, f"{url}: {r.status_code} {r.text}"
            assert not _leaks(owner, r), f"{url}: {r.text}"
            body = r.json()
            for key in ("expenses", "budgets", "insights", "recurring"):
                if key in body:
                    assert body[key] == [], f"{url}: {body}"
            if "summary" in url or "forecast" in url:
                # B has no data at all: every amount in B's summary and forecast is zero.
                amounts = list(_amounts(body))
                assert all(a == ("0", 0) for a in amounts), f"{url}: {body}"


@pytest.mark.parametrize("edge", EDGES)
async def test_another_users_budget_is_not_found_and_their_writes_touch_only_their_own(
    mesh: Mesh, owner: Owner, edge: str
) -> None:
    b = user("authz-b")
    stranger = mesh.headers(b)
    async with client(mesh, edge) as c:
        got = await c.get(BUDGET_URL, headers=stranger)
        assert_json_error(got, 404)
        deleted = await c.delete(f"{BUDGET_URL}?etag={owner.budget['etag']}", headers=stranger)
        assert_json_error(deleted, 404)
        # A's etag means nothing for B's (absent) budget: 404 or 409, never a write to A's.
        stale = await c.patch(
            BUDGET_URL,
            json={"limit": {"currencyCode": "GBP", "units": "1"}, "etag": owner.budget["etag"]},
            headers=stranger,
        )
        assert stale.status_code in (404, 409), stale.text
        # B's own budget for the same month and category is B's alone: no spend of A's.
        own = await c.patch(
            BUDGET_URL, json={"limit": {"currencyCode": "GBP", "units": "5"}}, headers=stranger
        )
        assert own.status_code == 200, own.text
        assert (
            own.json()["spent"]["units"] in ("0", None) and own.json()["spent"].get("nanos", 0) == 0
        )
        removed = await c.delete(BUDGET_URL, headers=stranger)
        assert removed.status_code == 200, removed.text
        a_budget = await c.get(BUDGET_URL, headers=mesh.headers(owner.name))
    assert a_budget.status_code == 200
    assert a_budget.json()["limit"]["units"] == "80"
    assert (
        a_budget.json()["spent"] == owner.budget["spent"]
        or a_budget.json()["spent"]["units"] != "0"
    )


@pytest.mark.parametrize("edge", EDGES)
async def test_importing_the_same_statement_as_another_user_is_not_deduplicated_against_theirs(
    mesh: Mesh, owner: Owner, edge: str
) -> None:
    b = user("authz-b")
    async with client(mesh, edge) as c:
        r = await c.post(
            "/v1/expenses:import?filename=a.csv&format=STATEMENT_FORMAT_CSV&currencyCode=GBP",
            content=owner.csv,
            headers={**mesh.headers(b), "content-type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["importedCount"] == 4 and body["duplicateCount"] == 0, body
        assert not set(body["expenseIds"]) & set(owner.imported_ids)
        # And the owner's own re-import is still fully deduplicated (the hashes are per user).
        again = await c.post(
            "/v1/expenses:import?filename=a.csv&format=STATEMENT_FORMAT_CSV&currencyCode=GBP",
            content=owner.csv,
            headers={**mesh.headers(owner.name), "content-type": "text/csv"},
        )
    assert again.status_code == 200, again.text
    assert again.json()["importedCount"] == 0 and again.json()["duplicateCount"] == 4


async def test_one_users_category_correction_does_not_change_another_users_predictions(
    mesh: Mesh,
) -> None:
    a, b = user("authz-mem-a"), user("authz-mem-b")
    merchant = f"QWV{uuid.uuid4().hex[:5].upper()} BAKERY"
    item = {
        "description": merchant,
        "amount": {"currencyCode": "GBP", "units": "4"},
        "direction": "DIRECTION_DEBIT",
    }
    async with client(mesh, "envoy", timeout_seconds=120) as c:
        created = await c.post(
            "/v1/expenses",
            json={
                "amount": {"currencyCode": "GBP", "units": "4"},
                "description": merchant,
                "date": {"year": 2026, "month": 3, "day": 3},
            },
            headers=mesh.headers(a),
        )
        assert created.status_code == 200, created.text
        fixed = await c.patch(
            f"/v1/expenses/{created.json()['id']}?updateMask=category",
            json={"category": "gifts_donations"},
            headers=mesh.headers(a),
        )
        assert fixed.status_code == 200, fixed.text

        async def a_remembers() -> dict[str, Any] | None:
            r = await c.post("/v1/ml:classify", json={"items": [item]}, headers=mesh.headers(a))
            assert r.status_code == 200, r.text
            result: dict[str, Any] = r.json()["results"][0]
            return result if result["source"] == "CLASSIFICATION_SOURCE_MEMORY" else None

        remembered = await _wait_for(a_remembers, "ml_svc learned A's correction", 120)
        assert remembered["category"] == "gifts_donations"
    for edge in EDGES:
        async with client(mesh, edge) as c:
            r = await c.post("/v1/ml:classify", json={"items": [item]}, headers=mesh.headers(b))
        assert r.status_code == 200, r.text
        result = r.json()["results"][0]
        assert result["source"] != "CLASSIFICATION_SOURCE_MEMORY", result
        assert result["category"] != "gifts_donations", result


async def _collect_stream(
    c: httpx.AsyncClient, headers: dict[str, str], ready: asyncio.Event, out: list[str]
) -> None:
    async with c.stream("GET", "/v1/insights:watch", headers=headers) as resp:
        assert resp.status_code == 200
        async for chunk in resp.aiter_text():
            out.append(chunk)
            if "heartbeat" in chunk:
                ready.set()


@pytest.mark.parametrize("edge", EDGES)
async def test_another_users_watch_stream_never_carries_the_owners_events(
    mesh: Mesh, edge: str
) -> None:
    a, b = user("authz-watch-a"), user("authz-watch-b")
    marker = f"WX{uuid.uuid4().hex[:6].upper()}"
    a_out: list[str] = []
    b_out: list[str] = []
    ready_a, ready_b = asyncio.Event(), asyncio.Event()
    async with client(mesh, edge, timeout_seconds=120) as c:
        tasks = [
            asyncio.create_task(_collect_stream(c, mesh.headers(a), ready_a, a_out)),
            asyncio.create_task(_collect_stream(c, mesh.headers(b), ready_b, b_out)),
        ]
        try:
            await asyncio.wait_for(asyncio.gather(ready_a.wait(), ready_b.wait()), 30)
            created = await c.post(
                "/v1/expenses",
                json={
                    "amount": {"currencyCode": "GBP", "units": "9"},
                    "description": f"{marker} cafe",
                    "date": {"year": 2026, "month": 3, "day": 4},
                },
                headers=mesh.headers(a),
            )
            assert created.status_code == 200, created.text
            expense_id = created.json()["id"]
            fixed = await c.patch(
                f"/v1/expenses/{expense_id}?updateMask=category",
                json={"category": "travel"},
                headers=mesh.headers(a),
            )
            assert fixed.status_code == 200, fixed.text
            deadline = asyncio.get_running_loop().time() + 60
            while expense_id not in "".join(a_out):
                assert asyncio.get_running_loop().time() < deadline, "A never saw their event"
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # B's stream had the same time to (wrongly) carry it
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    b_text = "".join(b_out)
    assert "heartbeat" in b_text
    assert expense_id not in b_text and marker not in b_text, b_text[:1000]
