"""Month-end forecast (pure): range ordering, recurring payments still due, safe to spend."""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_FLOOR, Decimal

from insight_svc import forecast, recurring
from insight_svc.model import BudgetLimit, Month, Txn, add_months
from tests.insight.helpers import txn

D = dt.date
TODAY = D(2026, 6, 10)


def _groceries() -> list[Txn]:
    rng = random.Random(7)
    out = []
    for m in range(1, 7):
        for day in (2, 9, 16, 23, 26):
            d = D(2026, m, day + m % 3)
            amount = Decimal(rng.randint(2500, 7500)) / 100
            out.append(txn(d, str(amount), "Tesco", category="groceries"))
    return out


def _history() -> list[Txn]:
    out = _groceries()
    # Netflix on the 20th each month, rent on the 1st.
    for m in range(6):
        out.append(txn(add_months(D(2026, 1, 20), m), "10.99", "Netflix"))
        out.append(txn(add_months(D(2026, 1, 1), m), "1200.00", "Landlord", category="housing"))
    return [t for t in out if t.date <= TODAY]


def _june_groceries_to_date() -> Decimal:
    return sum(
        (t.amount for t in _groceries() if Month(2026, 6).contains(t.date) and t.date <= TODAY),
        Decimal(0),
    )


def test_range_is_ordered_and_recurring_payments_still_due_are_included() -> None:
    txns = _history()
    series = recurring.detect("u", txns, TODAY)
    f = forecast.forecast(Month(2026, 6), TODAY, txns, series, budgets=None)
    assert f.as_of == TODAY
    assert f.days_remaining == 20
    by_cat = {c.category: c for c in f.categories}
    for c in f.categories:
        assert c.projected_low <= c.projected <= c.projected_high, c
        assert c.spent_to_date <= c.projected_low
    subs = by_cat["subscriptions"]
    assert subs.spent_to_date == 0
    assert subs.due == Decimal("10.99")  # Netflix on the 20th is still to come
    assert subs.projected >= Decimal("10.99")
    housing = by_cat["housing"]
    assert housing.spent_to_date == Decimal("1200.00")
    assert housing.due == 0  # rent for June is paid
    groceries = by_cat["groceries"]
    assert groceries.spent_to_date == _june_groceries_to_date()
    after_10th = [
        sum(
            (t.amount for t in _groceries() if Month(2026, m).contains(t.date) and t.date.day > 10),
            Decimal(0),
        )
        for m in range(1, 6)
    ]
    spent = groceries.spent_to_date
    assert spent + min(after_10th) / 2 <= groceries.projected <= spent + max(after_10th) * 2
    assert groceries.projected_low < groceries.projected_high
    [total] = f.totals
    assert total.projected == sum(c.projected for c in f.categories)
    assert total.safe_to_spend_today is None and total.budget_limit is None


def test_safe_to_spend_is_budget_minus_spent_and_due_over_days_left() -> None:
    txns = _history()
    series = recurring.detect("u", txns, TODAY)
    budgets = [
        BudgetLimit("groceries", "GBP", Decimal("300")),
        BudgetLimit("subscriptions", "GBP", Decimal("20")),
    ]
    f = forecast.forecast(Month(2026, 6), TODAY, txns, series, budgets)
    [total] = f.totals
    assert total.budget_limit == Decimal("320")
    # (320 - groceries spent - 10.99 Netflix due) / (20 days left + today), rounded down.
    expected = (Decimal(320) - _june_groceries_to_date() - Decimal("10.99")) / 21
    assert total.safe_to_spend_today == expected.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    assert total.safe_to_spend_today > 0
    over = [
        BudgetLimit("groceries", "GBP", Decimal("50")),
    ]
    f2 = forecast.forecast(Month(2026, 6), TODAY, txns, series, over)
    assert f2.totals[0].safe_to_spend_today == 0
    assert {c.category: c.over_budget for c in f2.categories}["groceries"] is True


def test_a_past_month_gives_its_actual_totals_with_the_range_collapsed() -> None:
    txns = _history()
    f = forecast.forecast(Month(2026, 5), TODAY, txns, recurring.detect("u", txns, TODAY), None)
    assert f.days_remaining == 0
    assert f.as_of == D(2026, 5, 31)
    groceries = {c.category: c for c in f.categories}["groceries"]
    may = sum(t.amount for t in _groceries() if Month(2026, 5).contains(t.date))
    assert groceries.spent_to_date == may
    assert groceries.projected == groceries.projected_low == groceries.projected_high == may


def test_without_history_the_range_follows_the_months_pace() -> None:
    txns = [
        txn(D(2026, 6, 1), "30", "Cafe", category="dining"),
        txn(D(2026, 6, 6), "20", "Cafe", category="dining"),
    ]
    f = forecast.forecast(Month(2026, 6), TODAY, txns, [], None)
    [c] = f.categories
    # 50 over 10 days, 20 days left → 100 more.
    assert c.projected == Decimal("150.00")
    assert c.projected_low == Decimal("100.00")
    assert c.projected_high == Decimal("200.00")


def test_quantile_interpolates_exactly() -> None:
    values = [Decimal(x) for x in ["1", "2", "3", "4"]]
    assert forecast.quantile(values, Decimal("0.5")) == Decimal("2.5")
    assert forecast.quantile(values, Decimal("0.1")) == Decimal("1.3")
