"""Monthly budgets whose ``spent`` stays exact under any number of concurrent writers.

Two mechanisms, each guarding a different race (and each switchable for the tests that prove
it is needed):

* **Advisory lock per user and month** (``pg_advisory_xact_lock`` on :func:`lock_key`).
  Aggregation - computing ``spent`` from the expenses when a budget is created or its currency
  changes - takes it *exclusive*; every incremental spend change takes it *shared*. So a sum
  never runs while an expense write that it might miss (or count twice) is in flight, while
  writes to one month's different budgets still run in parallel.
* **Compare-and-swap on ``version``** for the incremental change itself: read ``spent`` and
  ``version``, compute, ``UPDATE ... WHERE version = <read>``; a lost race re-reads and retries
  (internal writers retry; user edits with a stale etag get ABORTED instead). Concurrent spend
  changes of one budget hold the shared lock together, so the CAS is what keeps them exact.
  Writers make the budget change the last statement before COMMIT, so a hot budget's row lock
  (taken by the UPDATE, released at COMMIT) is held for one round trip and few CAS reads go
  stale.
  CreateExpense commits one user's concurrent creates together (group commit,
  :mod:`expense_svc.batching`): one update per budget per batch, the deltas summed.

Threshold alerts (50/80/100 % of limit + carried over) are exactly-once by the primary key of
``budget_alerts``: the ``InsightRaised`` event goes into the outbox only when the alert row
was inserted, in the same transaction.

Public for other modules: :func:`lock_months` and then :func:`apply_spend_change` (the
enrichment consumer calls them when it moves an expense between categories), :func:`month_of`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from expense_svc import outbox
from expense_svc.categories import check_category
from expense_svc.convert import version_of_etag
from expense_svc.money import to_money
from expense_svc.tx import Pool, in_transaction
from finance.events.v1 import events_pb2
from finmesh.errors import Aborted, InvalidArgument, NotFound

log = logging.getLogger(__name__)

#: Switches for the concurrency tests, which prove each mechanism is needed by turning it
#: off. Never change them in production code.
USE_ADVISORY_LOCK = True
USE_CAS = True
#: Test-only hook awaited at named race points (``"spend.read"`` between reading and writing
#: ``spent``; ``"aggregate.sum"`` between summing the expenses and storing a new budget's
#: ``spent``) so a test can widen the window a missing mechanism leaves open. ``None`` in
#: production.
RACE_HOOK: Callable[[str], Awaitable[None]] | None = None

THRESHOLDS: tuple[int, ...] = (50, 80, 100)
INSIGHTS_TOPIC = "insights.events"
#: Internal writers give up (ABORTED, retryable) after this many lost CAS rounds.
MAX_CAS_ATTEMPTS = 100
#: How many months back a rollover chain is followed.
MAX_ROLLOVER_MONTHS = 12

_MONTH_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_THRESHOLD_NAMESPACE = uuid.UUID("6f1d3c1e-9a55-4f0e-8a53-1b7c4b7e2a10")

Conn = AsyncConnection[Any]


def is_month(value: str) -> bool:
    """True for ``YYYY-MM`` with a month 01-12."""
    return _MONTH_RE.fullmatch(value) is not None


def month_of(day: dt.date) -> str:
    """The budget month (``YYYY-MM``) of a date."""
    return f"{day.year:04d}-{day.month:02d}"


def month_range(month: str) -> tuple[dt.date, dt.date]:
    """First day of ``month`` and first day of the next month."""
    year, mon = int(month[:4]), int(month[5:7])
    start = dt.date(year, mon, 1)
    end = dt.date(year + 1, 1, 1) if mon == 12 else dt.date(year, mon + 1, 1)
    return start, end


def previous_month(month: str) -> str:
    start, _ = month_range(month)
    return month_of(start - dt.timedelta(days=1))


def lock_key(user_id: str, month: str) -> int:
    """The advisory-lock key of one user's month (a signed 64-bit int)."""
    digest = hashlib.sha256(f"finmesh.budget:{user_id}:{month}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _race_point(name: str) -> None:
    if RACE_HOOK is not None:
        await RACE_HOOK(name)


async def lock_month(conn: Conn, user_id: str, month: str, *, exclusive: bool = False) -> None:
    """Take the user+month advisory lock for the rest of the transaction: shared for spend
    changes, exclusive for aggregation. Re-entrant within a transaction."""
    if not USE_ADVISORY_LOCK:
        return
    if exclusive:
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(user_id, month),))
    else:
        await conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (lock_key(user_id, month),))


async def lock_months(conn: Conn, user_id: str, months: Iterable[str]) -> None:
    """Shared locks on several months in a fixed order (no deadlocks between writers that
    touch the same months in different orders, e.g. an expense moved from May to June)."""
    for month in sorted(set(months)):
        await lock_month(conn, user_id, month)


#: A condition for a statement to take, itself, the shared month locks :func:`lock_months`
#: would take (one round trip less): its one parameter is :func:`month_lock_keys`. An
#: uncorrelated scalar subquery is evaluated once, before the statement produces any row; the
#: statements after it see what was committed before the locks were granted.
TAKE_MONTH_LOCKS = (
    "(SELECT count(pg_advisory_xact_lock_shared(k)) FROM"
    " (SELECT k FROM unnest(%b::bigint[]) WITH ORDINALITY AS l(k, n) ORDER BY n) AS o) >= 0"
)


def month_lock_keys(user_id: str, months: Iterable[str]) -> list[int]:
    """The keys of the shared locks :func:`lock_months` takes, in its order (none when the
    advisory lock is switched off), for :data:`TAKE_MONTH_LOCKS`."""
    if not USE_ADVISORY_LOCK:
        return []
    return [lock_key(user_id, month) for month in sorted(set(months))]


async def apply_spend_change(
    conn: AsyncConnection[Any],
    *,
    user_id: str,
    month: str,
    currency: str,
    category: str | None,
    deltas: Sequence[tuple[str, Decimal]],
) -> None:
    """Add the ``deltas`` (``(expense_id, amount)`` pairs, in the order they happen) to the
    ``spent`` of the user's budget for ``category`` in ``month``, in one update.

    Call inside the caller's open transaction, after writing the expense changes it accounts
    for (so the changes and the budget effect commit together), holding the month's shared
    lock: :func:`lock_months` with every month the change touches, first (it takes them in a
    deadlock-free order). Only debits count: pass ``+amount`` when a debit expense enters a
    (category, month, currency) and ``-amount`` when it leaves. When an expense moves from one
    category to another, call it twice (``-amount`` for the old category, ``+amount`` for the
    new).

    * Does nothing when ``category`` is empty/None, the deltas sum to zero, there is no such
      budget, or the budget is in another currency (other currencies are not counted).
    * Updates ``spent`` by compare-and-swap on ``version``, retrying a lost race; raises
      :class:`finmesh.errors.Aborted` (retryable) only after :data:`MAX_CAS_ATTEMPTS` rounds.
    * Records each threshold (50/80/100 % of limit + carried over) a delta crosses upward in
      ``budget_alerts`` and, only if that row is new, puts one ``InsightRaised``
      (``BudgetThresholdCrossed``, naming that delta's expense and the ``spent`` it made) on
      ``insights.events`` through the outbox.
    """
    delta = sum((d for _, d in deltas), Decimal(0))
    if not category or delta == 0:
        return
    if not is_month(month):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    for _ in range(MAX_CAS_ATTEMPTS):
        cur = await conn.execute(
            "SELECT spent, version, limit_amount, currency, rollover FROM budgets"
            " WHERE user_id = %s AND month = %s AND category = %s",
            (user_id, month, category),
        )
        row = await cur.fetchone()
        if row is None:
            return
        spent, version, limit_amount, budget_currency, rollover = row
        if budget_currency != currency:
            return
        new_spent = spent + delta
        await _race_point("spend.read")
        if USE_CAS:
            cur = await conn.execute(
                "UPDATE budgets SET spent = %s, version = version + 1"
                " WHERE user_id = %s AND month = %s AND category = %s AND version = %s",
                (new_spent, user_id, month, category, version),
            )
        else:
            cur = await conn.execute(
                "UPDATE budgets SET spent = %s, version = version + 1"
                " WHERE user_id = %s AND month = %s AND category = %s",
                (new_spent, user_id, month, category),
            )
        if cur.rowcount == 1:
            break
        log.debug("budget %s/%s changed under us; retrying", month, category)
    else:
        raise Aborted(f"budget {month}/{category} is too busy; retry", reason="BUDGET_CONTENDED")
    if all(d <= 0 for _, d in deltas):
        return
    carried = await carried_over(conn, user_id, month, category, currency) if rollover else 0
    effective = limit_amount + carried
    running = spent
    for expense_id, d in deltas:
        before, running = running, running + d
        crossed = [t for t in THRESHOLDS if before * 100 < t * effective <= running * 100]
        if crossed:
            await record_thresholds(
                conn,
                user_id=user_id,
                month=month,
                category=category,
                thresholds=crossed,
                limit=effective,
                spent=running,
                currency=currency,
                expense_id=expense_id,
            )


async def record_thresholds(
    conn: Conn,
    *,
    user_id: str,
    month: str,
    category: str,
    thresholds: Iterable[int],
    limit: Decimal,
    spent: Decimal,
    currency: str,
    expense_id: str = "",
) -> list[int]:
    """Insert the alert rows of ``thresholds``; for each one that is new, enqueue its
    ``InsightRaised``. Returns the thresholds raised now."""
    wanted = sorted(set(thresholds))
    if not wanted:
        return []
    cur = await conn.execute(
        "INSERT INTO budget_alerts (user_id, month, category, threshold)"
        " SELECT %s, %s, %s, t FROM unnest(%s::smallint[]) AS t"
        " ON CONFLICT DO NOTHING RETURNING threshold",
        (user_id, month, category, wanted),
    )
    raised = sorted(int(r[0]) for r in await cur.fetchall())
    for threshold in raised:
        event = events_pb2.InsightRaised(
            event_id=threshold_event_id(user_id, month, category, threshold),
            user_id=user_id,
            budget_threshold_crossed=events_pb2.BudgetThresholdCrossed(
                month=month,
                category=category,
                threshold_percent=threshold,
                limit=to_money(limit, currency),
                spent=to_money(spent, currency),
                expense_id=expense_id,
            ),
        )
        event.occur_time.GetCurrentTime()
        await outbox.enqueue(conn, INSIGHTS_TOPIC, user_id, event)
    return raised


def threshold_event_id(user_id: str, month: str, category: str, threshold: int) -> str:
    """The deterministic event id of one threshold alert (CONTRACT: derived from user, month,
    category and threshold)."""
    name = f"{user_id}\x00{month}\x00{category}\x00{threshold}"
    return str(uuid.uuid5(_THRESHOLD_NAMESPACE, name))


async def carried_over(
    conn: Conn, user_id: str, month: str, category: str, currency: str
) -> Decimal:
    """What the previous months' unspent limits carry into ``month`` (its budget has
    ``rollover``): the previous month's ``limit + carried_over - spent`` when positive, the
    chain followed back through consecutive months whose budgets roll over too (same
    currency; at most :data:`MAX_ROLLOVER_MONTHS`)."""
    chain: list[str] = []
    m = month
    for _ in range(MAX_ROLLOVER_MONTHS):
        m = previous_month(m)
        chain.append(m)
    cur = await conn.execute(
        "SELECT month, limit_amount, spent, rollover, currency FROM budgets"
        " WHERE user_id = %s AND category = %s AND month = ANY(%s)",
        (user_id, category, chain),
    )
    rows = {r[0]: r[1:] for r in await cur.fetchall()}
    # Walk back to where the chain stops, then forward accumulating the remainder.
    used: list[tuple[Decimal, Decimal]] = []
    for m in chain:
        row = rows.get(m)
        if row is None or row[3] != currency:
            break
        used.append((row[0], row[1]))
        if not row[2]:  # that month does not roll over from its own previous month
            break
    carry = Decimal(0)
    for limit_amount, spent in reversed(used):
        carry = max(Decimal(0), limit_amount + carry - spent)
    return carry


async def sum_spent(conn: Conn, user_id: str, month: str, category: str, currency: str) -> Decimal:
    """The exact ``spent`` from the expenses: the user's debits in ``category`` dated in
    ``month`` in ``currency``. Call under the exclusive month lock."""
    start, end = month_range(month)
    cur = await conn.execute(
        "SELECT coalesce(sum(amount), 0) FROM expenses"
        " WHERE user_id = %s AND category = %s AND direction = 'DEBIT' AND currency = %s"
        " AND date >= %s AND date < %s",
        (user_id, category, currency, start, end),
    )
    row = await cur.fetchone()
    assert row is not None
    total: Decimal = row[0]
    await _race_point("aggregate.sum")
    return total


# -- the BudgetService operations ----------------------------------------------------------------


@dataclass(frozen=True)
class BudgetView:
    """A budget with its live figures."""

    month: str
    category: str
    limit: Decimal
    currency: str
    spent: Decimal
    carried_over: Decimal
    rollover: bool
    version: int
    create_time: dt.datetime
    update_time: dt.datetime

    @property
    def available(self) -> Decimal:
        """``limit + carried_over``: what may be spent this month."""
        return self.limit + self.carried_over

    @property
    def remaining(self) -> Decimal:
        return max(Decimal(0), self.available - self.spent)

    @property
    def overspent(self) -> Decimal:
        return max(Decimal(0), self.spent - self.available)

    @property
    def percent_used(self) -> float:
        return float(self.spent * 100 / self.available) if self.available > 0 else 0.0


@dataclass(frozen=True)
class BudgetPage:
    budgets: list[BudgetView]
    next_page_token: str


_BUDGET_COLUMNS = (
    "month, category, limit_amount, currency, spent, rollover, version, create_time, update_time"
)


async def _view(conn: Conn, user_id: str, row: Sequence[Any]) -> BudgetView:
    month, category, limit_amount, currency, spent, rollover, version, created, updated = row
    currency = str(currency).strip()
    carried = (
        await carried_over(conn, user_id, month, category, currency) if rollover else Decimal(0)
    )
    return BudgetView(
        month=str(month),
        category=category,
        limit=limit_amount,
        currency=currency,
        spent=spent,
        carried_over=carried,
        rollover=rollover,
        version=version,
        create_time=created,
        update_time=updated,
    )


def _check_budget_etag(etag: str, version: int) -> None:
    if etag and version_of_etag(etag) != version:
        raise Aborted(
            "the budget changed since it was read (stale etag); re-read and retry",
            reason="STALE_ETAG",
        )


async def update_budget(
    pool: Pool,
    user_id: str,
    month: str,
    category: str,
    *,
    limit: tuple[Decimal, str] | None,
    rollover: bool | None,
    etag: str = "",
    allow_missing: bool = True,
) -> BudgetView:
    """Set a budget's ``limit`` and/or ``rollover`` (None: leave as is), creating it when
    missing and ``allow_missing``. Runs under the exclusive month lock: a new budget's
    ``spent`` is summed from the expenses (and so is a budget whose currency changes) while no
    spend change of that month is in flight. A set ``etag`` must match (else ABORTED); an
    ``etag`` for a budget that does not exist is NOT_FOUND."""

    async def work(conn: Conn) -> BudgetView:
        await lock_month(conn, user_id, month, exclusive=True)
        await check_category(conn, user_id, category, "budget.category")
        cur = await conn.execute(
            f"SELECT {_BUDGET_COLUMNS} FROM budgets"
            " WHERE user_id = %s AND month = %s AND category = %s FOR UPDATE",
            (user_id, month, category),
        )
        old = await cur.fetchone()
        if old is None:
            if etag or not allow_missing:
                raise NotFound(f"budget {month}/{category} not found")
            if limit is None:
                raise InvalidArgument.field("budget.limit", "is required to create a budget")
            amount, currency = limit
            spent = await sum_spent(conn, user_id, month, category, currency)
            cur = await conn.execute(
                "INSERT INTO budgets (user_id, month, category, limit_amount, currency, spent,"
                " rollover) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                f" ON CONFLICT DO NOTHING RETURNING {_BUDGET_COLUMNS}",
                (user_id, month, category, amount, currency, spent, bool(rollover)),
            )
            new = await cur.fetchone()
            if new is None:
                raise Aborted(
                    f"budget {month}/{category} was created concurrently; retry",
                    reason="CONCURRENT_CHANGE",
                )
        else:
            version = old[6]
            _check_budget_etag(etag, version)
            amount, currency = limit if limit is not None else (old[2], str(old[3]).strip())
            new_rollover = old[5] if rollover is None else rollover
            spent = old[4]
            if currency != str(old[3]).strip():
                spent = await sum_spent(conn, user_id, month, category, currency)
            if (amount, currency, new_rollover, spent) == (
                old[2],
                str(old[3]).strip(),
                old[5],
                old[4],
            ):
                return await _view(conn, user_id, old)
            cur = await conn.execute(
                "UPDATE budgets SET limit_amount = %s, currency = %s, rollover = %s, spent = %s,"
                " version = version + 1, update_time = now()"
                " WHERE user_id = %s AND month = %s AND category = %s AND version = %s"
                f" RETURNING {_BUDGET_COLUMNS}",
                (amount, currency, new_rollover, spent, user_id, month, category, version),
            )
            new = await cur.fetchone()
            if new is None:
                raise Aborted("the budget changed concurrently; retry", reason="STALE_ETAG")
        view = await _view(conn, user_id, new)
        if view.available > 0:
            await record_thresholds(
                conn,
                user_id=user_id,
                month=month,
                category=category,
                thresholds=[t for t in THRESHOLDS if view.spent * 100 >= t * view.available],
                limit=view.available,
                spent=view.spent,
                currency=view.currency,
            )
        return view

    return await in_transaction(pool, work)


async def get_budget(pool: Pool, user_id: str, month: str, category: str) -> BudgetView:
    async def work(conn: Conn) -> BudgetView:
        cur = await conn.execute(
            f"SELECT {_BUDGET_COLUMNS} FROM budgets"
            " WHERE user_id = %s AND month = %s AND category = %s",
            (user_id, month, category),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"budget {month}/{category} not found")
        return await _view(conn, user_id, row)

    return await in_transaction(pool, work)


def _encode_budget_token(month_filter: str, last: BudgetView) -> str:
    payload = {"f": month_filter, "m": last.month, "c": last.category}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _decode_budget_token(month_filter: str, token: str) -> tuple[str, str]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        month, category, f = str(payload["m"]), str(payload["c"]), payload["f"]
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument.field("page_token", "is not a page token from this list") from None
    if f != month_filter:
        raise InvalidArgument.field("page_token", "was issued for a different month filter")
    return month, category


async def list_budgets(
    pool: Pool, user_id: str, *, month: str, page_size: int, page_token: str
) -> BudgetPage:
    """The user's budgets, newest month first, then by category id."""
    where = ["user_id = %s"]
    params: list[Any] = [user_id]
    if month:
        where.append("month = %s")
        params.append(month)
    if page_token:
        last_month, last_category = _decode_budget_token(month, page_token)
        where.append("(month < %s OR (month = %s AND category > %s))")
        params += [last_month, last_month, last_category]
    params.append(page_size + 1)
    sql = (
        f"SELECT {_BUDGET_COLUMNS} FROM budgets WHERE {' AND '.join(where)}"
        " ORDER BY month DESC, category LIMIT %s"
    )

    async def work(conn: Conn) -> BudgetPage:
        cur = await conn.execute(sql.encode(), params)
        rows = await cur.fetchall()
        more = len(rows) > page_size
        views = [await _view(conn, user_id, r) for r in rows[:page_size]]
        token = _encode_budget_token(month, views[-1]) if more and views else ""
        return BudgetPage(views, token)

    return await in_transaction(pool, work)


async def delete_budget(
    pool: Pool, user_id: str, month: str, category: str, *, etag: str = ""
) -> None:
    async def work(conn: Conn) -> None:
        await lock_month(conn, user_id, month, exclusive=True)
        cur = await conn.execute(
            "SELECT version FROM budgets WHERE user_id = %s AND month = %s AND category = %s"
            " FOR UPDATE",
            (user_id, month, category),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"budget {month}/{category} not found")
        _check_budget_etag(etag, row[0])
        await conn.execute(
            "DELETE FROM budgets WHERE user_id = %s AND month = %s AND category = %s",
            (user_id, month, category),
        )

    await in_transaction(pool, work)
