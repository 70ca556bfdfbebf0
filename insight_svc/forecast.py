"""Month-end projection per category and currency, with a range, and "safe to spend today".

Pure. For each category and currency:

* ``spent_to_date``: debits dated in the month up to and including the as-of day;
* ``due``: the typical amount of every recurring payment (detected series, not stopped) whose
  next expected dates fall after the as-of day and within the month (also one that is a few
  days late, within its cadence's tolerance);
* the rest of the month's everyday (non-recurring) spending, estimated two ways: the month's
  own pace (non-recurring spent so far per elapsed day times days left), and the same stretch of
  days in each of up to six previous months the person has data for (what they spent after
  that day of the month, scaled to this month's days left). The estimate blends the two by
  how much of the month has passed; the range runs from the 10th to the 90th percentile of
  the historical stretches and the pace (widened to include the estimate). Without history the
  range is half to one and a half times the pace.

``projected = spent_to_date + due + estimate``, ``projected_low``/``projected_high`` the same with
the range ends, so ``low <= projected <= high`` always holds. A past month gives its actual
totals (range collapsed); a future month is projected from today (``as_of_date`` is
today, every day of the month remains, nothing is spent yet). A currency's totals add up its
categories (a sum of 10th percentiles is a cautious, not an exact, 10th percentile of the sum).

Safe to spend today (per currency with budgets): the budgets' total minus what was spent so far
in the budgeted categories and the recurring payments still due in them, spread over the days
left including today; never negative. Spending and bills in categories without a budget are
not counted against the budgets. Unset when budgets are unknown.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from insight_svc.model import ZERO, BudgetLimit, Month, Txn, cents
from insight_svc.recurring import Series, Status

HISTORY_MONTHS = 6


@dataclass(frozen=True)
class CategoryForecast:
    category: str
    currency: str
    spent_to_date: Decimal
    due: Decimal
    projected: Decimal
    projected_low: Decimal
    projected_high: Decimal
    budget_limit: Decimal | None

    @property
    def over_budget(self) -> bool:
        return self.budget_limit is not None and self.projected > self.budget_limit


@dataclass(frozen=True)
class ForecastTotal:
    currency: str
    spent_to_date: Decimal
    projected: Decimal
    projected_low: Decimal
    projected_high: Decimal
    budget_limit: Decimal | None
    safe_to_spend_today: Decimal | None


@dataclass(frozen=True)
class Forecast:
    month: Month
    as_of: dt.date
    days_remaining: int
    categories: list[CategoryForecast]
    totals: list[ForecastTotal]


def quantile(values: Sequence[Decimal], q: Decimal) -> Decimal:
    """Linear-interpolated quantile (as numpy's default), exact in Decimal."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("quantile of nothing")
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _as_of(month: Month, today: dt.date) -> tuple[dt.date, int]:
    this = Month.of(today)
    if month < this:
        return month.last, 0
    if month > this:
        return today, month.days
    return today, month.days - today.day


def forecast(
    month: Month,
    today: dt.date,
    txns: Sequence[Txn],
    series: Sequence[Series],
    budgets: Sequence[BudgetLimit] | None,
) -> Forecast:
    """``txns``: the person's expenses of ``month`` and the months before it (any order)."""
    as_of, days_left = _as_of(month, today)
    past = month < Month.of(today)
    recurring_ids = {t.id for s in series for t in s.txns}
    debits = [t for t in txns if t.is_debit]

    spent: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    everyday_spent: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for t in debits:
        if month.contains(t.date) and t.date <= as_of:
            k = (t.category_or_uncategorized, t.currency)
            spent[k] += t.amount
            if t.id not in recurring_ids:
                everyday_spent[k] += t.amount

    due: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    if not past:
        for s in series:
            if s.status is Status.STOPPED or s.direction != 1:
                continue
            start = as_of - dt.timedelta(days=s.spec.tolerance_days)
            dates = [d for d in s.expected_dates(start, month.last) if month.contains(d)]
            if dates:
                due[(s.category or "uncategorized", s.currency)] += s.typical_amount * len(dates)

    # What was spent after the as-of day of the month in earlier months, per key.
    history_months = [
        m
        for m in (month.add(-i) for i in range(1, HISTORY_MONTHS + 1))
        if any(m.contains(t.date) for t in txns)
    ]
    stretches: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    if days_left and history_months:
        per_month: dict[tuple[str, str, Month], Decimal] = defaultdict(Decimal)
        for t in debits:
            if t.id in recurring_ids:
                continue
            m = Month.of(t.date)
            if m in history_months and t.date.day > _cut(as_of, month, m):
                per_month[(t.category_or_uncategorized, t.currency, m)] += t.amount
        keys = {(c, cur) for c, cur, _ in per_month}
        for k in keys:
            for m in history_months:
                stretch_days = m.days - _cut(as_of, month, m)
                amount = per_month.get((k[0], k[1], m), ZERO)
                stretches[k].append(amount * days_left / stretch_days if stretch_days else ZERO)

    limits = {(b.category, b.currency): b.limit for b in budgets or ()}
    keys = set(spent) | set(due) | set(limits) | set(stretches)
    elapsed = max(0, month.days - days_left) if not past else month.days
    out: list[CategoryForecast] = []
    for k in keys:
        s_to_date = spent.get(k, ZERO)
        d = due.get(k, ZERO)
        if past or not days_left:
            est = low = high = ZERO
        else:
            pace = everyday_spent.get(k, ZERO) / elapsed * days_left if elapsed else ZERO
            samples = stretches.get(k, [])
            if samples:
                weight = Decimal(elapsed) / month.days
                median = quantile(samples, Decimal("0.5"))
                est = weight * pace + (1 - weight) * median
                spread = [*samples, pace] if elapsed else samples
                low = min(quantile(spread, Decimal("0.1")), est)
                high = max(quantile(spread, Decimal("0.9")), est)
            else:
                est, low, high = pace, pace / 2, pace * Decimal("1.5")
        base = s_to_date + d
        projected, p_low, p_high = cents(base + est), cents(base + low), cents(base + high)
        if projected == 0 and k not in limits and s_to_date == 0:
            continue
        out.append(
            CategoryForecast(k[0], k[1], s_to_date, d, projected, p_low, p_high, limits.get(k))
        )
    out.sort(key=lambda c: (-c.projected, c.currency, c.category))

    totals: list[ForecastTotal] = []
    for cur in sorted({c.currency for c in out}):
        cats = [c for c in out if c.currency == cur]
        budgeted = [c for c in cats if c.budget_limit is not None]
        limit: Decimal | None = None
        safe: Decimal | None = None
        if budgets is not None and budgeted:
            limit = sum((c.budget_limit or ZERO for c in budgeted), ZERO)
            committed = sum((c.spent_to_date + c.due for c in budgeted), ZERO)
            if past:
                safe = ZERO
            else:
                headroom = (limit - committed) / (days_left + 1)
                safe = max(ZERO, headroom.quantize(Decimal("0.01"), rounding=ROUND_FLOOR))
        totals.append(
            ForecastTotal(
                currency=cur,
                spent_to_date=sum((c.spent_to_date for c in cats), ZERO),
                projected=sum((c.projected for c in cats), ZERO),
                projected_low=sum((c.projected_low for c in cats), ZERO),
                projected_high=sum((c.projected_high for c in cats), ZERO),
                budget_limit=limit,
                safe_to_spend_today=safe,
            )
        )
    return Forecast(month, as_of, days_left, out, totals)


def _cut(as_of: dt.date, month: Month, other: Month) -> int:
    """The day of ``other`` matching the as-of day of ``month`` (days after it are "the rest")."""
    if not month.contains(as_of):
        return 0  # a future month: all of it is ahead
    return min(as_of.day, other.days)
