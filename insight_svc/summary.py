"""A month's spending summary, computed exactly (Decimal) from the projected expenses.

Pure: the service passes the month's and the previous month's expenses and the budgets.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from insight_svc.model import ZERO, BudgetLimit, Month, Txn, percent

TOP_MERCHANTS = 10


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    spent: Decimal
    received: Decimal
    previous_month_spent: Decimal
    expense_count: int


@dataclass(frozen=True)
class CategorySpend:
    category: str
    currency: str
    spent: Decimal
    previous_month_spent: Decimal
    expense_count: int
    budget_limit: Decimal | None

    @property
    def change_percent(self) -> float:
        if self.previous_month_spent == 0:
            return 0.0
        return percent(self.spent - self.previous_month_spent, self.previous_month_spent)

    @property
    def budget_remaining(self) -> Decimal | None:
        if self.budget_limit is None:
            return None
        return max(ZERO, self.budget_limit - self.spent)

    @property
    def budget_percent_used(self) -> float:
        return percent(self.spent, self.budget_limit) if self.budget_limit else 0.0


@dataclass(frozen=True)
class MerchantSpend:
    merchant: str
    currency: str
    category: str
    spent: Decimal
    expense_count: int


@dataclass(frozen=True)
class DailySpend:
    date: dt.date
    currency: str
    spent: Decimal
    cumulative_spent: Decimal


@dataclass(frozen=True)
class Summary:
    month: Month
    previous_month: Month
    totals: list[CurrencyTotal] = field(default_factory=list)
    categories: list[CategorySpend] = field(default_factory=list)
    top_merchants: list[MerchantSpend] = field(default_factory=list)
    daily: list[DailySpend] = field(default_factory=list)


def summarize(
    month: Month,
    current: Sequence[Txn],
    previous: Sequence[Txn],
    budgets: Sequence[BudgetLimit],
    today: dt.date,
) -> Summary:
    """``current`` are the month's expenses, ``previous`` the month before's."""
    prev_month = month.add(-1)
    current = [t for t in current if month.contains(t.date)]
    previous = [t for t in previous if prev_month.contains(t.date)]

    spent: dict[str, Decimal] = defaultdict(Decimal)
    received: dict[str, Decimal] = defaultdict(Decimal)
    prev_spent: dict[str, Decimal] = defaultdict(Decimal)
    count: Counter[str] = Counter()
    for t in current:
        count[t.currency] += 1
        if t.is_debit:
            spent[t.currency] += t.amount
        else:
            received[t.currency] += t.amount
    for t in previous:
        if t.is_debit:
            prev_spent[t.currency] += t.amount
    currencies = sorted(set(count) | {t.currency for t in previous})
    totals = [CurrencyTotal(c, spent[c], received[c], prev_spent[c], count[c]) for c in currencies]

    cat_spent: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    cat_prev: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    cat_count: Counter[tuple[str, str]] = Counter()
    for t in current:
        if t.is_debit:
            k = (t.category_or_uncategorized, t.currency)
            cat_spent[k] += t.amount
            cat_count[k] += 1
    for t in previous:
        if t.is_debit:
            cat_prev[(t.category_or_uncategorized, t.currency)] += t.amount
    limits = {(b.category, b.currency): b.limit for b in budgets}
    keys = set(cat_spent) | set(limits)
    categories = sorted(
        (
            CategorySpend(
                category=cat,
                currency=cur,
                spent=cat_spent.get((cat, cur), ZERO),
                previous_month_spent=cat_prev.get((cat, cur), ZERO),
                expense_count=cat_count[(cat, cur)],
                budget_limit=limits.get((cat, cur)),
            )
            for cat, cur in keys
        ),
        key=lambda c: (-c.spent, c.currency, c.category),
    )

    merchants: dict[tuple[str, str], list[Txn]] = defaultdict(list)
    for t in current:
        if t.is_debit and t.merchant:
            merchants[(t.merchant, t.currency)].append(t)
    by_currency: dict[str, list[MerchantSpend]] = defaultdict(list)
    for (name, cur), txns in merchants.items():
        cats = Counter(t.category_or_uncategorized for t in txns)
        top_cat = min(cats, key=lambda c: (-cats[c], c))
        by_currency[cur].append(
            MerchantSpend(name, cur, top_cat, sum((t.amount for t in txns), ZERO), len(txns))
        )
    top: list[MerchantSpend] = []
    for cur in sorted(by_currency):
        top += sorted(by_currency[cur], key=lambda m: (-m.spent, m.merchant))[:TOP_MERCHANTS]
    top.sort(key=lambda m: (-m.spent, m.currency, m.merchant))

    daily: list[DailySpend] = []
    end = min(month.last, today)
    day_spent: dict[tuple[dt.date, str], Decimal] = defaultdict(Decimal)
    for t in current:
        if t.is_debit:
            day_spent[(t.date, t.currency)] += t.amount
    debit_currencies = sorted({t.currency for t in current if t.is_debit})
    running: dict[str, Decimal] = defaultdict(Decimal)
    day = month.first
    while day <= end:
        for cur in debit_currencies:
            amount = day_spent.get((day, cur), ZERO)
            running[cur] += amount
            daily.append(DailySpend(day, cur, amount, running[cur]))
        day += dt.timedelta(days=1)

    return Summary(month, prev_month, totals, categories, top, daily)
