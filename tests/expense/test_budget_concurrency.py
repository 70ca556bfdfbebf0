"""Budgets stay exact under many concurrent writers, and each mechanism is needed.

In-process against the real PostgreSQL: 200 concurrent CreateExpense calls over 4 categories
of one month while the 4 budgets are being created, through the same domain functions the
servicer calls. With both mechanisms every ``spent`` equals the sum of the expenses and each
threshold is raised exactly once. Switching off the advisory lock (a budget's initial sum
races the spend changes) or the version CAS (concurrent read-modify-writes of one budget
row) loses updates, and the test shows it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
import pytest_asyncio

from expense_svc import budgets, expenses
from expense_svc.convert import ExpenseDraft
from finmesh.db import Pool

MONTH = "2026-05"
CATEGORIES = ("groceries", "dining", "transport", "shopping")
CREATES = 200
BUDGET_LIMIT = Decimal("300")


@pytest.fixture
def switches() -> Iterator[None]:
    """Restore the production settings whatever the test does."""
    yield
    budgets.USE_ADVISORY_LOCK = True
    budgets.USE_CAS = True
    budgets.RACE_HOOK = None


@pytest_asyncio.fixture(loop_scope="session")
async def widened_races(switches: None) -> AsyncIterator[None]:
    """Sleep at the race points so a missing mechanism loses updates reliably: a short pause
    between reading and writing ``spent``, a longer one between summing a new budget's
    expenses and storing it."""

    async def hook(point: str) -> None:
        await asyncio.sleep(0.003 if point == "spend.read" else 0.05)

    budgets.RACE_HOOK = hook
    yield


async def _storm(pool: Pool, user: str) -> dict[str, Decimal]:
    """200 concurrent creates and the 4 budgets created in the middle; returns the expected
    spent per category."""
    rng = random.Random(7)
    drafts = [
        ExpenseDraft(
            amount=Decimal(rng.randint(100, 2000)) / 100 + Decimal("0.000000001") * (i % 3),
            currency="GBP",
            direction="DEBIT",
            description=f"storm {i}",
            merchant="",
            category=CATEGORIES[i % len(CATEGORIES)],
            date=dt.date(2026, 5, 1 + i % 28),
        )
        for i in range(CREATES)
    ]
    done = 0
    halfway = asyncio.Event()
    # Fewer writers in flight than pooled connections, so the budget creations get a
    # connection while the creates are still coming.
    in_flight = asyncio.Semaphore(8)

    async def create(draft: ExpenseDraft) -> None:
        nonlocal done
        async with in_flight:
            await expenses.create_expense(pool, user, draft)
        done += 1
        if done >= CREATES // 5:
            halfway.set()

    async def create_budget(category: str) -> None:
        await halfway.wait()
        await budgets.update_budget(
            pool, user, MONTH, category, limit=(BUDGET_LIMIT, "GBP"), rollover=False
        )

    await asyncio.gather(*(create(d) for d in drafts), *(create_budget(c) for c in CATEGORIES))
    expected = dict.fromkeys(CATEGORIES, Decimal(0))
    for d in drafts:
        assert d.category is not None
        expected[d.category] += d.amount
    return expected


async def _spent(pool: Pool, user: str) -> dict[str, Decimal]:
    return {c: (await budgets.get_budget(pool, user, MONTH, c)).spent for c in CATEGORIES}


async def _alerts(pool: Pool, user: str) -> tuple[list[tuple[str, int]], int]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT category, threshold FROM budget_alerts WHERE user_id = %s"
            " ORDER BY category, threshold",
            (user,),
        )
        rows = [(str(r[0]), int(r[1])) for r in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT count(*) FROM outbox WHERE topic = 'insights.events' AND key = %s", (user,)
        )
        row = await cur.fetchone()
    assert row is not None
    return rows, int(row[0])


async def test_200_concurrent_creates_keep_every_budget_exact(
    expense_pool: Pool, widened_races: None
) -> None:
    user = "storm-both-on"
    expected = await _storm(expense_pool, user)
    assert await _spent(expense_pool, user) == expected
    # Every budget ends far above its limit: each threshold raised exactly once, with one
    # InsightRaised in the outbox per alert.
    assert all(v > BUDGET_LIMIT for v in expected.values())
    alerts, events = await _alerts(expense_pool, user)
    assert alerts == [(c, t) for c in sorted(CATEGORIES) for t in (50, 80, 100)]
    assert events == len(alerts)


async def test_without_the_advisory_lock_a_new_budget_misses_concurrent_spend(
    expense_pool: Pool, widened_races: None
) -> None:
    budgets.USE_ADVISORY_LOCK = False
    user = "storm-no-lock"
    expected = await _storm(expense_pool, user)
    spent = await _spent(expense_pool, user)
    lost = {c: expected[c] - spent[c] for c in CATEGORIES if spent[c] != expected[c]}
    assert lost, "no update was lost without the advisory lock: the test cannot see it"


async def test_without_the_cas_concurrent_spend_changes_overwrite_each_other(
    expense_pool: Pool, widened_races: None
) -> None:
    budgets.USE_CAS = False
    user = "storm-no-cas"
    expected = await _storm(expense_pool, user)
    spent = await _spent(expense_pool, user)
    lost = {c: expected[c] - spent[c] for c in CATEGORIES if spent[c] != expected[c]}
    assert lost, "no update was lost without the CAS: the test cannot see it"
