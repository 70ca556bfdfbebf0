"""Fields only the server may set (``id``, ``etag`` where it is not a precondition, ``spent``,
``remaining``, ``categorySource``, ``createTime``, ``updateTime``, ``enrichmentState``,
``modelVersion``, ...) are ignored or refused (400) when a client sends them, at both edges,
on creates and updates, and never stored as sent (checked again by reading back)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.mesh import Mesh
from tests.security.helpers import EDGES, assert_json_error, client, expense_body, user

FORGED_ID = "00000000-0000-0000-0000-00000000beef"
FORGED_EXPENSE: dict[str, Any] = {
    "id": FORGED_ID,
    "etag": "forged-etag",
    "categorySource": "CATEGORY_SOURCE_USER",
    "categoryConfidence": 0.99,
    "enrichmentState": "ENRICHMENT_STATE_ENRICHED",
    "modelVersion": "forged-model",
    "categoryExplanation": "forged explanation",
    "origin": "EXPENSE_ORIGIN_IMPORT",
    "createTime": "2001-01-01T00:00:00Z",
    "updateTime": "2001-01-01T00:00:00Z",
}


def _assert_not_forged(expense: dict[str, Any]) -> None:
    assert expense["id"] != FORGED_ID
    assert expense["etag"] != "forged-etag"
    assert expense["categorySource"] != "CATEGORY_SOURCE_USER"
    assert expense["modelVersion"] != "forged-model"
    assert expense["categoryExplanation"] != "forged explanation"
    assert expense["origin"] == "EXPENSE_ORIGIN_MANUAL"
    assert not expense["createTime"].startswith("2001")
    assert not expense["updateTime"].startswith("2001")
    if expense["enrichmentState"] == "ENRICHMENT_STATE_ENRICHED":
        # Only real enrichment may get there, and it leaves its model's version behind.
        assert expense["modelVersion"] or expense["categorySource"] != "CATEGORY_SOURCE_UNSPECIFIED"


@pytest.mark.parametrize("edge", EDGES)
async def test_server_owned_expense_fields_sent_on_create_are_ignored(
    mesh: Mesh, edge: str
) -> None:
    owner = user(f"owned-create-{edge}")
    headers = mesh.headers(owner)
    async with client(mesh, edge) as c:
        r = await c.post(
            "/v1/expenses",
            json={**expense_body("Forged coffee"), **FORGED_EXPENSE},
            headers=headers,
        )
        if r.status_code == 400:
            assert_json_error(r, 400)
            listed = await c.get("/v1/expenses", headers=headers)
            assert listed.json()["expenses"] == []
            return
        assert r.status_code == 200, r.text
        created = r.json()
        assert created["enrichmentState"] == "ENRICHMENT_STATE_PENDING"
        assert created["categoryConfidence"] == 0
        _assert_not_forged(created)
        forged_read = await c.get(f"/v1/expenses/{FORGED_ID}", headers=headers)
        assert_json_error(forged_read, 404)
        back = await c.get(f"/v1/expenses/{created['id']}", headers=headers)
    assert back.status_code == 200
    _assert_not_forged(back.json())


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("mask", ["description", "", "*"])
async def test_server_owned_expense_fields_sent_on_update_are_ignored(
    mesh: Mesh, edge: str, mask: str
) -> None:
    owner = user(f"owned-update-{edge}")
    headers = mesh.headers(owner)
    async with client(mesh, edge) as c:
        r = await c.post("/v1/expenses", json=expense_body("Plain coffee"), headers=headers)
        assert r.status_code == 200, r.text
        created = r.json()
        url = f"/v1/expenses/{created['id']}"
        query = f"?updateMask={mask}" if mask else ""
        forged = {**FORGED_EXPENSE, "etag": ""}  # an empty etag is "no precondition"
        body = {**expense_body("Renamed coffee"), **forged}
        del body["id"]
        r = await c.patch(url + query, json={**body, "id": FORGED_ID}, headers=headers)
        # The path names the expense; a different id in the body is refused, ignored (the
        # gateway: the path wins) or names a resource the caller does not have (Envoy: the
        # body's id wins, so it is 404). Never a write to any other expense, never a 5xx.
        assert r.status_code in (200, 400, 404), r.text
        if r.status_code != 200:
            assert_json_error(r, r.status_code)
        r = await c.patch(url + query, json=body, headers=headers)
        assert r.status_code in (200, 400), r.text
        if r.status_code == 200:
            assert r.json()["description"] == "Renamed coffee"
            _assert_not_forged(r.json())
        else:
            assert_json_error(r, 400)
        back = await c.get(url, headers=headers)
        assert_json_error(await c.get(f"/v1/expenses/{FORGED_ID}", headers=headers), 404)
    assert back.status_code == 200
    assert back.json()["id"] == created["id"]
    assert back.json()["createTime"] == created["createTime"]
    _assert_not_forged(back.json())


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize(
    "mask", ["categorySource", "enrichmentState,modelVersion", "createTime", "id", "etag"]
)
async def test_an_update_mask_naming_a_server_owned_field_is_refused_or_ignored(
    mesh: Mesh, edge: str, mask: str
) -> None:
    owner = user(f"owned-mask-{edge}")
    headers = mesh.headers(owner)
    async with client(mesh, edge) as c:
        r = await c.post("/v1/expenses", json=expense_body("Masked coffee"), headers=headers)
        assert r.status_code == 200, r.text
        created = r.json()
        url = f"/v1/expenses/{created['id']}"
        body = {k: v for k, v in FORGED_EXPENSE.items() if k not in ("id", "etag")}
        r = await c.patch(f"{url}?updateMask={mask}", json=body, headers=headers)
        assert r.status_code in (200, 400), r.text
        if r.status_code == 400:
            assert_json_error(r, 400)
        back = await c.get(url, headers=headers)
    assert back.status_code == 200
    assert back.json()["createTime"] == created["createTime"]
    _assert_not_forged(back.json())


FORGED_BUDGET: dict[str, Any] = {
    "spent": {"currencyCode": "GBP", "units": "999"},
    "remaining": {"currencyCode": "GBP", "units": "999"},
    "percentUsed": 99.5,
    "carriedOver": {"currencyCode": "GBP", "units": "999"},
    "overspent": {"currencyCode": "GBP", "units": "999"},
    "createTime": "2001-01-01T00:00:00Z",
    "updateTime": "2001-01-01T00:00:00Z",
}


def _assert_budget_not_forged(budget: dict[str, Any], limit_units: str) -> None:
    assert budget["limit"]["units"] == limit_units
    for key in ("spent", "carriedOver", "overspent"):
        assert budget[key].get("units", "0") == "0", (key, budget)
    assert budget["remaining"]["units"] == limit_units
    assert budget["percentUsed"] == 0
    assert not budget["createTime"].startswith("2001")
    assert not budget["updateTime"].startswith("2001")


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("mask", ["", "limit", "spent,remaining,createTime"])
async def test_server_owned_budget_fields_are_never_stored_as_sent(
    mesh: Mesh, edge: str, mask: str
) -> None:
    owner = user(f"owned-budget-{edge}")
    headers = mesh.headers(owner)
    url = "/v1/budgets/2026-04/dining"
    async with client(mesh, edge) as c:
        first = await c.patch(
            url,
            json={"limit": {"currencyCode": "GBP", "units": "50"}, **FORGED_BUDGET},
            headers=headers,
        )
        if first.status_code == 400:
            assert_json_error(first, 400)
            assert_json_error(await c.get(url, headers=headers), 404)
            first = await c.patch(
                url, json={"limit": {"currencyCode": "GBP", "units": "50"}}, headers=headers
            )
        assert first.status_code == 200, first.text
        _assert_budget_not_forged(first.json(), "50")
        query = f"?updateMask={mask}" if mask else ""
        second = await c.patch(
            url + query,
            json={"limit": {"currencyCode": "GBP", "units": "60"}, **FORGED_BUDGET},
            headers=headers,
        )
        assert second.status_code in (200, 400), second.text
        if second.status_code == 400:
            assert_json_error(second, 400)
        back = await c.get(url, headers=headers)
    assert back.status_code == 200
    expected = "50" if mask.startswith("spent") or second.status_code == 400 else "60"
    _assert_budget_not_forged(back.json(), expected)
    assert back.json()["createTime"] == first.json()["createTime"]
