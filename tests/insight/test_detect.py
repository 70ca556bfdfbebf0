"""Unusual spending (median/MAD baseline) and duplicate charges (pure)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from insight_svc import detect
from insight_svc.model import Txn
from tests.insight.helpers import txn

D = dt.date


def _groceries(amounts: list[str]) -> list[Txn]:
    return [
        txn(D(2026, 3, 1) + dt.timedelta(days=4 * i), a, "Tesco", category="groceries")
        for i, a in enumerate(amounts)
    ]


def test_baseline_is_median_and_mad_and_ignores_outliers() -> None:
    base = detect.baseline([Decimal(x) for x in ["40", "42", "45", "50", "55", "1000"]])
    assert base is not None
    assert base.median == Decimal("47.5")
    assert base.mad == Decimal("6.5")  # |x-47.5| = 7.5 5.5 2.5 2.5 7.5 952.5 → median 6.5
    assert detect.baseline([Decimal(1)] * (detect.MIN_BASELINE - 1)) is None


def test_a_charge_far_above_the_categorys_usual_is_unusual_and_a_normal_one_is_not() -> None:
    history = _groceries(["41.20", "55.10", "48.00", "39.90", "62.30", "51.75", "44.00"])
    big = txn(D(2026, 4, 5), "240.00", "Tesco", category="groceries")
    normal = txn(D(2026, 4, 5), "70.00", "Tesco", category="groceries")
    base = detect.unusual(big, [*history, big])
    assert base is not None
    assert base.median == Decimal("48.00")
    assert detect.unusual(normal, history) is None
    # Other categories and other currencies are not the baseline.
    other = [txn(D(2026, 3, 2), "900.00", "Currys", category="shopping")] * 8
    assert detect.unusual(big, other) is None
    eur = txn(D(2026, 4, 5), "240.00", "Tesco", category="groceries", currency="EUR")
    assert detect.unusual(eur, history) is None


def test_with_identical_amounts_only_twice_the_median_is_unusual() -> None:
    history = _groceries(["10.00"] * 8)
    assert (
        detect.unusual(txn(D(2026, 4, 5), "15.00", "Tesco", category="groceries"), history) is None
    )
    assert detect.unusual(txn(D(2026, 4, 5), "20.01", "Tesco", category="groceries"), history)


def test_too_little_history_is_never_unusual() -> None:
    history = _groceries(["10.00"] * (detect.MIN_BASELINE - 1))
    assert detect.unusual(txn(D(2026, 4, 5), "500", "Tesco", category="groceries"), history) is None


def test_same_merchant_and_amount_within_two_days_is_a_duplicate() -> None:
    first = txn(D(2026, 5, 10), "19.99", "Deliveroo", category="dining")
    second = txn(D(2026, 5, 11), "19.99", "Deliveroo", category="dining")
    later = txn(D(2026, 5, 14), "19.99", "Deliveroo", category="dining")
    different = txn(D(2026, 5, 10), "20.99", "Deliveroo", category="dining")
    assert detect.duplicates(second, [first, later, different]) == [first, second]
    assert detect.duplicates(later, [first, second, different]) == []
    # Whichever arrives first, the group and its latest member are the same.
    assert detect.duplicates(first, [second])[-1] == second
