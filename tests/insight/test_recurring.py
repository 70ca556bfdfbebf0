"""Recurring payment detection (pure): cadences, missed payments, jitter, price changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from insight_svc import recurring
from insight_svc.model import Txn, add_months
from insight_svc.recurring import Cadence, Status
from tests.insight.helpers import credit, txn

D = dt.date


def _monthly(
    start: D,
    amounts: list[str],
    merchant: str = "Netflix",
    skip: frozenset[int] = frozenset(),
    jitter: list[int] | None = None,
) -> list[Txn]:
    out = []
    for i, amount in enumerate(amounts):
        if i in skip:
            continue
        day = add_months(start, i) + dt.timedelta(days=(jitter or [0] * len(amounts))[i])
        out.append(txn(day, amount, merchant))
    return out


def test_monthly_series_with_a_missed_month_jitter_and_a_price_rise_is_detected() -> None:
    # Jan..Jul on the 15th ±3 days, March missed, price up from 5.99 to 6.99 in June.
    txns = _monthly(
        D(2026, 1, 15),
        ["5.99", "5.99", "5.99", "5.99", "5.99", "6.99", "6.99"],
        skip=frozenset({2}),
        jitter=[0, 3, 0, -3, 2, -2, 1],
    )
    # Noise at the same merchant that is not part of the rhythm, and another payee.
    txns.append(txn(D(2026, 4, 2), "25.00", "Tesco", category="groceries"))
    found = recurring.detect("u", txns, today=D(2026, 7, 20))
    assert len(found) == 1
    s = found[0]
    assert s.cadence is Cadence.MONTHLY
    assert s.status is Status.ESTABLISHED
    assert len(s.txns) == 6
    assert s.typical_amount == Decimal("6.99")  # the median at the current price
    assert s.last_amount == Decimal("6.99")
    assert s.annual_amount == Decimal("83.88")
    assert s.price_change is not None
    assert s.price_change.previous_amount == Decimal("5.99")
    assert s.price_change.new_amount == Decimal("6.99")
    assert s.price_change.change_percent == 16.7
    assert s.price_change.change_date == D(2026, 6, 13)
    assert s.next_expected_date == D(2026, 8, 15)
    assert s.category == "subscriptions"


def test_variable_bill_within_fifteen_percent_is_monthly_without_a_price_change() -> None:
    txns = _monthly(D(2026, 1, 3), ["61.20", "58.90", "64.10", "60.00", "66.30"], "Octopus Energy")
    [s] = recurring.detect("u", txns, today=D(2026, 5, 10))
    assert s.cadence is Cadence.MONTHLY
    assert s.price_change is None
    assert s.typical_amount == Decimal("61.20")


def test_weekly_fortnightly_four_weekly_quarterly_and_yearly_cadences() -> None:
    start = D(2025, 1, 6)
    cases = {
        Cadence.WEEKLY: [start + dt.timedelta(days=7 * i) for i in range(6)],
        Cadence.FORTNIGHTLY: [start + dt.timedelta(days=14 * i) for i in range(5)],
        Cadence.FOUR_WEEKLY: [start + dt.timedelta(days=28 * i) for i in range(6)],
        Cadence.QUARTERLY: [add_months(start, 3 * i) for i in range(4)],
        Cadence.YEARLY: [D(2022, 3, 1), D(2023, 3, 2), D(2024, 2, 28), D(2025, 3, 1)],
    }
    for cadence, days in cases.items():
        txns = [txn(d, "10.00", f"Payee {cadence.value}") for d in days]
        found = recurring.detect("u", txns, today=days[-1] + dt.timedelta(days=1))
        assert [s.cadence for s in found] == [cadence], cadence


def test_two_payments_are_early_and_a_series_that_missed_two_dates_is_stopped() -> None:
    early = _monthly(D(2026, 5, 10), ["9.99", "9.99"], "Spotify")
    stopped = _monthly(D(2025, 10, 20), ["4.99", "4.99", "4.99", "4.99"], "Disney")
    found = {s.merchant: s for s in recurring.detect("u", early + stopped, today=D(2026, 6, 12))}
    assert found["Spotify"].status is Status.EARLY
    assert found["Spotify"].next_expected_date == D(2026, 7, 10)
    # Last paid 20 Jan; 20 Feb and 20 Mar passed without a payment.
    assert found["Disney"].status is Status.STOPPED
    assert found["Disney"].next_expected_date is None
    # Stopped ones come last.
    ordered = recurring.detect("u", early + stopped, today=D(2026, 6, 12))
    assert [s.merchant for s in ordered] == ["Spotify", "Disney"]


def test_one_missed_date_keeps_the_series_alive_with_the_next_date_ahead() -> None:
    txns = _monthly(D(2026, 1, 5), ["12.00"] * 4, "Gym")
    [s] = recurring.detect("u", txns, today=D(2026, 5, 20))  # 5 May missed, 5 Jun not yet
    assert s.status is Status.ESTABLISHED
    assert s.next_expected_date == D(2026, 6, 5)


def test_irregular_spending_and_wildly_varying_amounts_are_not_recurring() -> None:
    days = [D(2026, 1, 3), D(2026, 1, 9), D(2026, 1, 27), D(2026, 2, 2), D(2026, 2, 25)]
    irregular = [txn(d, "30.00", "Pret") for d in days]
    varying = _monthly(D(2026, 1, 1), ["12.00", "80.00", "33.00", "150.00"], "Amazon")
    assert recurring.detect("u", irregular + varying, today=D(2026, 5, 1)) == []


def test_a_monthly_plan_among_one_off_purchases_at_the_same_merchant_is_found() -> None:
    plan = _monthly(D(2026, 1, 12), ["0.99"] * 5, "Apple")
    one_offs = [txn(D(2026, 2, 3), "49.99", "Apple"), txn(D(2026, 4, 21), "7.99", "Apple")]
    [s] = recurring.detect("u", plan + one_offs, today=D(2026, 5, 20))
    assert s.typical_amount == Decimal("0.99")
    assert len(s.txns) == 5


def test_salary_is_a_credit_series_and_ids_are_stable_as_history_grows() -> None:
    pay = [credit(add_months(D(2026, 1, 28), i), "2500.00", "ACME Ltd") for i in range(3)]
    [first] = recurring.detect("u", pay, today=D(2026, 4, 1))
    pay.append(credit(D(2026, 4, 28), "2500.00", "ACME Ltd"))
    [later] = recurring.detect("u", pay, today=D(2026, 5, 1))
    assert first.direction == 2
    assert later.id == first.id
    assert recurring.detect("other-user", pay, today=D(2026, 5, 1))[0].id != first.id
