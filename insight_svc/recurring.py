"""Recurring payments (subscriptions, bills, wages) detected from a person's history.

Pure functions over :class:`~insight_svc.model.Txn` lists; no I/O.

How a series is found:

1. Expenses are grouped by payee (:func:`~insight_svc.model.merchant_key`), currency and
   direction.
2. Each group is tried against every cadence. Weekly, fortnightly and four-weekly compare the
   days between consecutive payments with the period (±1, ±2, ±2 days); monthly, quarterly and
   yearly snap each payment to the person's usual day of the month (the median day) and
   compare calendar months, so "around the 15th, ±3-4 days" fits monthly whatever the month's
   length. A gap of two or three periods counts as missed payments: up to one missed payment
   per two intervals is tolerated (at least one), so a skipped month does not break a series.
3. Amounts must be steady: each payment within ±15 % of the one before, except for a few
   jumps (one per four payments, at least one once there are three payments): a price rise
   is a jump that then stays.
4. The best-fitting cadence (smallest mean deviation relative to its period) wins. If the
   whole group fits none, payments are clustered by amount (±15 %) and each cluster is tried,
   so a monthly £0.99 plan among one-off purchases at the same store is still found.

Status: two payments are ``early``, three or more ``established``; once two expected dates have
passed (plus the tolerance) without a payment it is ``stopped``.

A price change is the latest point where a steady amount (at least two payments in a row)
changed to a new amount that every later payment kept.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from insight_svc.model import CREDIT, Month, Txn, add_months

#: Namespace of recurring payment ids (uuid5 of the user and the series' identity).
_NS = uuid.UUID("0b6f5f0e-6f8a-4c36-9a53-0cf3c1d2e4a1")

AMOUNT_TOLERANCE = Decimal("0.15")
MAX_PERIODS_PER_GAP = 3
MAX_SERIES_EXPENSE_IDS = 24


class Cadence(enum.Enum):
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    FOUR_WEEKLY = "four_weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class Status(enum.Enum):
    EARLY = "early"
    ESTABLISHED = "established"
    STOPPED = "stopped"


@dataclass(frozen=True)
class CadenceSpec:
    cadence: Cadence
    #: Fixed period in days, or None for calendar cadences.
    days: int | None
    #: Calendar months per period, or None for fixed-day cadences.
    months: int | None
    tolerance_days: int
    per_year: int

    @property
    def nominal_days(self) -> float:
        return float(self.days) if self.days is not None else 30.44 * (self.months or 1)


SPECS: tuple[CadenceSpec, ...] = (
    CadenceSpec(Cadence.WEEKLY, 7, None, 1, 52),
    CadenceSpec(Cadence.FORTNIGHTLY, 14, None, 2, 26),
    CadenceSpec(Cadence.FOUR_WEEKLY, 28, None, 2, 13),
    CadenceSpec(Cadence.MONTHLY, None, 1, 4, 12),
    CadenceSpec(Cadence.QUARTERLY, None, 3, 7, 4),
    CadenceSpec(Cadence.YEARLY, None, 12, 10, 1),
)
SPEC_BY_CADENCE = {s.cadence: s for s in SPECS}


@dataclass(frozen=True)
class PriceChange:
    previous_amount: Decimal
    new_amount: Decimal
    change_date: dt.date
    #: The first expense at the new amount.
    expense_id: str

    @property
    def change_percent(self) -> float:
        if self.previous_amount == 0:
            return 0.0
        ratio = (self.new_amount - self.previous_amount) * 100 / self.previous_amount
        return float(ratio.quantize(Decimal("0.1")))


@dataclass(frozen=True)
class Series:
    """A detected recurring payment."""

    id: str
    key: str
    merchant: str
    category: str
    direction: int
    currency: str
    spec: CadenceSpec
    txns: tuple[Txn, ...]
    typical_amount: Decimal
    next_expected_date: dt.date | None
    status: Status
    price_change: PriceChange | None
    #: The usual day of the month (calendar cadences).
    anchor_day: int

    @property
    def cadence(self) -> Cadence:
        return self.spec.cadence

    @property
    def first_date(self) -> dt.date:
        return self.txns[0].date

    @property
    def last_date(self) -> dt.date:
        return self.txns[-1].date

    @property
    def last_amount(self) -> Decimal:
        return self.txns[-1].amount

    @property
    def annual_amount(self) -> Decimal:
        return self.typical_amount * self.spec.per_year

    @property
    def expense_ids(self) -> list[str]:
        return [t.id for t in self.txns[-MAX_SERIES_EXPENSE_IDS:]]

    def expected_dates(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Expected payment dates after the last payment, within ``[start, end]``."""
        out: list[dt.date] = []
        for k in range(1, 400):
            due = expected_after(self.spec, self.last_date, k, self.anchor_day)
            if due > end:
                break
            if due >= start:
                out.append(due)
        return out


def expected_after(spec: CadenceSpec, last: dt.date, periods: int, anchor_day: int) -> dt.date:
    """The date ``periods`` periods after a payment on ``last``."""
    if spec.days is not None:
        return last + dt.timedelta(days=spec.days * periods)
    return add_months(
        _snap(last, anchor_day)[1], (spec.months or 1) * periods, anchor_day=anchor_day
    )


def _snap(day: dt.date, anchor_day: int) -> tuple[int, dt.date]:
    """The anchor date nearest ``day`` (in its month or a neighbour): (month index, date)."""
    best: tuple[int, int, dt.date] | None = None
    base = Month.of(day)
    for shift in (-1, 0, 1):
        m = base.add(shift)
        candidate = dt.date(m.year, m.month, min(anchor_day, m.days))
        distance = abs((day - candidate).days)
        if best is None or distance < best[0]:
            best = (distance, m.year * 12 + m.month - 1, candidate)
    assert best is not None
    return best[1], best[2]


@dataclass(frozen=True)
class _Fit:
    spec: CadenceSpec
    txns: tuple[Txn, ...]
    score: float
    anchor_day: int


def _fit(spec: CadenceSpec, txns: Sequence[Txn]) -> _Fit | None:
    """Fit ``txns`` (date order) to ``spec``; None if they do not recur at that cadence."""
    anchor = int(statistics.median_low(t.date.day for t in txns))
    kept: list[Txn] = [txns[0]]
    residuals: list[int] = []
    missed = 0
    extras = 0
    for t in txns[1:]:
        prev = kept[-1]
        if spec.days is not None:
            diff = (t.date - prev.date).days
            k = round(diff / spec.days)
            residual = abs(diff - k * spec.days)
        else:
            step_months = _snap(t.date, anchor)[0] - _snap(prev.date, anchor)[0]
            per = spec.months or 1
            k = step_months // per if step_months % per == 0 else -1
            residual = abs((t.date - _snap(t.date, anchor)[1]).days)
            if k >= 1:
                residual = max(residual, abs((prev.date - _snap(prev.date, anchor)[1]).days))
        if k == 0:
            extras += 1  # a second charge within one period: not part of the rhythm
            continue
        if k < 0 or k > MAX_PERIODS_PER_GAP or residual > spec.tolerance_days:
            return None
        missed += k - 1
        residuals.append(residual)
        kept.append(t)
    intervals = len(kept) - 1
    if intervals < 1 or extras * 4 > len(txns):
        return None
    if missed > max(1, intervals // 2) or (intervals == 1 and missed):
        return None
    if not _steady_amounts([t.amount for t in kept]):
        return None
    score = (sum(residuals) / len(residuals) + missed) / spec.nominal_days
    return _Fit(spec, tuple(kept), score, anchor)


def _steady_amounts(amounts: Sequence[Decimal]) -> bool:
    jumps = sum(
        1
        for prev, cur in itertools.pairwise(amounts)
        if prev == 0 or abs(cur - prev) > prev * AMOUNT_TOLERANCE
    )
    allowed = 0 if len(amounts) == 2 else max(1, (len(amounts) - 1) // 4)
    return jumps <= allowed


def _best_fit(txns: Sequence[Txn]) -> _Fit | None:
    fits = [f for spec in SPECS if (f := _fit(spec, txns)) is not None]
    if not fits:
        return None
    # Prefer the best score; on a tie the cadence that keeps more payments, then the shorter.
    return min(fits, key=lambda f: (round(f.score, 6), -len(f.txns), SPECS.index(f.spec)))


def _price_change(txns: Sequence[Txn]) -> PriceChange | None:
    amounts = [t.amount for t in txns]
    n = len(amounts)
    start = n - 1
    while start > 0 and amounts[start - 1] == amounts[-1]:
        start -= 1
    if start == 0:
        return None  # the amount never changed
    before = amounts[start - 1]
    run = 1
    while start - 1 - run >= 0 and amounts[start - 1 - run] == before:
        run += 1
    if run < 2:
        return None  # no steady price before: a variable bill, not a price change
    first_new = txns[start]
    return PriceChange(before, amounts[-1], first_new.date, first_new.id)


def _series_id(
    user_id: str, key: str, currency: str, direction: int, cadence: Cadence, part: str
) -> str:
    return str(uuid.uuid5(_NS, f"{user_id}|{key}|{currency}|{direction}|{cadence.value}|{part}"))


def _build(user_id: str, fit: _Fit, part: str, today: dt.date) -> Series:
    txns = fit.txns
    last = txns[-1]
    change = _price_change(txns)
    current = [t.amount for t in txns if change is None or t.date >= change.change_date]
    typical = statistics.median(current)
    tol = dt.timedelta(days=fit.spec.tolerance_days)
    second_due = expected_after(fit.spec, last.date, 2, fit.anchor_day)
    stopped = today > second_due + tol
    next_due: dt.date | None = None
    if not stopped:
        for k in range(1, 3):
            due = expected_after(fit.spec, last.date, k, fit.anchor_day)
            if due + tol >= today:
                next_due = due
                break
    status = Status.STOPPED if stopped else (Status.EARLY if len(txns) == 2 else Status.ESTABLISHED)
    categories = Counter(t.category for t in txns if t.category)
    merchant = next((t.merchant for t in reversed(txns) if t.merchant), "") or last.key.title()
    return Series(
        id=_series_id(user_id, last.key, last.currency, last.direction, fit.spec.cadence, part),
        key=last.key,
        merchant=merchant,
        category=categories.most_common(1)[0][0] if categories else "",
        direction=last.direction,
        currency=last.currency,
        spec=fit.spec,
        txns=txns,
        typical_amount=Decimal(typical),
        next_expected_date=next_due,
        status=status,
        price_change=change,
        anchor_day=fit.anchor_day,
    )


def _clusters(txns: Sequence[Txn]) -> list[list[Txn]]:
    """Payments grouped by amount: sorted, split where one is more than 15 % above the last."""
    ordered = sorted(txns, key=lambda t: t.amount)
    groups: list[list[Txn]] = [[ordered[0]]]
    for t in ordered[1:]:
        if t.amount > groups[-1][-1].amount * (1 + AMOUNT_TOLERANCE):
            groups.append([t])
        else:
            groups[-1].append(t)
    return [sorted(g, key=lambda t: (t.date, t.id)) for g in groups if len(g) >= 2]


def detect(user_id: str, txns: Iterable[Txn], today: dt.date) -> list[Series]:
    """Every recurring series in ``txns`` (any order), next expected first, stopped last."""
    groups: dict[tuple[str, str, int], list[Txn]] = defaultdict(list)
    for t in txns:
        if t.date > today:
            continue
        key = t.key
        if key:
            groups[(key, t.currency, CREDIT if t.direction == CREDIT else 1)].append(t)
    found: list[Series] = []
    for group in groups.values():
        group.sort(key=lambda t: (t.date, t.id))
        if len(group) < 2:
            continue
        fit = _best_fit(group)
        if fit is not None:
            found.append(_build(user_id, fit, "", today))
            continue
        for cluster in _clusters(group):
            fit = _best_fit(cluster)
            if fit is not None:
                median = statistics.median(t.amount for t in cluster)
                found.append(_build(user_id, fit, f"~{int(median)}", today))
    return sorted(found, key=sort_key)


def sort_key(s: Series) -> tuple[int, dt.date, str, str]:
    """Next expected first; stopped last (most recent first among them)."""
    if s.next_expected_date is None:
        return (1, dt.date.max - (s.last_date - dt.date.min), s.merchant, s.id)
    return (0, s.next_expected_date, s.merchant, s.id)
