"""Fixtures for expense_svc tests: an in-process pool on a migrated database, and helpers to
read the service's tables directly (the outbox, the expenses) when a test must prove that
nothing was written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest_asyncio

from finmesh import db
from finmesh.config import DatabaseConfig
from finmesh.db import Pool


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def expense_pool(migrated_database_url: str) -> AsyncIterator[Pool]:
    pool = await db.open_pool(
        DatabaseConfig(url=migrated_database_url, pool_min_size=2, pool_max_size=12),
        schema="expense",
    )
    try:
        yield pool
    finally:
        await pool.close()


async def fetch_all(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one query against ``url`` in the ``expense`` schema."""
    async with await psycopg.AsyncConnection.connect(
        url, autocommit=True, options="-c search_path=expense"
    ) as conn:
        cur = await conn.execute(sql.encode(), params)
        return list(await cur.fetchall())


def money(amount: str, currency: str = "GBP") -> dict[str, object]:
    """proto3 JSON Money for a decimal string, e.g. ``money("12.50")``."""
    from decimal import Decimal

    value = Decimal(amount)
    units = int(value)
    nanos = int((value - units) * 1_000_000_000)
    return {"currencyCode": currency, "units": str(units), "nanos": nanos}


def violations(body: dict[str, Any]) -> set[str]:
    """The fields named by the BadRequest detail of an error body."""
    out: set[str] = set()
    for detail in body.get("details", []):
        if str(detail.get("@type", "")).endswith("google.rpc.BadRequest"):
            out |= {v["field"] for v in detail.get("fieldViolations", [])}
    return out


def reason(body: dict[str, Any]) -> str:
    for detail in body.get("details", []):
        if str(detail.get("@type", "")).endswith("google.rpc.ErrorInfo"):
            return str(detail.get("reason", ""))
    return ""
