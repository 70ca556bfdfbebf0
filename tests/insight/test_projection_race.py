"""A snapshot (``expenses.raw``) and its enrichment (``expenses.parsed``) applied at the same
moment, as two replicas may do: the per-expense advisory lock keeps the enrichment. Real
PostgreSQL; the race window is widened by the repository's test hook, and the second test shows
that without the lock the enrichment is lost (so the first would fail without it)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest

from finance.expense.v1 import expense_pb2
from finmesh import db
from finmesh.config import DatabaseConfig
from insight_svc import repository
from insight_svc.server import SCHEMA
from tests.insight.helpers import expense, new_user

ROUNDS = 12


@pytest.fixture
async def pool(migrated_database_url: str) -> AsyncIterator[db.Pool]:
    p = await db.open_pool(
        DatabaseConfig(url=migrated_database_url, pool_min_size=2, pool_max_size=6), schema=SCHEMA
    )
    yield p
    await p.close()


async def _race(pool: db.Pool) -> list[tuple[str, str]]:
    """Apply ROUNDS pending snapshots and their enrichments concurrently; return each
    expense's effective (merchant, category)."""
    user = new_user("race")
    now = dt.datetime.now(dt.UTC)

    async def snapshot(e: expense_pb2.Expense) -> None:
        async with pool.connection() as conn:
            await repository.apply_expense(conn, user, e, now)

    async def enrichment(e: expense_pb2.Expense) -> None:
        async with pool.connection() as conn:
            await repository.apply_enrichment(
                conn,
                user,
                e.id,
                repository.Enrichment("Pret A Manger", "dining", 2),
                now,
                f"enriched-{e.id}",
            )

    out = []
    for _ in range(ROUNDS):
        e = expense(user, now.date(), "3.10", "", "", description="PRET 0423")
        await asyncio.gather(snapshot(e), enrichment(e))
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT eff_merchant, eff_category FROM expenses "
                "WHERE user_id = %s AND expense_id = %s",
                (user, e.id),
            )
            row = await cur.fetchone()
        assert row is not None
        out.append((row[0], row[1]))
    return out


@pytest.fixture
def widened(monkeypatch: pytest.MonkeyPatch) -> None:
    async def hook(point: str) -> None:
        await asyncio.sleep(0.05)

    monkeypatch.setattr(repository, "RACE_HOOK", hook)


async def test_concurrent_snapshot_and_enrichment_always_keep_the_enrichment(
    pool: db.Pool, widened: None
) -> None:
    assert await _race(pool) == [("Pret A Manger", "dining")] * ROUNDS


async def test_without_the_lock_the_same_race_loses_enrichments(
    pool: db.Pool, widened: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "USE_EXPENSE_LOCK", False)
    results = await _race(pool)
    assert ("", "") in results  # the mechanism above is what prevents this


async def test_processed_event_ids_are_forgotten_only_after_the_retention(pool: db.Pool) -> None:
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    async with pool.connection() as conn:
        assert await repository.mark_processed(conn, old, "test")
        assert await repository.mark_processed(conn, recent, "test")
        assert not await repository.mark_processed(conn, recent, "test")
        await conn.execute(
            "UPDATE processed_events SET processed_time = now() - interval '15 days' "
            "WHERE event_id = %s",
            (uuid.UUID(old),),
        )
    async with pool.connection() as conn:
        await repository.purge_processed(conn, dt.timedelta(days=14))
        cur = await conn.execute(
            "SELECT event_id::text FROM processed_events WHERE event_id = ANY(%s)",
            ([uuid.UUID(old), uuid.UUID(recent)],),
        )
        assert [r[0] for r in await cur.fetchall()] == [recent]
