"""BudgetService through Envoy's JSON edge: spent follows every expense change, rollover,
threshold alerts exactly once, etags, bad input and other users' budgets."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from finance.events.v1 import events_pb2
from tests.expense.conftest import fetch_all, money, reason, violations
from tests.plugins.mesh import Mesh


def _user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def mesh_db(mesh: Mesh, postgres_server: Any) -> str:
    return str(postgres_server.url_for("mesh"))


def _date(day: str) -> dict[str, int]:
    y, m, d = (int(p) for p in day.split("-"))
    return {"year": y, "month": m, "day": d}


class Api:
    def __init__(self, client: httpx.AsyncClient, mesh: Mesh, user: str) -> None:
        self.client, self.mesh, self.user = client, mesh, user

    async def expense(
        self, amount: str, day: str, category: str | None = "dining", **kw: Any
    ) -> Any:
        body: dict[str, Any] = {
            "amount": money(amount, kw.pop("currency", "GBP")),
            "description": "x",
            "date": _date(day),
            **kw,
        }
        if category:
            body["category"] = category
        resp = await self.client.post(
            "/v1/expenses", json=body, headers=self.mesh.headers(self.user)
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def set_budget(
        self, month: str, category: str, body: dict[str, Any], **params: Any
    ) -> httpx.Response:
        return await self.client.patch(
            f"/v1/budgets/{month}/{category}",
            json=body,
            params=params,
            headers=self.mesh.headers(self.user),
        )

    async def budget(self, month: str, category: str) -> Any:
        resp = await self.client.get(
            f"/v1/budgets/{month}/{category}", headers=self.mesh.headers(self.user)
        )
        assert resp.status_code == 200, resp.text
        return resp.json()


async def test_spent_counts_exactly_the_debits_of_the_category_month_and_currency(
    mesh: Mesh,
) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        api = Api(client, mesh, _user("spent"))
        await api.expense("10.10", "2026-05-01")
        await api.expense("0.000000001", "2026-05-31")
        await api.expense("99", "2026-05-02", direction="DIRECTION_CREDIT")  # refund: not counted
        await api.expense("50", "2026-05-03", currency="EUR")  # other currency: not counted
        await api.expense("70", "2026-04-30")  # other month
        await api.expense("80", "2026-06-01")  # other month
        await api.expense("90", "2026-05-04", category="groceries")
        resp = await api.set_budget("2026-05", "dining", {"limit": money("40")})
        assert resp.status_code == 200, resp.text
        created = resp.json()
        assert created["spent"] == money("10.100000001")
        assert created["remaining"] == money("29.899999999")
        assert created["overspent"] == money("0")
        assert created["carriedOver"] == money("0")
        assert created["percentUsed"] == pytest.approx(25.25, abs=1e-6)
        assert created["month"] == "2026-05" and created["category"] == "dining"

        # spent follows creates, moves between categories/months, amount changes and deletes
        moved = await api.expense("20", "2026-05-06", category="groceries")
        assert (await api.budget("2026-05", "dining"))["spent"] == money("10.100000001")
        patch = await client.patch(
            f"/v1/expenses/{moved['id']}",
            params={"updateMask": "category"},
            json={"category": "dining"},
            headers=mesh.headers(api.user),
        )
        assert patch.status_code == 200, patch.text
        assert (await api.budget("2026-05", "dining"))["spent"] == money("30.100000001")
        patch = await client.patch(
            f"/v1/expenses/{moved['id']}",
            params={"updateMask": "amount"},
            json={"amount": money("25.5")},
            headers=mesh.headers(api.user),
        )
        assert patch.status_code == 200, patch.text
        assert (await api.budget("2026-05", "dining"))["spent"] == money("35.600000001")
        patch = await client.patch(
            f"/v1/expenses/{moved['id']}",
            params={"updateMask": "date"},
            json={"date": _date("2026-06-15")},
            headers=mesh.headers(api.user),
        )
        assert patch.status_code == 200, patch.text
        assert (await api.budget("2026-05", "dining"))["spent"] == money("10.100000001")
        patch = await client.patch(
            f"/v1/expenses/{moved['id']}",
            params={"updateMask": "date,direction"},
            json={"date": _date("2026-05-15"), "direction": "DIRECTION_CREDIT"},
            headers=mesh.headers(api.user),
        )
        assert (await api.budget("2026-05", "dining"))["spent"] == money("10.100000001")
        patch = await client.patch(
            f"/v1/expenses/{moved['id']}",
            params={"updateMask": "direction"},
            json={"direction": "DIRECTION_DEBIT"},
            headers=mesh.headers(api.user),
        )
        after_debit = await api.budget("2026-05", "dining")
        assert after_debit["spent"] == money("35.600000001")
        assert after_debit["overspent"] == money("0")
        delete = await client.delete(f"/v1/expenses/{moved['id']}", headers=mesh.headers(api.user))
        assert delete.status_code == 200
        assert (await api.budget("2026-05", "dining"))["spent"] == money("10.100000001")

        # Changing the budget's currency recounts in the new currency.
        euro = await api.set_budget("2026-05", "dining", {"limit": money("40", "EUR")})
        assert euro.json()["spent"] == money("50", "EUR")
        assert euro.json()["overspent"] == money("10", "EUR")
        assert euro.json()["remaining"] == money("0", "EUR")


async def test_rollover_carries_the_unspent_limit_of_the_previous_month(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        api = Api(client, mesh, _user("rollover"))
        await api.expense("30", "2026-03-10", category="groceries")
        await api.expense("120", "2026-04-10", category="groceries")
        assert (
            await api.set_budget("2026-03", "groceries", {"limit": money("100")})
        ).status_code == 200
        april = await api.set_budget(
            "2026-04", "groceries", {"limit": money("100"), "rollover": True}
        )
        assert april.json()["carriedOver"] == money("70")
        assert april.json()["remaining"] == money("50")
        may = await api.set_budget(
            "2026-05", "groceries", {"limit": money("100"), "rollover": True}
        )
        assert may.json()["carriedOver"] == money("50")
        no_roll = await api.set_budget(
            "2026-05", "groceries", {"limit": money("100"), "rollover": False}
        )
        assert no_roll.json()["carriedOver"] == money("0")


async def test_each_threshold_is_raised_exactly_once_per_budget_and_month(
    mesh: Mesh, mesh_db: str
) -> None:
    user = _user("alerts")
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        api = Api(client, mesh, user)
        assert (
            await api.set_budget("2026-07", "transport", {"limit": money("100")})
        ).status_code == 200
        await api.expense("49.99", "2026-07-01", category="transport")
        first = await api.expense("0.01", "2026-07-02", category="transport")  # 50 %
        await api.expense("29", "2026-07-03", category="transport")
        await api.expense("1", "2026-07-04", category="transport")  # 80 %
        await client.delete(f"/v1/expenses/{first['id']}", headers=mesh.headers(user))
        await api.expense("0.01", "2026-07-05", category="transport")  # 80 % again: no alert
        await api.expense("25", "2026-07-06", category="transport")  # 100 %
        await api.expense("25", "2026-07-07", category="transport")
        # lowering and raising the limit does not repeat alerts either
        await api.set_budget("2026-07", "transport", {"limit": money("1000")})
        await api.set_budget("2026-07", "transport", {"limit": money("10")})
    rows = await fetch_all(
        mesh_db,
        "SELECT event_id::text, payload FROM outbox WHERE topic = 'insights.events' AND key = %s"
        " ORDER BY id",
        (user,),
    )
    raised = [events_pb2.InsightRaised.FromString(bytes(p)) for _, p in rows]
    assert [r.budget_threshold_crossed.threshold_percent for r in raised] == [50, 80, 100]
    assert raised[0].budget_threshold_crossed.expense_id == first["id"]
    assert raised[0].budget_threshold_crossed.spent.units == 50
    assert [r.event_id for r in raised] == [str(e) for e, _ in rows]
    assert all(r.budget_threshold_crossed.month == "2026-07" for r in raised)


BAD_BUDGETS = [
    ("month 13", "2026-13", "dining", {"limit": money("10")}, "budget.month"),
    ("month 00", "2026-00", "dining", {"limit": money("10")}, "budget.month"),
    ("unknown category", "2026-05", "yachts", {"limit": money("10")}, "budget.category"),
    ("zero limit", "2026-05", "dining", {"limit": money("0")}, "budget.limit.units"),
    (
        "negative limit",
        "2026-05",
        "dining",
        {"limit": {"currencyCode": "GBP", "units": "-3"}},
        "budget.limit.units",
    ),
    (
        "bad currency",
        "2026-05",
        "dining",
        {"limit": money("10", "XX")},
        "budget.limit.currency_code",
    ),
    ("no limit", "2026-05", "dining", {"rollover": True}, "budget.limit"),
]


@pytest.mark.parametrize(
    ("case", "month", "category", "body", "field"), BAD_BUDGETS, ids=[b[0] for b in BAD_BUDGETS]
)
async def test_bad_budget_is_400_naming_the_field_and_writes_nothing(
    mesh: Mesh, case: str, month: str, category: str, body: dict[str, Any], field: str
) -> None:
    user = _user("badbudget")
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        api = Api(client, mesh, user)
        resp = await api.set_budget(month, category, body)
        assert resp.status_code == 400, resp.text
        assert field in violations(resp.json()), resp.json()
        listed = await client.get("/v1/budgets", headers=mesh.headers(user))
    assert listed.json()["budgets"] == []


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/budgets/2026-13/dining", {}, "month"),
        ("/v1/budgets", {"pageSize": -1}, "page_size"),
        ("/v1/budgets", {"month": "2026-5"}, "month"),
    ],
)
async def test_bad_budget_reads_are_400(
    mesh: Mesh, path: str, params: dict[str, Any], field: str
) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        resp = await client.get(path, params=params, headers=mesh.headers("reader"))
    assert resp.status_code == 400, resp.text
    assert field in violations(resp.json())


async def test_stale_budget_etag_is_409_and_changes_nothing(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        api = Api(client, mesh, _user("budgetetag"))
        created = (await api.set_budget("2026-05", "dining", {"limit": money("100")})).json()
        await api.expense("10", "2026-05-02")  # spent changes: the etag moves on
        current = await api.budget("2026-05", "dining")
        assert current["etag"] != created["etag"]
        stale = await api.set_budget(
            "2026-05", "dining", {"limit": money("5"), "etag": created["etag"]}
        )
        assert stale.status_code == 409, stale.text
        assert reason(stale.json()) == "STALE_ETAG"
        stale_delete = await client.delete(
            "/v1/budgets/2026-05/dining",
            params={"etag": created["etag"]},
            headers=mesh.headers(api.user),
        )
        assert stale_delete.status_code == 409
        assert await api.budget("2026-05", "dining") == current
        fresh = await api.set_budget(
            "2026-05",
            "dining",
            {"limit": money("5"), "etag": current["etag"]},
            updateMask="limit",
        )
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["limit"] == money("5")
        assert fresh.json()["spent"] == money("10")
        no_create = await api.set_budget(
            "2026-05", "travel", {"limit": money("5")}, allowMissing="false"
        )
        assert no_create.status_code == 404
        deleted = await client.delete(
            "/v1/budgets/2026-05/dining",
            params={"etag": fresh.json()["etag"]},
            headers=mesh.headers(api.user),
        )
        assert deleted.status_code == 200
        gone = await client.get("/v1/budgets/2026-05/dining", headers=mesh.headers(api.user))
        assert gone.status_code == 404


async def test_another_users_budget_is_404_for_every_rpc_and_never_listed(mesh: Mesh) -> None:
    owner, intruder = _user("bowner"), _user("bintruder")
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        api = Api(client, mesh, owner)
        created = (await api.set_budget("2026-05", "dining", {"limit": money("100")})).json()
        h = mesh.headers(intruder)
        get = await client.get("/v1/budgets/2026-05/dining", headers=h)
        update = await client.patch(
            "/v1/budgets/2026-05/dining",
            json={"limit": money("1"), "etag": created["etag"]},
            headers=h,
        )
        delete = await client.delete("/v1/budgets/2026-05/dining", headers=h)
        listed = await client.get("/v1/budgets", headers=h)
        mine = await client.get("/v1/budgets", headers=mesh.headers(owner))
        assert await api.budget("2026-05", "dining") == created
    assert [get.status_code, update.status_code, delete.status_code] == [404, 404, 404]
    assert listed.json()["budgets"] == []
    assert [b["category"] for b in mine.json()["budgets"]] == ["dining"]


async def test_list_budgets_newest_month_first_then_category_with_pages(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        api = Api(client, mesh, _user("blist"))
        for month, category in [
            ("2026-04", "dining"),
            ("2026-05", "transport"),
            ("2026-05", "dining"),
            ("2025-12", "groceries"),
        ]:
            assert (
                await api.set_budget(month, category, {"limit": money("10")})
            ).status_code == 200
        seen: list[tuple[str, str]] = []
        token = ""
        while True:
            params: dict[str, Any] = {"pageSize": 3}
            if token:
                params["pageToken"] = token
            resp = await client.get("/v1/budgets", params=params, headers=mesh.headers(api.user))
            body = resp.json()
            seen += [(b["month"], b["category"]) for b in body["budgets"]]
            token = body["nextPageToken"]
            if not token:
                break
        only_may = await client.get(
            "/v1/budgets", params={"month": "2026-05"}, headers=mesh.headers(api.user)
        )
    assert seen == [
        ("2026-05", "dining"),
        ("2026-05", "transport"),
        ("2026-04", "dining"),
        ("2025-12", "groceries"),
    ]
    assert [b["category"] for b in only_may.json()["budgets"]] == ["dining", "transport"]
