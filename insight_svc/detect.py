"""Anomaly detectors: unusual spending against a robust baseline, and duplicate charges.

Pure functions; the consumer feeds them from the projection and turns what they find into
``InsightRaised`` events.

Unusual spending. The baseline of a category is the person's own debits in it (same currency,
the year before the expense, the expense itself excluded): its median ``m`` and median absolute
deviation ``MAD``. Scaled by 1.4826, the MAD estimates the standard deviation of normal data
without being dragged by the outliers we are looking for (mean and standard deviation would be).
An expense is unusual when it is more than ``3.5`` robust deviations above the median *and* at
least twice the median (so categories with almost identical amounts, where the MAD is ~0, do
not flag a £1 difference). At least :data:`MIN_BASELINE` earlier expenses are needed.

Duplicate charges: another debit with the same payee, amount and currency within
:data:`DUPLICATE_WINDOW_DAYS` days (expenses carry dates, not times, so "48 hours" means "at
most two days apart").
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from insight_svc.model import Txn

MIN_BASELINE = 6
ROBUST_Z = Decimal("3.5")
MAD_TO_SIGMA = Decimal("1.4826")
MIN_RATIO = Decimal(2)
BASELINE_DAYS = 365
DUPLICATE_WINDOW_DAYS = 2


@dataclass(frozen=True)
class Baseline:
    median: Decimal
    mad: Decimal
    count: int

    @property
    def threshold(self) -> Decimal:
        """The amount above which an expense is unusual."""
        return max(self.median + ROBUST_Z * MAD_TO_SIGMA * self.mad, self.median * MIN_RATIO)


def baseline(amounts: Sequence[Decimal]) -> Baseline | None:
    """The robust baseline of ``amounts``; None with fewer than :data:`MIN_BASELINE`."""
    if len(amounts) < MIN_BASELINE:
        return None
    median = Decimal(statistics.median(amounts))
    mad = Decimal(statistics.median(abs(a - median) for a in amounts))
    return Baseline(median, mad, len(amounts))


def unusual(expense: Txn, history: Sequence[Txn]) -> Baseline | None:
    """The baseline ``expense`` is far above, or None if it is not unusual.

    ``history`` may contain anything; only the same category's debits in the same currency
    within the year before the expense (and not the expense itself) count.
    """
    if not expense.is_debit or not expense.category:
        return None
    start = expense.date - dt.timedelta(days=BASELINE_DAYS)
    amounts = [
        t.amount
        for t in history
        if t.id != expense.id
        and t.is_debit
        and t.category == expense.category
        and t.currency == expense.currency
        and start <= t.date <= expense.date
    ]
    base = baseline(amounts)
    if base is None or expense.amount <= base.threshold:
        return None
    return base


def duplicates(expense: Txn, others: Sequence[Txn]) -> list[Txn]:
    """The charges ``expense`` duplicates and itself, oldest first; empty if none."""
    if not expense.is_debit or not expense.key:
        return []
    window = dt.timedelta(days=DUPLICATE_WINDOW_DAYS)
    same = [
        t
        for t in others
        if t.id != expense.id
        and t.is_debit
        and t.key == expense.key
        and t.amount == expense.amount
        and t.currency == expense.currency
        and abs(t.date - expense.date) <= window
    ]
    if not same:
        return []
    return sorted([*same, expense], key=lambda t: (t.date, t.id))
