"""SQL of insight_svc (schema ``insight``): the expense projection and the stored insights.

Every function takes an open connection (the caller owns the transaction) and uses ``%s``
parameters only. Every query is scoped to one user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from finance.expense.v1 import expense_pb2
from finance.insight.v1 import insight_service_pb2 as pb
from insight_svc.insights import StoredInsight
from insight_svc.model import DEBIT, Txn, from_date_proto, merchant_key, to_decimal

Conn = AsyncConnection[Any]

#: Switch for the concurrency test that proves the per-expense lock is needed. Never change it
#: in production code.
USE_EXPENSE_LOCK = True
#: Test-only hook awaited between reading and writing in :func:`apply_expense` and
#: :func:`apply_enrichment` (``"expense.read"``, ``"enrichment.read"``), so a test can widen
#: the window a missing lock leaves open. None in production.
RACE_HOOK: Callable[[str], Awaitable[None]] | None = None

_EVENT_NS = uuid.UUID("c7a0e0d4-51a4-4f57-9a0b-3f1e2b6f8d20")
_TXN_COLUMNS = (
    "expense_id, expense_date, amount, currency_code, direction, eff_merchant, eff_category, "
    "description"
)


class BadExpenseEvent(ValueError):
    """An expense event whose expense cannot be projected (no id, date or amount)."""


def event_uuid(event_id: str) -> uuid.UUID:
    """The ``processed_events`` key of an event id (a UUID by contract; anything else is
    mapped to a uuid5 of it rather than rejected)."""
    try:
        return uuid.UUID(event_id)
    except ValueError:
        return uuid.uuid5(_EVENT_NS, event_id)


async def mark_processed(conn: Conn, event_id: str, consumer: str) -> bool:
    """Record ``event_id`` as processed by ``consumer``; False if it already was."""
    cur = await conn.execute(
        "INSERT INTO processed_events (event_id, consumer) VALUES (%s, %s) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING 1",
        (event_uuid(event_id), consumer),
    )
    return await cur.fetchone() is not None


async def purge_processed(conn: Conn, older_than: dt.timedelta) -> int:
    """Forget processed event ids older than ``older_than``; returns how many.

    Safe: a redelivery older than that would be applied again, but every write is guarded by
    the snapshot's version (expenses), the enrichment's time, or a unique key (insights)."""
    cur = await conn.execute(
        "DELETE FROM processed_events WHERE processed_time < now() - %s", (older_than,)
    )
    return cur.rowcount


# -- the projection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrichment:
    merchant: str
    category: str
    state: int


def effective(
    merchant: str, category: str, category_source: int, description: str, enr: Enrichment | None
) -> tuple[str, str, str]:
    """(merchant, category, payee key) as insight_svc uses them: expense_svc's values win;
    ml_svc's enrichment fills what is still empty, except a category the user has set."""
    eff_merchant = merchant or (enr.merchant if enr else "")
    eff_category = category
    if (
        not eff_category
        and enr is not None
        and enr.state != expense_pb2.ENRICHMENT_STATE_FAILED
        and category_source != expense_pb2.CATEGORY_SOURCE_USER
    ):
        eff_category = enr.category
    return eff_merchant, eff_category, merchant_key(eff_merchant, description)


def expense_lock_key(user_id: str, expense_id: str) -> int:
    """The ``pg_advisory_xact_lock`` key of one projected expense (signed int8)."""
    digest = hashlib.sha256(f"insight.expense:{user_id}:{expense_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock_expense(conn: Conn, user_id: str, expense_id: str) -> None:
    """Serialise the writers of one projected expense until the transaction ends.

    ``expenses.raw`` and ``expenses.parsed`` are different topics, so a snapshot and its
    enrichment may be applied at the same moment by two replicas. Each reads the other's row
    to compute the effective merchant and category; without this lock both can read "nothing
    yet" and the enrichment is lost.
    """
    if USE_EXPENSE_LOCK:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(%s)", (expense_lock_key(user_id, expense_id),)
        )


async def lock_expenses(conn: Conn, targets: list[tuple[str, str]]) -> None:
    """:func:`lock_expense` for many (user, expense id) pairs, in key order (no deadlocks)."""
    if not USE_EXPENSE_LOCK:
        return
    for key in sorted({expense_lock_key(u, e) for u, e in targets}):
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))


async def _enrichment(conn: Conn, user_id: str, expense_id: str) -> Enrichment | None:
    cur = await conn.execute(
        "SELECT merchant, category, state FROM enrichments WHERE user_id = %s AND expense_id = %s",
        (user_id, expense_id),
    )
    row = await cur.fetchone()
    return Enrichment(row[0], row[1], row[2]) if row else None


async def apply_expense(
    conn: Conn,
    user_id: str,
    expense: expense_pb2.Expense,
    version_time: dt.datetime,
    *,
    deleted: bool = False,
    locked: bool = False,
) -> bool:
    """Upsert the snapshot unless a newer one (or a deletion at least as new) is stored.
    Returns True if it was applied."""
    if not expense.id:
        raise BadExpenseEvent("the expense has no id")
    day = from_date_proto(expense.date)
    if day is None:
        raise BadExpenseEvent(f"expense {expense.id} has no valid date")
    amount = to_decimal(expense.amount)
    if amount < 0 or not expense.amount.currency_code:
        raise BadExpenseEvent(f"expense {expense.id} has no valid amount")
    if not locked:
        await lock_expense(conn, user_id, expense.id)
    enr = await _enrichment(conn, user_id, expense.id)
    if RACE_HOOK is not None:
        await RACE_HOOK("expense.read")
    eff_merchant, eff_category, key = effective(
        expense.merchant, expense.category, expense.category_source, expense.description, enr
    )
    cur = await conn.execute(
        """
        INSERT INTO expenses AS e (
            user_id, expense_id, amount, currency_code, direction, description, merchant,
            category, category_source, expense_date, version_time, deleted, eff_merchant,
            eff_category, merchant_key, snapshot)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (user_id, expense_id) DO UPDATE SET
            amount = EXCLUDED.amount, currency_code = EXCLUDED.currency_code,
            direction = EXCLUDED.direction, description = EXCLUDED.description,
            merchant = EXCLUDED.merchant, category = EXCLUDED.category,
            category_source = EXCLUDED.category_source, expense_date = EXCLUDED.expense_date,
            version_time = EXCLUDED.version_time, deleted = EXCLUDED.deleted,
            eff_merchant = EXCLUDED.eff_merchant, eff_category = EXCLUDED.eff_category,
            merchant_key = EXCLUDED.merchant_key, snapshot = EXCLUDED.snapshot
        WHERE e.version_time < EXCLUDED.version_time
           OR (e.version_time = EXCLUDED.version_time AND NOT e.deleted)
        RETURNING 1
        """,
        (
            user_id,
            expense.id,
            amount,
            expense.amount.currency_code,
            expense.direction or DEBIT,
            expense.description,
            expense.merchant,
            expense.category,
            expense.category_source,
            day,
            version_time,
            deleted,
            eff_merchant,
            eff_category,
            key,
            expense.SerializeToString(),
        ),
    )
    return await cur.fetchone() is not None


async def mark_deleted(
    conn: Conn, user_id: str, expense_id: str, version_time: dt.datetime, *, locked: bool = False
) -> bool:
    """Tombstone a projected expense (a deletion event without the expense's snapshot).
    Returns True if the row existed and was not newer."""
    if not locked:
        await lock_expense(conn, user_id, expense_id)
    cur = await conn.execute(
        "UPDATE expenses SET deleted = true, version_time = %s "
        "WHERE user_id = %s AND expense_id = %s AND version_time <= %s RETURNING 1",
        (version_time, user_id, expense_id, version_time),
    )
    return await cur.fetchone() is not None


async def apply_enrichment(
    conn: Conn,
    user_id: str,
    expense_id: str,
    enr: Enrichment,
    occur_time: dt.datetime,
    event_id: str,
    *,
    locked: bool = False,
) -> bool:
    """Keep ml_svc's newest enrichment and refresh the expense's effective values. Returns
    True if it was newer than what was stored. ``locked``: the caller holds the expense's
    lock already (:func:`lock_expenses`)."""
    if not locked:
        await lock_expense(conn, user_id, expense_id)
    cur = await conn.execute(
        """
        INSERT INTO enrichments AS n (
            user_id, expense_id, merchant, category, state, occur_time, event_id)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (user_id, expense_id) DO UPDATE SET
            merchant = EXCLUDED.merchant, category = EXCLUDED.category, state = EXCLUDED.state,
            occur_time = EXCLUDED.occur_time, event_id = EXCLUDED.event_id
        WHERE n.occur_time <= EXCLUDED.occur_time
        RETURNING 1
        """,
        (user_id, expense_id, enr.merchant, enr.category, enr.state, occur_time, event_id),
    )
    if await cur.fetchone() is None:
        return False
    cur = await conn.execute(
        "SELECT merchant, category, category_source, description FROM expenses "
        "WHERE user_id = %s AND expense_id = %s FOR UPDATE",
        (user_id, expense_id),
    )
    row = await cur.fetchone()
    if RACE_HOOK is not None:
        await RACE_HOOK("enrichment.read")
    if row is not None:
        eff_merchant, eff_category, key = effective(row[0], row[1], row[2], row[3], enr)
        await conn.execute(
            "UPDATE expenses SET eff_merchant = %s, eff_category = %s, merchant_key = %s "
            "WHERE user_id = %s AND expense_id = %s",
            (eff_merchant, eff_category, key, user_id, expense_id),
        )
    return True


def _txn(row: tuple[Any, ...]) -> Txn:
    return Txn(
        id=row[0],
        date=row[1],
        amount=Decimal(row[2]),
        currency=row[3],
        direction=row[4],
        merchant=row[5],
        category=row[6],
        description=row[7],
    )


async def txns_between(conn: Conn, user_id: str, start: dt.date, end: dt.date) -> list[Txn]:
    """The user's live expenses dated in ``[start, end]``."""
    cur = await conn.execute(
        f"SELECT {_TXN_COLUMNS} FROM expenses "
        "WHERE user_id = %s AND NOT deleted AND expense_date BETWEEN %s AND %s "
        "ORDER BY expense_date, expense_id",
        (user_id, start, end),
    )
    return [_txn(r) for r in await cur.fetchall()]


async def txns_in_category(
    conn: Conn, user_id: str, category: str, currency: str, start: dt.date, end: dt.date
) -> list[Txn]:
    """The user's live expenses in one category and currency dated in ``[start, end]``."""
    cur = await conn.execute(
        f"SELECT {_TXN_COLUMNS} FROM expenses "
        "WHERE user_id = %s AND NOT deleted AND eff_category = %s AND currency_code = %s "
        "AND expense_date BETWEEN %s AND %s ORDER BY expense_date, expense_id",
        (user_id, category, currency, start, end),
    )
    return [_txn(r) for r in await cur.fetchall()]


async def txns_by_key(
    conn: Conn, user_id: str, key: str, *, since: dt.date, limit: int = 400
) -> list[Txn]:
    """The user's most recent (at most ``limit``) live expenses with payee key ``key`` dated
    from ``since``, oldest first."""
    cur = await conn.execute(
        f"SELECT {_TXN_COLUMNS} FROM expenses "
        "WHERE user_id = %s AND NOT deleted AND merchant_key = %s AND expense_date >= %s "
        "ORDER BY expense_date DESC, expense_id DESC LIMIT %s",
        (user_id, key, since, limit),
    )
    return [_txn(r) for r in reversed(await cur.fetchall())]


async def txns_by_ids(conn: Conn, user_id: str, expense_ids: list[str]) -> list[Txn]:
    """The user's live expenses among ``expense_ids``."""
    cur = await conn.execute(
        f"SELECT {_TXN_COLUMNS} FROM expenses "
        "WHERE user_id = %s AND expense_id = ANY(%s) AND NOT deleted "
        "ORDER BY expense_date, expense_id",
        (user_id, expense_ids),
    )
    return [_txn(r) for r in await cur.fetchall()]


# -- insights ----------------------------------------------------------------------------------


async def insert_insight(conn: Conn, stored: StoredInsight, event_id: str) -> bool:
    """Store an insight unless the user already has one with its key. True if inserted."""
    ins = stored.insight
    cur = await conn.execute(
        """
        INSERT INTO insights (id, user_id, month, type, dedupe_key, payload, create_time, event_id)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (user_id, dedupe_key) DO NOTHING
        RETURNING 1
        """,
        (
            uuid.UUID(ins.id),
            stored.user_id,
            stored.month,
            stored.type_name,
            stored.dedupe_key,
            ins.SerializeToString(),
            ins.create_time.ToDatetime(dt.UTC),
            event_id,
        ),
    )
    return await cur.fetchone() is not None


async def existing_keys(conn: Conn, user_id: str, keys: list[str]) -> set[str]:
    """Which of ``keys`` the user already has insights for."""
    if not keys:
        return set()
    cur = await conn.execute(
        "SELECT dedupe_key FROM insights WHERE user_id = %s AND dedupe_key = ANY(%s)",
        (user_id, keys),
    )
    return {r[0] for r in await cur.fetchall()}


async def stored_event_id(conn: Conn, user_id: str, key: str) -> str | None:
    """The event the user's insight ``key`` was stored from; None if it is not stored."""
    cur = await conn.execute(
        "SELECT event_id FROM insights WHERE user_id = %s AND dedupe_key = %s", (user_id, key)
    )
    row = await cur.fetchone()
    return str(row[0]) if row else None


@dataclass(frozen=True)
class InsightCursor:
    create_time: dt.datetime
    id: str


async def list_insights(
    conn: Conn,
    user_id: str,
    *,
    month: str,
    type_name: str,
    after: InsightCursor | None,
    limit: int,
) -> list[tuple[pb.Insight, InsightCursor]]:
    """The user's insights, newest first, optionally of one month and type, after a cursor."""
    clauses = ["user_id = %s"]
    params: list[Any] = [user_id]
    if month:
        clauses.append("month = %s")
        params.append(month)
    if type_name:
        clauses.append("type = %s")
        params.append(type_name)
    if after is not None:
        clauses.append("(create_time, id) < (%s, %s)")
        params += [after.create_time, uuid.UUID(after.id)]
    params.append(limit)
    cur = await conn.execute(
        "SELECT payload, create_time, id FROM insights WHERE "
        + " AND ".join(clauses)
        + " ORDER BY create_time DESC, id DESC LIMIT %s",
        params,
    )
    return [
        (pb.Insight.FromString(r[0]), InsightCursor(r[1], str(r[2]))) for r in await cur.fetchall()
    ]
