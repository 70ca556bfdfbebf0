"""The dashboard end to end: headless Chromium (Debian's) driven by playwright-core through
the built app, against the real mesh behind Envoy. One browser session runs every flow
(``flows.mjs``); each test here checks one flow and, where it matters, what the backend
recorded, through the same JSON API. Screenshots land in ``test-results/e2e/``.
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from finmesh.taxonomy import CATEGORIES
from tests.e2e.conftest import BROWSER_TZ, FlowRun
from tests.plugins.mesh import Mesh

pytestmark = pytest.mark.timeout(600)


def _ok(run: FlowRun, name: str) -> dict[str, Any]:
    r = run.flow(name)
    assert r["ok"], (
        f"flow {name} failed: {r.get('error')}\nsteps: {r.get('steps')}\n{run.output[-2000:]}"
    )
    return r["data"]  # type: ignore[no-any-return]


def _api(mesh: Mesh, user: str) -> httpx.Client:
    return httpx.Client(base_url=mesh.envoy_url, headers=mesh.headers(user), timeout=10)


def _amount(m: dict[str, Any]) -> Decimal:
    return Decimal(m.get("units", "0")) + Decimal(m.get("nanos", 0)) / Decimal(10**9)


def test_sign_in_with_a_dev_token_and_connect_the_live_feed(flows: FlowRun) -> None:
    data = _ok(flows, "sign_in")
    assert data["live"] is True
    assert (flows.out_dir / "01-sign-in.png").exists()
    assert (flows.out_dir / "02-expenses-empty.png").exists()


def test_quick_add_previews_saves_once_and_is_enriched_live(flows: FlowRun, mesh: Mesh) -> None:
    data = _ok(flows, "quick_add")
    assert data["preview"]["amount"] == "£3.50"
    assert "Starbucks" in data["preview"]["merchant"]
    assert data["category"], "the row never showed a category"
    assert data["source"] in {"model", "rule", "suggested"}
    # Enter pressed twice: exactly one expense exists.
    with _api(mesh, flows.user) as api:
        listed = api.get("/v1/expenses", params={"query": "Starbucks"}).json().get("expenses", [])
        assert [e["id"] for e in listed] == [data["expenseId"]]
        e = listed[0]
    assert _amount(e["amount"]) == Decimal("3.50")
    assert e["amount"]["currencyCode"] == "GBP"
    # The row showed the category the preview promised (e.g. "Dining (95%)" → dining).
    shown = data["category"].replace("_", " ")
    assert data["preview"]["category"].lower().startswith(shown), data
    assert "£3.50" in data["rowText"]


def test_correcting_a_category_is_stored_as_the_users_and_teaches_the_model(
    flows: FlowRun, mesh: Mesh
) -> None:
    data = _ok(flows, "correct_category")
    assert data["badge"] == "yours"
    with _api(mesh, flows.user) as api:
        e = api.get(f"/v1/expenses/{data['expenseId']}").json()
        assert e["category"] == data["category"]
        assert e["categorySource"] == "CATEGORY_SOURCE_USER"

        # The correction reaches ml_svc over Kafka; the user's memory then wins.
        body = {"items": [{"description": "STARBUCKS COFFEE 0423 LONDON"}]}
        category = None
        for _ in range(60):
            result = api.post("/v1/ml:classify", json=body).json()["results"][0]
            category = result["category"]
            if category == data["category"]:
                break
            time.sleep(0.5)
        assert category == data["category"]


def test_budget_progress_bar_turns_amber_past_80_percent(flows: FlowRun, mesh: Mesh) -> None:
    data = _ok(flows, "budget")
    assert data["before"]["level"] == "ok"
    assert data["after"]["level"] == "warn"
    assert data["after"]["percent"] == "85"
    assert data["after"]["spent"] == "£8.50"
    assert data["after"]["limit"] == "£10.00"
    assert data["after"]["fill"] == "rgb(217, 119, 6)"  # the amber of styles.css
    with _api(mesh, flows.user) as api:
        month = api.get(f"/v1/expenses/{data['secondExpenseId']}").json()["date"]
        b = api.get(f"/v1/budgets/{month['year']:04d}-{month['month']:02d}/{data['category']}")
        assert b.status_code == 200, b.text
        assert _amount(b.json()["spent"]) == Decimal("8.50")


def test_a_concurrent_budget_edit_shows_the_fresh_value_and_retries(
    flows: FlowRun, mesh: Mesh
) -> None:
    data = _ok(flows, "budget_conflict")
    assert data["otherStatus"] == 200
    assert "£20.00" in data["conflictText"]  # the other tab's value
    assert "£12.00" in data["conflictText"]  # and ours
    assert data["finalLimit"] == "£12.00"
    category = flows.flow("budget")["data"]["category"]
    month = datetime.now(BROWSER_TZ).strftime("%Y-%m")
    with _api(mesh, flows.user) as api:
        b = api.get(f"/v1/budgets/{month}/{category}").json()
    assert _amount(b["limit"]) == Decimal("12.00")


def test_an_expense_edited_elsewhere_is_explained_and_saved_on_the_fresh_version(
    flows: FlowRun, mesh: Mesh
) -> None:
    data = _ok(flows, "edit_conflict")
    assert data["otherStatus"] == 200
    assert (
        'changed while you were editing: merchant is now "Starbucks Reserve"'
        in (data["conflictText"])
    )
    with _api(mesh, flows.user) as api:
        e = api.get(f"/v1/expenses/{flows.flow('quick_add')['data']['expenseId']}").json()
    # Both changes survive: the other tab's merchant and this tab's description.
    assert e["description"] == "Oat latte at Starbucks"
    assert e["merchant"] == "Starbucks Reserve"
    assert "Starbucks Reserve" in data["rowText"]


def test_import_a_statement_shows_counts_rejections_and_rows(flows: FlowRun, mesh: Mesh) -> None:
    data = _ok(flows, "import")
    assert data["first"] == {"imported": 3, "duplicates": 0, "rejected": 1}
    assert len(data["rows"]) == 3
    assert any("Netflix" in r or "NETFLIX" in r for r in data["rows"])
    assert any("£10.99" in r for r in data["rows"])
    assert len(data["rejectedLines"]) == 1
    assert data["rejectedLines"][0].startswith("5")  # line 5 of the file: "BROKEN LINE"
    assert data["second"] == {"imported": 0, "duplicates": 3, "rejected": 1}
    with _api(mesh, flows.user) as api:
        listed = api.get("/v1/expenses", params={"query": "netflix"}).json().get("expenses", [])
    assert len(listed) == 1


def test_insights_page_totals_match_the_users_expenses(flows: FlowRun, mesh: Mesh) -> None:
    data = _ok(flows, "insights")
    assert data["errors"] == []
    # What the flows added this month: £3.50 + £5.00 typed, £65.64 imported.
    assert data["totalSpent"] == "£74.14"
    with _api(mesh, flows.user) as api:
        month = datetime.now(BROWSER_TZ).strftime("%Y-%m")
        summary = api.get("/v1/insights/summary", params={"month": month}).json()
        expenses = api.get("/v1/expenses", params={"month": summary["month"]}).json()["expenses"]
    gbp = sum(
        (
            _amount(e["amount"])
            for e in expenses
            if e.get("direction", "DIRECTION_DEBIT") == "DIRECTION_DEBIT"
            and e["amount"]["currencyCode"] == "GBP"
        ),
        Decimal(0),
    )
    # The page was read before the search_filter_delete flow removed the £31.20 water bill.
    assert data["totalSpent"] == f"£{gbp + Decimal('31.20'):,.2f}"


def test_filter_search_and_delete(flows: FlowRun, mesh: Mesh) -> None:
    data = _ok(flows, "search_filter_delete")
    assert data["filtered"] == 2  # the latte and the cinema tickets, both filed by the user
    with _api(mesh, flows.user) as api:
        assert api.get(f"/v1/expenses/{data['deletedId']}").status_code == 404
        assert api.get("/v1/expenses", params={"query": "thames"}).json().get("expenses") in (
            None,
            [],
        )


def test_a_suggestion_offers_the_models_next_guesses_and_one_click_files_it(
    flows: FlowRun, mesh: Mesh
) -> None:
    data = _ok(flows, "runners_up")
    assert len(data["offered"]) == 2, data
    assert data["suggested"] not in data["offered"]
    assert set(data["offered"]) <= {c.id for c in CATEGORIES}
    assert data["runnersUpAfter"] == 0  # the person's choice is no suggestion
    with _api(mesh, flows.user) as api:
        e = api.get(f"/v1/expenses/{data['expenseId']}").json()
    assert e["category"] == data["chosen"] == data["offered"][0]
    assert e["categorySource"] == "CATEGORY_SOURCE_USER"
    assert e["amount"]["currencyCode"] == "USD"


def test_every_page_fits_a_phone_screen(flows: FlowRun) -> None:
    data = _ok(flows, "phone")
    assert data["overflow"] <= 0
    assert data["overflowExpenses"] <= 0
    for name in ("13-phone-expenses", "14-phone-budgets", "15-phone-insights", "16-phone-import"):
        assert (flows.out_dir / f"{name}.png").exists()


def test_the_pages_can_be_reached_by_keyboard(flows: FlowRun) -> None:
    data = _ok(flows, "keyboard")
    assert data["focusOrder"][-1] == "Budgets"


def test_an_expired_token_sends_the_user_back_to_sign_in(flows: FlowRun) -> None:
    data = _ok(flows, "expired_session")
    assert "sign in again" in data["notice"]


def test_the_browser_saw_no_uncaught_errors(flows: FlowRun) -> None:
    assert flows.results["pageErrors"] == []
