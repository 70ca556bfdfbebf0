"""SQL for ml_svc's schema ``ml``: personal memory, corrections, seen expenses. ``%s``
placeholders, ``%b`` (binary) for arrays."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from ml_svc.categorizer import Correction, UserMemory
from ml_svc.generator import CREDIT, DEBIT, Example

#: How many of a user's latest corrections the similar-expense step compares against.
MAX_CORRECTIONS = 500


@dataclass(frozen=True, slots=True)
class CorrectionRecord:
    event_id: str
    user_id: str
    occur_time: datetime
    description: str
    merchant: str
    merchant_keys: tuple[str, ...]
    amount: Decimal | None
    direction: str  # "debit" / "credit"
    category: str


async def load_memories(
    conn: AsyncConnection[Any], user_ids: Sequence[str]
) -> dict[str, UserMemory]:
    """The memory of each of ``user_ids`` (empty memories included), in two queries."""
    users = sorted(set(user_ids))
    out = {u: UserMemory() for u in users}
    if not users:
        return out
    cur = await conn.execute(
        "SELECT user_id, merchant_key, category, merchant FROM user_memory WHERE user_id = ANY(%b)",
        (users,),
    )
    for user_id, key, category, merchant in await cur.fetchall():
        out[user_id].exact[key] = category
        if merchant:
            out[user_id].merchants[key] = merchant
    cur = await conn.execute(
        "SELECT user_id, merchant_key, description, category, merchant FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY user_id, merchant_key"
        "                               ORDER BY create_time DESC, id DESC) AS rn_key,"
        "         row_number() OVER (PARTITION BY user_id ORDER BY create_time DESC, id DESC) AS rn"
        "  FROM corrections WHERE user_id = ANY(%b)"
        ") c WHERE rn_key = 1 AND rn <= %s ORDER BY user_id, create_time DESC",
        (users, MAX_CORRECTIONS),
    )
    for user_id, key, description, category, merchant in await cur.fetchall():
        out[user_id].corrections.append(Correction(key, description.lower(), category, merchant))
    return out


async def record_correction(conn: AsyncConnection[Any], c: CorrectionRecord) -> bool:
    """Store a correction and update the user's memory, once per event id (in one
    transaction). Returns False for a duplicate event. The latest correction of a merchant
    wins, whatever order the events arrive in."""
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO corrections (user_id, description, merchant, merchant_key, amount,"
            " direction, category, create_time, event_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (event_id) WHERE event_id IS NOT NULL DO NOTHING RETURNING id",
            (
                c.user_id,
                c.description,
                c.merchant,
                c.merchant_keys[0] if c.merchant_keys else "",
                c.amount,
                "CREDIT" if c.direction == CREDIT else "DEBIT",
                c.category,
                c.occur_time,
                c.event_id,
            ),
        )
        if await cur.fetchone() is None:
            return False
        for key in dict.fromkeys(k for k in c.merchant_keys if k):
            await conn.execute(_REMEMBER, (c.user_id, key, c.category, c.merchant, c.occur_time))
    return True


#: File one correction in a user's memory under one key: the latest correction of a key wins,
#: whatever order they arrive in; ``count`` counts them.
_REMEMBER = (
    "INSERT INTO user_memory AS m (user_id, merchant_key, category, merchant, update_time)"
    " VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (user_id, merchant_key) DO UPDATE SET"
    "  category = CASE WHEN EXCLUDED.update_time >= m.update_time"
    "             THEN EXCLUDED.category ELSE m.category END,"
    "  merchant = CASE WHEN EXCLUDED.update_time >= m.update_time"
    "             THEN EXCLUDED.merchant ELSE m.merchant END,"
    "  update_time = GREATEST(m.update_time, EXCLUDED.update_time),"
    "  count = m.count + 1"
)


async def rekey_memory(
    conn: AsyncConnection[Any],
    fingerprint: str,
    keys_of: Callable[[str, str], Sequence[str]],
) -> int | None:
    """Recompute every correction's merchant keys with ``keys_of(description, merchant)`` and
    file the corrections again, in their order, in an emptied ``user_memory`` (as
    :func:`record_correction` does), unless the keys were last computed by ``fingerprint``;
    then record ``fingerprint``. Returns how many corrections were re-keyed, None when there
    was nothing to do.

    One transaction, with the writers of corrections and memory held off meanwhile (a
    correction recorded concurrently waits and is filed after), and serialised between
    replicas starting together."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ml.memory_keys'))")
        cur = await conn.execute("SELECT fingerprint FROM memory_keys")
        row = await cur.fetchone()
        if row is not None and row[0] == fingerprint:
            return None
        await conn.execute("LOCK TABLE corrections, user_memory IN SHARE ROW EXCLUSIVE MODE")
        cur = await conn.execute(
            "SELECT id, user_id, description, merchant, category, create_time FROM corrections"
            " ORDER BY create_time, id"
        )
        ids: list[int] = []
        first_keys: list[str] = []
        filed: list[tuple[str, str, str, str, datetime]] = []  # in the corrections' order
        for cid, user_id, description, merchant, category, create_time in await cur.fetchall():
            keys = [k for k in dict.fromkeys(keys_of(description, merchant)) if k]
            ids.append(cid)
            first_keys.append(keys[0] if keys else "")
            filed.extend((user_id, key, category, merchant, create_time) for key in keys)
        if ids:
            await conn.execute(
                "UPDATE corrections AS c SET merchant_key = u.k"
                " FROM unnest(%b::bigint[], %b::text[]) AS u(i, k) WHERE c.id = u.i",
                (ids, first_keys),
            )
        await conn.execute("DELETE FROM user_memory")
        if filed:
            async with conn.cursor() as cur:
                await cur.executemany(_REMEMBER, filed)
        await conn.execute(
            "INSERT INTO memory_keys (fingerprint) VALUES (%s) ON CONFLICT (singleton)"
            " DO UPDATE SET fingerprint = EXCLUDED.fingerprint, update_time = now()",
            (fingerprint,),
        )
        return len(ids)


async def training_corrections(conn: AsyncConnection[Any], weight: float) -> list[Example]:
    """Every user's corrections as weighted training examples (latest per user+merchant)."""
    cur = await conn.execute(
        "SELECT DISTINCT ON (user_id, merchant_key, description) description, direction,"
        " category, merchant_key FROM corrections"
        " ORDER BY user_id, merchant_key, description, create_time DESC"
    )
    from finmesh.taxonomy import CATEGORY_IDS

    return [
        Example(
            desc,
            category,
            CREDIT if direction == "CREDIT" else DEBIT,
            f"correction:{key or desc}",
            "correction",
            weight,
        )
        for desc, direction, category, key in await cur.fetchall()
        if category in CATEGORY_IDS and desc
    ]


@dataclass(frozen=True, slots=True)
class SeenExpense:
    user_id: str
    expense_id: str
    source_event_id: str
    occur_time: datetime
    description: str
    merchant: str
    units: int
    nanos: int
    currency_code: str
    direction: str
    locale: str
    user_categorised: bool
    category: str
    model_version: str


async def record_seen(conn: AsyncConnection[Any], rows: Sequence[SeenExpense]) -> None:
    """Upsert the latest snapshot of each expense (older snapshots never overwrite newer), in
    one statement for the whole batch. The arrays go in binary (``%b``): psycopg's text format
    quotes every element with regexes, most of this statement's cost at 500 rows."""
    latest: dict[tuple[str, str], SeenExpense] = {}
    for r in rows:
        k = (r.user_id, r.expense_id)
        if k not in latest or r.occur_time >= latest[k].occur_time:
            latest[k] = r
    if not latest:
        return
    cols = list(
        zip(
            *[
                (
                    r.user_id,
                    r.expense_id,
                    r.source_event_id,
                    r.occur_time,
                    r.description,
                    r.merchant,
                    r.units,
                    r.nanos,
                    r.currency_code,
                    "CREDIT" if r.direction == CREDIT else "DEBIT",
                    r.locale,
                    r.user_categorised,
                    r.category,
                    r.model_version,
                )
                for r in latest.values()
            ],
            strict=True,
        )
    )
    await conn.execute(
        "INSERT INTO seen_expenses AS s (user_id, expense_id, source_event_id, occur_time,"
        " description, merchant, amount_units, amount_nanos, currency_code, direction,"
        " locale, user_categorised, category, model_version)"
        " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::timestamptz[],"
        " %b::text[], %b::text[], %b::bigint[], %b::integer[], %b::text[], %b::text[],"
        " %b::text[], %b::boolean[], %b::text[], %b::text[])"
        " ON CONFLICT (user_id, expense_id) DO UPDATE SET"
        "  source_event_id = EXCLUDED.source_event_id, occur_time = EXCLUDED.occur_time,"
        "  description = EXCLUDED.description, merchant = EXCLUDED.merchant,"
        "  amount_units = EXCLUDED.amount_units, amount_nanos = EXCLUDED.amount_nanos,"
        "  currency_code = EXCLUDED.currency_code, direction = EXCLUDED.direction,"
        "  locale = EXCLUDED.locale, user_categorised = EXCLUDED.user_categorised,"
        "  category = EXCLUDED.category, model_version = EXCLUDED.model_version,"
        "  update_time = now()"
        " WHERE EXCLUDED.occur_time >= s.occur_time",
        [list(c) for c in cols],
    )


async def mark_user_categorised(
    conn: AsyncConnection[Any], user_id: str, expense_id: str, category: str
) -> None:
    await conn.execute(
        "UPDATE seen_expenses SET user_categorised = true, category = %s, update_time = now()"
        " WHERE user_id = %s AND expense_id = %s",
        (category, user_id, expense_id),
    )


async def mark_deleted(conn: AsyncConnection[Any], user_id: str, expense_id: str) -> None:
    await conn.execute(
        "UPDATE seen_expenses SET deleted = true, update_time = now()"
        " WHERE user_id = %s AND expense_id = %s",
        (user_id, expense_id),
    )


async def replay_candidates(
    conn: AsyncConnection[Any], user_id: str | None, limit: int
) -> list[SeenExpense]:
    """Expenses not categorised by their user (and not deleted), oldest first."""
    cur = await conn.execute(
        "SELECT user_id, expense_id, source_event_id, occur_time, description, merchant,"
        " amount_units, amount_nanos, currency_code, direction, locale, user_categorised,"
        " category, model_version FROM seen_expenses"
        " WHERE NOT user_categorised AND NOT deleted AND (%s::text IS NULL OR user_id = %s)"
        " ORDER BY occur_time, user_id, expense_id LIMIT %s",
        (user_id, user_id, limit),
    )
    return [
        SeenExpense(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            int(r[6]),
            int(r[7]),
            r[8],
            CREDIT if r[9] == "CREDIT" else DEBIT,
            r[10],
            bool(r[11]),
            r[12],
            r[13],
        )
        for r in await cur.fetchall()
    ]
