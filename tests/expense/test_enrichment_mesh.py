"""The whole asynchronous pipeline as users run it: an expense POSTed as JSON through Envoy
comes back enriched (expense_svc outbox relay → expenses.raw → ml_svc → expenses.parsed →
expense_svc's enrichment consumer), and its amount lands in the budget of the category the
model chose."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from finmesh.taxonomy import CATEGORY_IDS
from tests.plugins.mesh import Mesh

MONTH = "2026-05"


async def _json(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


async def test_an_expense_posted_through_envoy_is_enriched_and_counted_in_its_budget(
    mesh: Mesh,
) -> None:
    user = f"pipeline-{uuid.uuid4().hex[:10]}"
    headers = mesh.headers(user)
    async with httpx.AsyncClient(base_url=mesh.envoy_url, headers=headers, timeout=10) as client:
        for category in sorted(CATEGORY_IDS):  # whichever category the model picks has a budget
            await _json(
                await client.patch(
                    f"/v1/budgets/{MONTH}/{category}",
                    json={"limit": {"currencyCode": "GBP", "units": "100"}},
                )
            )
        created = await _json(
            await client.post(
                "/v1/expenses",
                json={
                    "amount": {"currencyCode": "GBP", "units": "3", "nanos": 500000000},
                    "description": "Latte at Starbucks",
                    "date": {"year": 2026, "month": 5, "day": 14},
                },
            )
        )
        assert created["enrichmentState"] == "ENRICHMENT_STATE_PENDING"

        deadline = time.monotonic() + 120
        while True:
            expense = await _json(await client.get(f"/v1/expenses/{created['id']}"))
            if expense["enrichmentState"] != "ENRICHMENT_STATE_PENDING":
                break
            assert time.monotonic() < deadline, f"still pending: {expense}"
            await asyncio.sleep(0.3)
        budgets = await _json(await client.get("/v1/budgets", params={"month": MONTH}))

    assert expense["enrichmentState"] == "ENRICHMENT_STATE_ENRICHED", expense
    assert expense["category"] in CATEGORY_IDS
    assert expense["categorySource"] in {
        "CATEGORY_SOURCE_MODEL",
        "CATEGORY_SOURCE_RULE",
        "CATEGORY_SOURCE_SUGGESTED",
    }
    assert expense["categoryExplanation"]
    assert expense["etag"] != created["etag"]  # enrichment changed the resource
    spent = {
        b["category"]: (b["spent"].get("units", "0"), b["spent"].get("nanos", 0))
        for b in budgets["budgets"]
    }
    assert len(spent) == len(CATEGORY_IDS)
    assert spent.pop(expense["category"]) == ("3", 500000000)
    assert set(spent.values()) == {("0", 0)}
