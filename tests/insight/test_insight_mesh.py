"""insight_svc in the running mesh: events go to the real Kafka exactly as expense_svc and ml_svc
publish them, answers come back through Envoy as JSON.

Each test uses its own users, so the shared mesh and broker need no cleanup. Expected values are
computed here from the seeded expenses, never read back from the service.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh.kafka import EventProducer, tail
from insight_svc.model import Month, add_months, utc_today
from tests.insight.helpers import (
    JsonArrayStream,
    changed,
    deleted,
    eventually,
    expense,
    money,
    new_user,
    publish,
    recorded,
    threshold,
    ts,
)
from tests.plugins.mesh import Mesh

RAW = "expenses.raw"
PARSED = "expenses.parsed"
INSIGHTS = "insights.events"


@pytest.fixture
async def producer(mesh: Mesh) -> AsyncIterator[EventProducer]:
    p = EventProducer(mesh.cfg.kafka_bootstrap_servers, client_id="insight-tests")
    yield p
    await p.close_async()


@pytest.fixture
async def envoy(mesh: Mesh) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=mesh.envoy_url, timeout=30) as client:
        yield client


async def get(client: httpx.AsyncClient, mesh: Mesh, user: str, path: str, **params: Any) -> Any:
    resp = await client.get(path, params=params, headers=mesh.headers(user))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def list_insights(
    client: httpx.AsyncClient, mesh: Mesh, user: str, **params: Any
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token = ""
    while True:
        body = await get(client, mesh, user, "/v1/insights", pageToken=token, **params)
        out += body.get("insights", [])
        token = body.get("nextPageToken", "")
        if not token:
            return out


# -- GetSpendingSummary ------------------------------------------------------------------------


async def test_summary_numbers_agree_exactly_with_a_users_months_of_history(
    mesh: Mesh, producer: EventProducer, envoy: httpx.AsyncClient
) -> None:
    user = new_user("summary")
    rng = random.Random(42)
    month = Month.of(utc_today()).add(-1)
    prev = month.add(-1)
    older = month.add(-2)
    merchants = {
        "Tesco": "groceries",
        "Pret": "dining",
        "TfL": "transport",
        "Boots": "health",
        "Amazon": "shopping",
    }
    live: dict[str, expense_pb2.Expense] = {}
    events: list[tuple[str, Any]] = []
    base_time = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    for m in (older, prev, month):
        for _ in range(14):
            name = rng.choice(sorted(merchants))
            day = dt.date(m.year, m.month, rng.randint(1, m.days))
            amount = str(Decimal(rng.randint(101, 9999)) / 100)
            e = expense(user, day, amount, name, merchants[name], update_time=base_time)
            live[e.id] = e
            events.append((RAW, recorded(user, e)))
        # Money in: a refund (credit in the merchant's category) and salary.
        for amount, name, cat in (("12.50", "Amazon", "shopping"), ("2500.00", "ACME", "income")):
            e = expense(user, m.first, amount, name, cat, direction=2, update_time=base_time)
            live[e.id] = e
            events.append((RAW, recorded(user, e)))
    # A euro expense in the month: never converted, its own currency total.
    eur = expense(user, month.first, "30.00", "Cafe Paris", "dining", currency="EUR")
    live[eur.id] = eur
    events.append((RAW, recorded(user, eur)))
    # Delivered twice (at-least-once): counted once.
    events.append((RAW, events[0][1]))
    # An edit: the amount and category change; then a stale copy of the original arrives late.
    target = next(e for e in live.values() if Month.of(_date(e)) == month and e.direction == 1)
    edited = expense_pb2.Expense()
    edited.CopyFrom(target)
    edited.amount.units += 7
    edited.category = "entertainment"
    edited.update_time.CopyFrom(ts(base_time + dt.timedelta(minutes=5)))
    events.append((RAW, changed(user, edited, target)))
    events.append((RAW, recorded(user, target)))  # stale: older update_time, ignored
    live[target.id] = edited
    # A deletion, then a stale change of the deleted expense.
    gone = next(
        e
        for e in live.values()
        if Month.of(_date(e)) == month and e.id != target.id and e.direction == 1
    )
    events.append((RAW, deleted(user, gone, base_time + dt.timedelta(minutes=6))))
    events.append((RAW, changed(user, gone, gone)))
    del live[gone.id]
    for topic, event in events:
        await publish(producer, topic, user, event)

    def totals(month_: Month) -> dict[str, Any]:
        spent: dict[str, Decimal] = defaultdict(Decimal)
        received: dict[str, Decimal] = defaultdict(Decimal)
        count: dict[str, int] = defaultdict(int)
        cats: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        merch: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        daily: dict[tuple[dt.date, str], Decimal] = defaultdict(Decimal)
        for e in live.values():
            if Month.of(_date(e)) != month_:
                continue
            cur = e.amount.currency_code
            value = Decimal(e.amount.units) + Decimal(e.amount.nanos) / 10**9
            count[cur] += 1
            if e.direction == 2:
                received[cur] += value
                continue
            spent[cur] += value
            cats[(e.category, cur)] += value
            merch[(e.merchant, cur)] += value
            daily[(_date(e), cur)] += value
        return {
            "spent": spent,
            "received": received,
            "count": count,
            "cats": cats,
            "merch": merch,
            "daily": daily,
        }

    want = totals(month)
    want_prev = totals(prev)

    def matches(body: dict[str, Any]) -> bool:
        got = {t["currencyCode"]: t for t in body.get("totals", [])}
        return set(got) == {"GBP", "EUR"} and all(
            money(got[c]["spent"]) == want["spent"][c]
            and got[c]["expenseCount"] == want["count"][c]
            for c in got
        )

    body = await eventually(
        lambda: get(envoy, mesh, user, "/v1/insights/summary", month=str(month)),
        matches,
        what="the summary to catch up with the events",
    )
    assert body["month"] == str(month)
    assert body["previousMonth"] == str(prev)
    for t in body["totals"]:
        cur = t["currencyCode"]
        assert money(t["spent"]) == want["spent"][cur]
        assert money(t["received"]) == want["received"][cur]
        assert money(t["previousMonthSpent"]) == want_prev["spent"][cur]
        assert t["expenseCount"] == want["count"][cur]
        assert t["spent"]["currencyCode"] == cur
    got_cats = {
        (c["category"], c["spent"]["currencyCode"]): c
        for c in body["categories"]
        if money(c["spent"]) > 0
    }
    assert {k: money(c["spent"]) for k, c in got_cats.items()} == dict(want["cats"])
    for (cat, cur), c in got_cats.items():
        prev_spent = want_prev["cats"].get((cat, cur), Decimal(0))
        assert money(c["previousMonthSpent"]) == prev_spent
        if prev_spent:
            expected = (want["cats"][(cat, cur)] - prev_spent) * 100 / prev_spent
            assert abs(Decimal(str(c["changePercent"])) - expected) <= Decimal("0.05")
    spent_order = [money(c["spent"]) for c in body["categories"]]
    assert spent_order == sorted(spent_order, reverse=True)
    top = {
        (m["merchant"], m["spent"]["currencyCode"]): money(m["spent"]) for m in body["topMerchants"]
    }
    assert top == dict(want["merch"])
    # The daily series: every day of the month per debit currency, cumulative at the end = total.
    daily = [d for d in body["daily"] if d["spent"]["currencyCode"] == "GBP"]
    assert len(daily) == month.days
    assert [d["date"]["day"] for d in daily] == list(range(1, month.days + 1))
    for d in daily:
        day = dt.date(d["date"]["year"], d["date"]["month"], d["date"]["day"])
        assert money(d["spent"]) == want["daily"].get((day, "GBP"), Decimal(0))
    assert money(daily[-1]["cumulativeSpent"]) == want["spent"]["GBP"]


def _date(e: expense_pb2.Expense) -> dt.date:
    return dt.date(e.date.year, e.date.month, e.date.day)


async def test_enrichment_fills_merchant_and_category_while_the_expense_has_none(
    mesh: Mesh, producer: EventProducer, envoy: httpx.AsyncClient
) -> None:
    user = new_user("enrich")
    month = Month.of(utc_today()).add(-1)
    pending = expense(user, month.first, "4.20", "", "", description="PRET A MANGER 0423 LONDON")
    pending.enrichment_state = expense_pb2.ENRICHMENT_STATE_PENDING
    # The enrichment can overtake the recorded event (different topics): order does not matter.
    enriched = events_pb2.ExpenseEnriched(
        event_id=str(uuid.uuid4()),
        occur_time=ts(dt.datetime.now(dt.UTC)),
        user_id=user,
        expense_id=pending.id,
        merchant="Pret A Manger",
        category="dining",
        category_source=expense_pb2.CATEGORY_SOURCE_MODEL,
        enrichment_state=expense_pb2.ENRICHMENT_STATE_ENRICHED,
    )
    await publish(producer, PARSED, user, enriched)
    await publish(producer, RAW, user, recorded(user, pending))

    body = await eventually(
        lambda: get(envoy, mesh, user, "/v1/insights/summary", month=str(month)),
        lambda b: any(c["category"] == "dining" for c in b.get("categories", [])),
        what="the enriched category",
    )
    [dining] = [c for c in body["categories"] if c["category"] == "dining"]
    assert money(dining["spent"]) == Decimal("4.20")
    assert [m["merchant"] for m in body["topMerchants"]] == ["Pret A Manger"]


# -- ListInsights: budget thresholds -----------------------------------------------------------


async def test_budget_threshold_alert_is_stored_exactly_once_when_the_event_arrives_twice(
    mesh: Mesh, producer: EventProducer, envoy: httpx.AsyncClient
) -> None:
    user = new_user("threshold")
    month = str(Month.of(utc_today()))
    first = threshold(user, month, "dining", 50, "100.00", "200.00")
    again = events_pb2.InsightRaised()
    again.CopyFrom(first)  # the same event redelivered
    other_id = events_pb2.InsightRaised()
    other_id.CopyFrom(first)
    other_id.event_id = str(uuid.uuid4())  # the same crossing raised twice by a retry
    await publish(producer, INSIGHTS, user, first, again, other_id)
    # Same key, same partition, later: once it is stored the three before it were handled.
    sentinel = threshold(user, month, "dining", 80, "165.00", "200.00")
    await publish(producer, INSIGHTS, user, sentinel)

    found = await eventually(
        lambda: list_insights(envoy, mesh, user, month=month),
        lambda items: any(i.get("thresholdPercent") == 80 for i in items),
        what="the 80% alert",
    )
    fifty = [i for i in found if i.get("thresholdPercent") == 50]
    assert len(fifty) == 1
    assert len(found) == 2
    alert = fifty[0]
    assert alert["type"] == "INSIGHT_TYPE_BUDGET_THRESHOLD"
    assert alert["severity"] == "SEVERITY_INFO"
    assert alert["category"] == "dining"
    assert money(alert["amount"]) == Decimal("100.00")
    assert money(alert["referenceAmount"]) == Decimal("200.00")
    assert alert["month"] == month
    eighty = next(i for i in found if i.get("thresholdPercent") == 80)
    assert eighty["severity"] == "SEVERITY_WARNING"
    assert [i["id"] for i in found] == [eighty["id"], alert["id"]]  # newest first
    by_type = await list_insights(envoy, mesh, user, month=month, type="INSIGHT_TYPE_UNUSUAL_SPEND")
    assert by_type == []
    # Pagination walks every insight once.
    page1 = await get(envoy, mesh, user, "/v1/insights", month=month, pageSize=1)
    assert len(page1["insights"]) == 1 and page1["nextPageToken"]
    page2 = await get(
        envoy, mesh, user, "/v1/insights", month=month, pageSize=1, pageToken=page1["nextPageToken"]
    )
    assert [i["id"] for i in page1["insights"] + page2["insights"]] == [i["id"] for i in found]
    assert not page2["nextPageToken"]


# -- detectors -----------------------------------------------------------------------------------


async def test_unusual_spend_and_duplicate_charges_are_detected_and_stored_once(
    mesh: Mesh, producer: EventProducer, envoy: httpx.AsyncClient
) -> None:
    user = new_user("anomaly")
    today = utc_today()
    usual = ["41.20", "55.10", "48.00", "39.90", "62.30", "51.75", "44.00", "58.60"]
    history = [
        expense(user, today - dt.timedelta(days=80 - 9 * i), a, "Tesco", "groceries")
        for i, a in enumerate(usual)
    ]
    big = expense(user, today - dt.timedelta(days=3), "260.00", "Tesco", "groceries")
    normal = expense(user, today - dt.timedelta(days=2), "61.00", "Tesco", "groceries")
    dup1 = expense(user, today - dt.timedelta(days=5), "19.99", "Deliveroo", "dining")
    dup2 = expense(user, today - dt.timedelta(days=4), "19.99", "Deliveroo", "dining")
    not_dup = expense(user, today - dt.timedelta(days=1), "23.50", "Deliveroo", "dining")
    for e in [*history, big, normal, dup1, dup2, not_dup]:
        await publish(producer, RAW, user, recorded(user, e))
    # Delivered again: the detectors run again, but nothing is stored twice.
    await publish(producer, RAW, user, recorded(user, big), recorded(user, dup2))

    def ready(items: list[dict[str, Any]]) -> bool:
        types = {i["type"] for i in items}
        return {"INSIGHT_TYPE_UNUSUAL_SPEND", "INSIGHT_TYPE_DUPLICATE_CHARGE"} <= types

    await eventually(lambda: list_insights(envoy, mesh, user), ready, what="both alerts")
    # A sentinel after everything (same partition): once its alert is in, all were handled.
    s1 = expense(user, today, "7.77", "Sentinel Ltd", "other")
    s2 = expense(user, today, "7.77", "Sentinel Ltd", "other")
    await publish(producer, RAW, user, recorded(user, s1), recorded(user, s2))
    found = await eventually(
        lambda: list_insights(envoy, mesh, user),
        lambda items: any(i.get("merchant") == "Sentinel Ltd" for i in items),
        what="the sentinel duplicate",
    )
    unusual = [i for i in found if i["type"] == "INSIGHT_TYPE_UNUSUAL_SPEND"]
    assert len(unusual) == 1
    assert unusual[0]["expenseIds"] == [big.id]
    assert money(unusual[0]["amount"]) == Decimal("260.00")
    # The usual amount is the median of the earlier groceries (50% between 48.00 and 51.75).
    assert money(unusual[0]["referenceAmount"]) == Decimal("49.875")
    assert unusual[0]["category"] == "groceries"
    dups = [
        i
        for i in found
        if i["type"] == "INSIGHT_TYPE_DUPLICATE_CHARGE" and i["merchant"] == "Deliveroo"
    ]
    assert len(dups) == 1
    assert sorted(dups[0]["expenseIds"]) == sorted([dup1.id, dup2.id])
    assert dups[0]["severity"] == "SEVERITY_CRITICAL"
    assert money(dups[0]["amount"]) == Decimal("19.99")


# -- ListRecurring -------------------------------------------------------------------------------


async def test_recurring_detection_with_a_missed_month_and_a_price_rise(
    mesh: Mesh, producer: EventProducer, envoy: httpx.AsyncClient
) -> None:
    user = new_user("recurring")
    this = Month.of(utc_today())
    # Eight monthly Netflix payments on the 12th ±2 days ending last month; one missed; the
    # last two at a new price. And a gym that stopped four months ago.
    start = add_months(this.add(-8).first, 0, anchor_day=12)
    payments = []
    for i in range(8):
        if i == 3:
            continue  # missed month
        day = add_months(start, i) + dt.timedelta(days=(-2, 1, 0, 2, -1, 0, 2, -2)[i])
        amount = "10.99" if i >= 6 else "9.99"
        payments.append(expense(user, day, amount, "Netflix", "subscriptions"))
    gym = [
        expense(user, add_months(this.add(-9).first, i, anchor_day=3), "30.00", "PureGym", "health")
        for i in range(4)
    ]
    for e in [*payments, *gym]:
        await publish(producer, RAW, user, recorded(user, e))

    def ready(body: dict[str, Any]) -> bool:
        rps = {r["merchant"]: r for r in body.get("recurringPayments", [])}
        return "Netflix" in rps and rps["Netflix"]["occurrenceCount"] == 7 and "PureGym" in rps

    body = await eventually(
        lambda: get(envoy, mesh, user, "/v1/insights/recurring"), ready, what="recurring"
    )
    rps = body["recurringPayments"]
    assert [r["merchant"] for r in rps] == ["Netflix", "PureGym"]  # stopped last
    netflix, gym_rp = rps
    assert netflix["cadence"] == "CADENCE_MONTHLY"
    assert netflix["status"] == "RECURRING_STATUS_ESTABLISHED"
    assert netflix["direction"] == "DIRECTION_DEBIT"
    assert netflix["category"] == "subscriptions"
    assert money(netflix["typicalAmount"]) == Decimal("10.99")
    assert money(netflix["lastAmount"]) == Decimal("10.99")
    assert money(netflix["annualAmount"]) == Decimal("131.88")
    assert netflix["expenseIds"] == [p.id for p in payments]
    change = netflix["priceChange"]
    assert money(change["previousAmount"]) == Decimal("9.99")
    assert money(change["newAmount"]) == Decimal("10.99")
    assert change["changePercent"] == pytest.approx(10.0)
    nxt = netflix["nextExpectedDate"]
    assert (nxt["year"], nxt["month"], nxt["day"]) >= (this.year, this.month, 1)
    assert gym_rp["status"] == "RECURRING_STATUS_STOPPED"
    assert "nextExpectedDate" not in gym_rp or not gym_rp["nextExpectedDate"]
    stopped = await get(
        envoy, mesh, user, "/v1/insights/recurring", status="RECURRING_STATUS_STOPPED"
    )
    assert [r["merchant"] for r in stopped["recurringPayments"]] == ["PureGym"]

    found = await eventually(
        lambda: list_insights(envoy, mesh, user),
        lambda items: (
            {i["type"] for i in items}
            >= {"INSIGHT_TYPE_NEW_SUBSCRIPTION", "INSIGHT_TYPE_PRICE_RISE"}
        ),
        what="subscription insights",
    )
    new_subs = [i for i in found if i["type"] == "INSIGHT_TYPE_NEW_SUBSCRIPTION"]
    rises = [i for i in found if i["type"] == "INSIGHT_TYPE_PRICE_RISE"]
    assert [i["recurringPaymentId"] for i in new_subs] == [netflix["id"]]  # not the stopped gym
    assert [i["recurringPaymentId"] for i in rises] == [netflix["id"]]
    assert money(rises[0]["amount"]) == Decimal("10.99")
    assert money(rises[0]["referenceAmount"]) == Decimal("9.99")
    assert rises[0]["expenseIds"] == [payments[-2].id]


# -- GetForecast ---------------------------------------------------------------------------------


async def test_forecast_range_is_ordered_and_includes_recurring_payments_still_due(
    mesh: Mesh, producer: EventProducer, envoy: httpx.AsyncClient
) -> None:
    user = new_user("forecast")
    this = Month.of(utc_today())
    rng = random.Random(5)
    events = []
    for back in range(1, 5):
        m = this.add(-back)
        for _ in range(8):
            day = dt.date(m.year, m.month, rng.randint(1, m.days))
            amount = str(Decimal(rng.randint(1500, 6000)) / 100)
            events.append(expense(user, day, amount, "Sainsburys", "groceries"))
        events.append(
            expense(user, add_months(m.first, 0, anchor_day=9), "45.00", "Octopus", "utilities")
        )
    today = utc_today()
    spent_this_month = Decimal("12.34")
    events.append(expense(user, this.first, str(spent_this_month), "Sainsburys", "groceries"))
    for e in events:
        await publish(producer, RAW, user, recorded(user, e))

    # Events of one user share a partition: once the last one shows, all were applied.
    await eventually(
        lambda: get(envoy, mesh, user, "/v1/insights/summary", month=str(this)),
        lambda b: [money(t["spent"]) for t in b.get("totals", [])] == [spent_this_month],
        what="the last event to be applied",
    )
    # Next month: the whole month is ahead; Octopus (monthly, on the 9th) is due in it.
    next_month = this.add(1)
    body = await get(envoy, mesh, user, "/v1/insights/forecast", month=str(next_month))
    assert body["month"] == str(next_month)
    assert body["daysRemaining"] == next_month.days
    cats = {c["category"]: c for c in body["categories"]}
    utilities = cats["utilities"]
    assert money(utilities["projected"]) >= Decimal("45.00")
    for c in body["categories"]:
        assert money(c["projectedLow"]) <= money(c["projected"]) <= money(c["projectedHigh"]), c
    # This month: spending so far is known exactly; the range is ordered around it.
    current = await get(envoy, mesh, user, "/v1/insights/forecast", month=str(this))
    assert current["asOfDate"] == {"year": today.year, "month": today.month, "day": today.day}
    assert current["daysRemaining"] == this.days - today.day
    groceries = {c["category"]: c for c in current["categories"]}["groceries"]
    assert money(groceries["spentToDate"]) == spent_this_month
    low, mid, high = (money(groceries[k]) for k in ("projectedLow", "projected", "projectedHigh"))
    assert spent_this_month <= low <= mid <= high
    [total] = current["totals"]
    assert money(total["spentToDate"]) == spent_this_month
    assert (
        money(total["projectedLow"]) <= money(total["projected"]) <= money(total["projectedHigh"])
    )


# -- WatchInsights -------------------------------------------------------------------------------


async def watchers(mesh: Mesh) -> float:
    """insight_svc's open WatchInsights streams, from its Prometheus endpoint."""
    port = mesh.cfg.ports.insight_metrics
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    for line in text.splitlines():
        if line.startswith("finmesh_insight_watchers "):
            return float(line.split()[1])
    raise AssertionError("no finmesh_insight_watchers metric")


async def test_watch_through_envoy_streams_the_callers_new_insights_and_never_another_users(
    mesh: Mesh, producer: EventProducer
) -> None:
    alice, bob = new_user("watch-a"), new_user("watch-b")
    month = str(Month.of(utc_today()))
    seen: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(base_url=mesh.envoy_url, timeout=httpx.Timeout(60, read=60)) as client,
        client.stream("GET", "/v1/insights:watch", headers=mesh.headers(alice)) as resp,
    ):
        assert resp.status_code == 200
        parser = JsonArrayStream()
        chunks = resp.aiter_text()

        async def next_items() -> list[dict[str, Any]]:
            items = parser.feed(await anext(chunks))
            seen.extend(items)
            return items

        # The stream opens with a heartbeat: the subscription is live.
        first = await asyncio.wait_for(next_items(), 30)
        while not first:
            first = await asyncio.wait_for(next_items(), 30)
        assert "heartbeat" in first[0]

        await publish(producer, INSIGHTS, bob, threshold(bob, month, "travel", 100, "900", "800"))
        mine = threshold(alice, month, "groceries", 80, "240.00", "300.00")
        await publish(producer, INSIGHTS, alice, mine)
        old = expense(alice, utc_today(), "5.00", "", "")
        now = expense(alice, utc_today(), "5.00", "Costa", "dining", expense_id=old.id)
        await publish(producer, RAW, alice, changed(alice, now, old))

        async def until_both() -> None:
            while not (any("expense" in i for i in seen) and any("insight" in i for i in seen)):
                await next_items()

        await asyncio.wait_for(until_both(), 45)
        assert await watchers(mesh) >= 1

    # The client went away: the server ends the stream and forgets the watcher.
    await eventually(lambda: watchers(mesh), lambda n: n == 0, what="the watcher to be dropped")

    insights = [i["insight"] for i in seen if "insight" in i]
    assert [(i["category"], i["thresholdPercent"]) for i in insights] == [("groceries", 80)]
    assert insights[0]["type"] == "INSIGHT_TYPE_BUDGET_THRESHOLD"
    [exp] = [i["expense"] for i in seen if "expense" in i]
    assert exp["id"] == now.id and exp["merchant"] == "Costa" and exp["category"] == "dining"
    assert bob not in str(seen)


# -- isolation and bad input -------------------------------------------------------------------


async def test_another_user_never_sees_a_users_data_in_any_rpc(
    mesh: Mesh, producer: EventProducer, envoy: httpx.AsyncClient
) -> None:
    alice, bob = new_user("iso-a"), new_user("iso-b")
    month = Month.of(utc_today())
    es = [
        expense(
            alice, add_months(month.first, -i, anchor_day=5), "15.00", "Spotify", "subscriptions"
        )
        for i in range(4)
    ]
    for e in es:
        await publish(producer, RAW, alice, recorded(alice, e))
    await publish(producer, INSIGHTS, alice, threshold(alice, str(month), "dining", 50, "1", "2"))
    await eventually(
        lambda: list_insights(envoy, mesh, alice),
        lambda items: len(items) >= 2,
        what="alice's insights",
    )
    assert (await get(envoy, mesh, alice, "/v1/insights/recurring"))["recurringPayments"]

    assert await list_insights(envoy, mesh, bob) == []
    assert (await get(envoy, mesh, bob, "/v1/insights/recurring"))["recurringPayments"] == []
    summary = await get(envoy, mesh, bob, "/v1/insights/summary", month=str(month))
    for key in ("totals", "topMerchants", "daily"):
        assert summary.get(key, []) == []
    assert all(money(c["spent"]) == 0 for c in summary.get("categories", []))
    forecast = await get(envoy, mesh, bob, "/v1/insights/forecast", month=str(month))
    assert all(money(c["spentToDate"]) == 0 for c in forecast.get("categories", []))
    assert "Spotify" not in str(summary) + str(forecast)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/insights/summary", {"month": "2026-13"}, "month"),
        ("/v1/insights/forecast", {"month": "May 2026"}, "month"),
        ("/v1/insights", {"month": "2026-1"}, "month"),
        ("/v1/insights", {"pageSize": "-1"}, "page_size"),
        ("/v1/insights", {"pageToken": "not-a-token"}, "page_token"),
        ("/v1/insights/recurring", {"pageSize": "-5"}, "page_size"),
        ("/v1/insights/recurring", {"pageToken": "eyJmIjoxfQ"}, "page_token"),
    ],
)
async def test_bad_input_is_400_naming_the_field(
    mesh: Mesh, envoy: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    resp = await envoy.get(path, params=params, headers=mesh.headers(new_user("bad")))
    assert resp.status_code == 400, resp.text
    body = resp.json()
    violations = [
        v["field"]
        for d in body["details"]
        if d["@type"].endswith("google.rpc.BadRequest")
        for v in d["fieldViolations"]
    ]
    assert violations == [field]


# -- budgets from expense_svc ----------------------------------------------------------------


async def test_summary_and_forecast_use_the_callers_budgets_from_expense_svc(
    mesh: Mesh, producer: EventProducer, envoy: httpx.AsyncClient
) -> None:
    user = new_user("budgets")
    this = Month.of(utc_today())
    for category, units in (("groceries", "3000"), ("dining", "100"), ("transport", "5")):
        resp = await envoy.patch(
            f"/v1/budgets/{this}/{category}",
            json={"limit": {"currencyCode": "GBP", "units": units}},
            headers=mesh.headers(user),
        )
        assert resp.status_code == 200, resp.text
    # Someone else's budget never shows up in this user's figures.
    resp = await envoy.patch(
        f"/v1/budgets/{this}/groceries",
        json={"limit": {"currencyCode": "GBP", "units": "5"}},
        headers=mesh.headers(new_user("budgets-other")),
    )
    assert resp.status_code == 200, resp.text
    amounts = [Decimal("61.30"), Decimal("18.45")]
    for a in amounts:
        e = expense(user, this.first, str(a), "Waitrose", "groceries")
        await publish(producer, RAW, user, recorded(user, e))
    taxi = expense(user, this.first, "12.00", "Uber", "transport")
    await publish(producer, RAW, user, recorded(user, taxi))
    spent = sum(amounts, Decimal(0)) + Decimal("12.00")

    resp = await eventually(
        lambda: envoy.get(
            "/v1/insights/summary", params={"month": str(this)}, headers=mesh.headers(user)
        ),
        lambda r: (
            r.status_code == 200
            and [money(t["spent"]) for t in r.json().get("totals", [])] == [spent]
        ),
        what="the summary",
    )
    assert "x-finmesh-degraded" not in resp.headers
    cats = {c["category"]: c for c in resp.json()["categories"]}
    assert money(cats["groceries"]["budgetLimit"]) == Decimal(3000)
    groceries_spent = sum(amounts, Decimal(0))
    assert money(cats["groceries"]["budgetRemaining"]) == Decimal(3000) - groceries_spent
    assert cats["groceries"]["budgetPercentUsed"] == pytest.approx(
        float(groceries_spent / 30), abs=0.05
    )
    # Overspent: nothing remains (never negative), more than 100% used.
    assert money(cats["transport"]["budgetRemaining"]) == 0
    assert cats["transport"]["budgetPercentUsed"] == pytest.approx(240.0)
    # A budget with nothing spent is listed too.
    assert money(cats["dining"]["spent"]) == 0
    assert money(cats["dining"]["budgetLimit"]) == Decimal(100)
    assert money(cats["dining"]["budgetRemaining"]) == Decimal(100)

    forecast = await get(envoy, mesh, user, "/v1/insights/forecast", month=str(this))
    [total] = forecast["totals"]
    assert money(total["budgetLimit"]) == Decimal(3105)
    days_left = forecast["daysRemaining"]
    expected = ((Decimal(3105) - spent) / (days_left + 1)).quantize(
        Decimal("0.01"), rounding="ROUND_FLOOR"
    )
    assert money(total["safeToSpendToday"]) == expected
    fcats = {c["category"]: c for c in forecast["categories"]}
    assert money(fcats["dining"]["budgetLimit"]) == Decimal(100)
    # Even on the 1st, the pace of 79.75 a day cannot take groceries past 3000.
    assert fcats["groceries"]["overBudget"] is False
    assert fcats["transport"]["overBudget"] is True
    # Projected over budget in the current month: a forecast-overspend insight, stored once
    # however often the forecast is asked for.
    await get(envoy, mesh, user, "/v1/insights/forecast", month=str(this))
    overspend = await eventually(
        lambda: list_insights(envoy, mesh, user, type="INSIGHT_TYPE_FORECAST_OVERSPEND"),
        lambda items: len(items) >= 1,
        what="the forecast-overspend insight",
    )
    await get(envoy, mesh, user, "/v1/insights/forecast", month=str(this))
    await publish(producer, INSIGHTS, user, threshold(user, str(this), "transport", 100, "12", "5"))
    await eventually(
        lambda: list_insights(envoy, mesh, user, type="INSIGHT_TYPE_BUDGET_THRESHOLD"),
        lambda items: len(items) == 1,
        what="a later event on the same partition",
    )
    again = await list_insights(envoy, mesh, user, type="INSIGHT_TYPE_FORECAST_OVERSPEND")
    assert [i["id"] for i in again] == [overspend[0]["id"]]
    assert again[0]["category"] == "transport"
    assert money(again[0]["referenceAmount"]) == Decimal(5)
    assert money(again[0]["amount"]) >= Decimal(12)


async def test_a_deletion_without_the_expense_snapshot_still_removes_it(
    mesh: Mesh, producer: EventProducer, envoy: httpx.AsyncClient
) -> None:
    user = new_user("bare-delete")
    month = Month.of(utc_today()).add(-1)
    keep = expense(user, month.first, "10.00", "Boots", "health")
    drop = expense(user, month.first, "99.00", "Boots", "health")
    await publish(producer, RAW, user, recorded(user, keep), recorded(user, drop))
    bare = events_pb2.ExpenseDeleted(
        event_id=str(uuid.uuid4()),
        occur_time=ts(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)),
        user_id=user,
        expense_id=drop.id,
    )
    await publish(producer, RAW, user, bare)
    sentinel = expense(user, month.first, "0.01", "Sentinel", "other")
    await publish(producer, RAW, user, recorded(user, sentinel))
    body = await eventually(
        lambda: get(envoy, mesh, user, "/v1/insights/summary", month=str(month)),
        lambda b: any(m["merchant"] == "Sentinel" for m in b.get("topMerchants", [])),
        what="the sentinel",
    )
    [total] = body["totals"]
    assert money(total["spent"]) == Decimal("10.01")
    assert total["expenseCount"] == 2


# -- end to end with expense_svc ---------------------------------------------------------------


async def test_expenses_created_through_expense_svc_reach_the_summary_via_its_outbox(
    mesh: Mesh, envoy: httpx.AsyncClient
) -> None:
    user = new_user("e2e")
    month = Month.of(utc_today()).add(-1)
    rows = [
        ("12.40", "groceries", 3, "DEBIT"),
        ("7.25", "dining", 9, "DEBIT"),
        ("88.10", "groceries", 17, "DEBIT"),
        ("20.00", "shopping", 18, "CREDIT"),
    ]
    ids = []
    for amount, category, day, direction in rows:
        units, nanos = amount.split(".")
        resp = await envoy.post(
            "/v1/expenses",
            json={
                "amount": {"currencyCode": "GBP", "units": units, "nanos": int(nanos) * 10**7},
                "description": f"{category} purchase",
                "category": category,
                "direction": f"DIRECTION_{direction}",
                "date": {"year": month.year, "month": month.month, "day": day},
            },
            headers={**mesh.headers(user), "Idempotency-Key": str(uuid.uuid4())},
        )
        assert resp.status_code == 200, resp.text
        ids.append(resp.json()["id"])
    # A user edit (category and amount) flows through the outbox as ExpenseChanged.
    resp = await envoy.patch(
        f"/v1/expenses/{ids[1]}",
        json={
            "amount": {"currencyCode": "GBP", "units": "9", "nanos": 500000000},
            "category": "entertainment",
        },
        params={"updateMask": "amount,category"},
        headers=mesh.headers(user),
    )
    assert resp.status_code == 200, resp.text

    want = {"groceries": Decimal("100.50"), "entertainment": Decimal("9.50")}
    body = await eventually(
        lambda: get(envoy, mesh, user, "/v1/insights/summary", month=str(month)),
        lambda b: (
            {c["category"]: money(c["spent"]) for c in b.get("categories", []) if money(c["spent"])}
            == want
        ),
        what="expense_svc's events in the projection",
        timeout_seconds=60,
    )
    [total] = body["totals"]
    assert money(total["spent"]) == Decimal("110.00")
    assert money(total["received"]) == Decimal("20.00")
    assert total["expenseCount"] == 4


# -- poison events -----------------------------------------------------------------------------


async def test_an_event_that_cannot_become_an_insight_is_dead_lettered_and_the_partition_moves_on(
    mesh: Mesh, producer: EventProducer, envoy: httpx.AsyncClient
) -> None:
    user = new_user("poison")
    month = str(Month.of(utc_today()))
    kindless = events_pb2.InsightRaised(
        event_id=str(uuid.uuid4()), occur_time=ts(dt.datetime.now(dt.UTC)), user_id=user
    )
    bad_month = threshold(user, "2026-13", "dining", 50, "1", "2")
    good = threshold(user, month, "dining", 50, "1", "2")
    await publish(producer, INSIGHTS, user, kindless, bad_month, good)
    await eventually(
        lambda: list_insights(envoy, mesh, user),
        lambda items: len(items) == 1,
        what="the good event after the poison ones",
    )
    out = io.StringIO()
    await asyncio.to_thread(
        tail,
        mesh.cfg.kafka_bootstrap_servers,
        "insights.events.dlq",
        from_beginning=True,
        out=out,
        idle_timeout=3,
    )
    dead = [json.loads(line) for line in out.getvalue().splitlines()]
    mine = {d["eventId"]: d for d in dead if d["key"] == user}
    assert set(mine) == {kindless.event_id, bad_month.event_id}
    for d in mine.values():
        assert d["headers"]["dlq-source-topic"] == INSIGHTS
        assert d["headers"]["dlq-error"]
