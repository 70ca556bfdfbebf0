"""Expenses: record, read, list, correct and delete, each with its budget effect and its
Kafka event committed in one transaction.

No gRPC here. Inputs are validated drafts (:mod:`expense_svc.convert`); outputs are
``finance.expense.v1.Expense`` messages (the same bytes the idempotency store replays).
Every query is scoped by ``user_id``: another user's expense is indistinguishable from a
missing one (NOT_FOUND).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from google.protobuf import field_mask_pb2

from expense_svc import budgets, idempotency, outbox
from expense_svc.categories import check_category
from expense_svc.convert import (
    EXPENSE_COLUMNS,
    ExpenseDraft,
    ExpenseRow,
    expense_to_proto,
    row_to_expense_row,
    to_timestamp,
    version_of_etag,
)
from expense_svc.money import to_money
from expense_svc.tx import Conn, Pool, in_transaction
from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh.errors import Aborted, InvalidArgument, NotFound

RAW_TOPIC = "expenses.raw"
FEEDBACK_TOPIC = "expenses.feedback"


@dataclass(frozen=True)
class ExpensePage:
    expenses: list[expense_pb2.Expense]
    next_page_token: str


@dataclass(frozen=True)
class ExpenseFilter:
    month: str = ""
    category: str = ""
    query: str = ""


# -- helpers -----------------------------------------------------------------------------------


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def budget_key(row: ExpenseRow | ExpenseDraft) -> tuple[str, str, str] | None:
    """(month, category, currency) whose budget this expense counts towards, or None."""
    if row.direction != "DEBIT" or not row.category:
        return None
    return budgets.month_of(row.date), row.category, row.currency


SpendMove = tuple[str, ExpenseRow | None, ExpenseRow | None]


async def _move_spend(
    conn: Conn, user_id: str, moves: Sequence[SpendMove], *, months_locked: bool = False
) -> None:
    """Apply the budget effect of expenses going from ``old`` to ``new`` (None: absent), for
    each ``(expense_id, old, new)`` of ``moves``: one budget update per budget touched.
    ``months_locked``: the caller's transaction already holds the shared locks of every month
    the moves touch (:data:`budgets.TAKE_MONTH_LOCKS`)."""
    # per budget, each expense's net change (an edit within one budget is one delta, not a
    # leave and a re-entry), in the order of ``moves``
    nets: dict[tuple[str, str, str], dict[str, Decimal]] = {}
    for expense_id, old, new in moves:
        if old is not None and (key := budget_key(old)) is not None:
            net = nets.setdefault(key, {})
            net[expense_id] = net.get(expense_id, Decimal(0)) - old.amount
        if new is not None and (key := budget_key(new)) is not None:
            net = nets.setdefault(key, {})
            net[expense_id] = net.get(expense_id, Decimal(0)) + new.amount
    changes = {
        key: [(i, d) for i, d in net.items() if d != 0]
        for key, net in nets.items()
        if sum(net.values()) != 0
    }
    if not changes:
        return
    if not months_locked:
        await budgets.lock_months(conn, user_id, (k[0] for k in changes))
    for (month, category, currency), deltas in sorted(changes.items()):
        await budgets.apply_spend_change(
            conn,
            user_id=user_id,
            month=month,
            currency=currency,
            category=category,
            deltas=deltas,
        )


async def _select_for_update(conn: Conn, user_id: str, expense_id: str) -> ExpenseRow:
    key = _uuid_or_none(expense_id)
    if key is None:
        raise NotFound(f"expense {expense_id[:80]!r} not found")
    cur = await conn.execute(
        f"SELECT {EXPENSE_COLUMNS} FROM expenses WHERE id = %s AND user_id = %s FOR UPDATE",
        (key, user_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"expense {expense_id!r} not found")
    return row_to_expense_row(row)


def _check_etag(etag: str, version: int, what: str) -> None:
    if etag and version_of_etag(etag) != version:
        raise Aborted(
            f"{what} changed since it was read (stale etag); re-read and retry", reason="STALE_ETAG"
        )


# -- create --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewExpense:
    """One expense to record: the validated draft, where it came from, and its idempotency
    key (if the request had one)."""

    draft: ExpenseDraft
    idem: idempotency.IdempotencyKey | None = None
    origin: str = "MANUAL"
    locale: str = "en_GB"


async def insert_expenses(
    conn: Conn, user_id: str, news: Sequence[NewExpense]
) -> list[expense_pb2.Expense]:
    """Insert expenses with their budget effect and ``ExpenseRecorded`` events, in the
    caller's transaction (no idempotency): one INSERT (which also takes the month locks), one
    outbox INSERT, one update per budget touched. Returns the expenses in the order of
    ``news``."""
    if not news:
        return []
    for category in sorted({n.draft.category for n in news if n.draft.category is not None}):
        await check_category(conn, user_id, category, "expense.category")
    ids = [uuid.uuid4() for _ in news]
    drafts = [n.draft for n in news]
    # The INSERT takes the shared locks of the months whose budgets the expenses count towards
    # (instead of a statement of its own before the budget change).
    months = {key[0] for d in drafts if (key := budget_key(d)) is not None}
    # The arrays go in binary (%b): psycopg's text format quotes every element with regexes,
    # about a third of a hot batch's CPU.
    cur = await conn.execute(
        "INSERT INTO expenses (id, user_id, amount, currency, direction, description, merchant,"
        " category, category_source, category_confidence, date, origin, locale)"
        " SELECT i, %s, a, c, d, s, m, g, CASE WHEN g IS NULL THEN NULL ELSE 'USER' END,"
        " CASE WHEN g IS NULL THEN NULL ELSE 1 END, t, o, l"
        " FROM unnest(%b::uuid[], %b::numeric[], %b::text[], %b::text[], %b::text[], %b::text[],"
        " %b::text[], %b::date[], %b::text[], %b::text[]) AS u(i, a, c, d, s, m, g, t, o, l)"
        f" WHERE {budgets.TAKE_MONTH_LOCKS} RETURNING {EXPENSE_COLUMNS}",
        (
            user_id,
            ids,
            [d.amount for d in drafts],
            [d.currency for d in drafts],
            [d.direction for d in drafts],
            [d.description for d in drafts],
            [d.merchant for d in drafts],
            [d.category for d in drafts],
            [d.date for d in drafts],
            [n.origin for n in news],
            [n.locale for n in news],
            budgets.month_lock_keys(user_id, months),
        ),
    )
    by_id = {r.id: r for r in map(row_to_expense_row, await cur.fetchall())}
    rows = [by_id[str(i)] for i in ids]
    created = [expense_to_proto(row) for row in rows]
    occurred = to_timestamp(dt.datetime.now(dt.UTC))  # the batch's events occur together
    events: list[tuple[str, Any]] = [
        (
            user_id,
            events_pb2.ExpenseRecorded(
                user_id=user_id, expense=expense, locale=row.locale, occur_time=occurred
            ),
        )
        for row, expense in zip(rows, created, strict=True)
    ]
    await outbox.enqueue_many(conn, RAW_TOPIC, events)
    # the budget last: its row lock (a hot budget's bottleneck) is then held only until COMMIT
    await _move_spend(conn, user_id, [(row.id, None, row) for row in rows], months_locked=True)
    return created


async def create_expenses(
    pool: Pool, user_id: str, news: Sequence[NewExpense]
) -> list[expense_pb2.Expense]:
    """Record expenses in one transaction (all or none); one result per item of ``news``, in
    order. An item with an idempotency key already used for the same request gets the
    original expense (replay), and nothing new is written for it. No two items may share an
    idempotency key (the second would find the first's claim unfinished: ABORTED, in flight)."""

    async def work(conn: Conn) -> list[expense_pb2.Expense]:
        results: dict[int, expense_pb2.Expense] = {}
        for i, new in enumerate(news):
            if new.idem is not None:
                replay = await idempotency.claim(conn, user_id, new.idem)
                if replay is not None:
                    results[i] = expense_pb2.Expense.FromString(replay)
        fresh = [i for i in range(len(news)) if i not in results]
        created = await insert_expenses(conn, user_id, [news[i] for i in fresh])
        for i, expense in zip(fresh, created, strict=True):
            results[i] = expense
            idem = news[i].idem
            if idem is not None:
                response = expense.SerializeToString()
                await idempotency.store(conn, user_id, idem, response, expense.id)
        return [results[i] for i in range(len(news))]

    return await in_transaction(pool, work)


async def create_expense(
    pool: Pool,
    user_id: str,
    draft: ExpenseDraft,
    *,
    idem: idempotency.IdempotencyKey | None = None,
    origin: str = "MANUAL",
    locale: str = "en_GB",
) -> expense_pb2.Expense:
    """Record one expense (its own transaction). With ``idem``, a replay returns the original
    Expense."""
    new = NewExpense(draft, idem=idem, origin=origin, locale=locale)
    return (await create_expenses(pool, user_id, [new]))[0]


# -- read ----------------------------------------------------------------------------------------


async def get_expense(pool: Pool, user_id: str, expense_id: str) -> expense_pb2.Expense:
    key = _uuid_or_none(expense_id)
    if key is None:
        raise NotFound(f"expense {expense_id[:80]!r} not found")

    async def work(conn: Conn) -> expense_pb2.Expense:
        cur = await conn.execute(
            f"SELECT {EXPENSE_COLUMNS} FROM expenses WHERE id = %s AND user_id = %s",
            (key, user_id),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"expense {expense_id!r} not found")
        return expense_to_proto(row_to_expense_row(row))

    return await in_transaction(pool, work)


def _filter_digest(f: ExpenseFilter) -> str:
    return hashlib.sha256(f"{f.month}\x00{f.category}\x00{f.query}".encode()).hexdigest()[:16]


def encode_page_token(f: ExpenseFilter, last: ExpenseRow) -> str:
    payload = {
        "f": _filter_digest(f),
        "d": last.date.isoformat(),
        "t": last.create_time.isoformat(),
        "i": last.id,
    }
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_page_token(f: ExpenseFilter, token: str) -> tuple[dt.date, dt.datetime, uuid.UUID]:
    bad = InvalidArgument.field("page_token", "is not a page token from this list")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        key = (
            dt.date.fromisoformat(payload["d"]),
            dt.datetime.fromisoformat(payload["t"]),
            uuid.UUID(payload["i"]),
        )
    except (ValueError, KeyError, TypeError):
        raise bad from None
    if payload.get("f") != _filter_digest(f):
        raise InvalidArgument.field(
            "page_token", "was issued for different filters; send the same month/category/query"
        )
    return key


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_expenses(
    pool: Pool, user_id: str, f: ExpenseFilter, *, page_size: int, page_token: str
) -> ExpensePage:
    """Newest ``date`` first, then newest ``create_time``, then id; keyset pagination."""
    where = ["user_id = %s"]
    params: list[Any] = [user_id]
    if f.month:
        start, end = budgets.month_range(f.month)
        where.append("date >= %s AND date < %s")
        params += [start, end]
    if f.category:
        where.append("category = %s")
        params.append(f.category)
    if f.query:
        where.append("(description ILIKE %s OR merchant ILIKE %s)")
        pattern = _like_pattern(f.query)
        params += [pattern, pattern]
    if page_token:
        d, t, i = decode_page_token(f, page_token)
        where.append(
            "(date < %s OR (date = %s AND create_time < %s)"
            " OR (date = %s AND create_time = %s AND id > %s))"
        )
        params += [d, d, t, d, t, i]
    sql = (
        f"SELECT {EXPENSE_COLUMNS} FROM expenses WHERE {' AND '.join(where)}"
        " ORDER BY date DESC, create_time DESC, id LIMIT %s"
    )
    params.append(page_size + 1)

    async def work(conn: Conn) -> ExpensePage:
        cur = await conn.execute(sql.encode(), params)
        rows = [row_to_expense_row(r) for r in await cur.fetchall()]
        more = len(rows) > page_size
        rows = rows[:page_size]
        token = encode_page_token(f, rows[-1]) if more and rows else ""
        return ExpensePage([expense_to_proto(r) for r in rows], token)

    return await in_transaction(pool, work)


# -- update / delete -----------------------------------------------------------------------------


def _changed_fields(old: expense_pb2.Expense, new: expense_pb2.Expense) -> list[str]:
    names = [
        "amount",
        "direction",
        "description",
        "merchant",
        "category",
        "category_source",
        "category_confidence",
        "date",
        "enrichment_state",
    ]
    return [n for n in names if getattr(old, n) != getattr(new, n)]


async def update_expense(
    pool: Pool,
    user_id: str,
    expense_id: str,
    values: ExpenseDraft,
    paths: set[str],
    *,
    etag: str = "",
) -> expense_pb2.Expense:
    """Change the fields in ``paths`` to their ``values``.

    Setting ``category`` makes it the user's (``CATEGORY_SOURCE_USER``, confidence 1,
    enrichment done) and emits ``CategoryCorrected`` on ``expenses.feedback``. The budget
    effect moves with the expense; ``ExpenseChanged`` goes to ``expenses.raw``.
    """

    async def work(conn: Conn) -> expense_pb2.Expense:
        old = await _select_for_update(conn, user_id, expense_id)
        _check_etag(etag, old.version, "the expense")
        new = old
        for path in paths:
            if path == "category":
                if values.category is None:
                    continue
                await check_category(conn, user_id, values.category, "expense.category")
                new = replace(
                    new,
                    category=values.category,
                    category_source="USER",
                    category_confidence=Decimal(1),
                    category_explanation="set by you",
                    enrichment_state="ENRICHED",
                )
            elif path == "amount":
                new = replace(new, amount=values.amount, currency=values.currency)
            else:
                new = replace(new, **{path: getattr(values, path)})
        old_proto = expense_to_proto(old)
        if new == old:
            return old_proto
        cur = await conn.execute(
            "UPDATE expenses SET amount = %s, currency = %s, direction = %s, description = %s,"
            " merchant = %s, category = %s, category_source = %s, category_confidence = %s,"
            " category_explanation = %s, enrichment_state = %s, date = %s,"
            " version = version + 1, update_time = now()"
            f" WHERE id = %s RETURNING {EXPENSE_COLUMNS}",
            (
                new.amount,
                new.currency,
                new.direction,
                new.description,
                new.merchant,
                new.category,
                new.category_source,
                new.category_confidence,
                new.category_explanation,
                new.enrichment_state,
                new.date,
                uuid.UUID(old.id),
            ),
        )
        fetched = await cur.fetchone()
        assert fetched is not None
        row = row_to_expense_row(fetched)
        expense = expense_to_proto(row)
        changed = _changed_fields(old_proto, expense)
        event = events_pb2.ExpenseChanged(
            user_id=user_id,
            expense=expense,
            previous_expense=old_proto,
            changed_fields=field_mask_pb2.FieldMask(paths=changed),
            locale=row.locale,
        )
        event.occur_time.GetCurrentTime()
        await outbox.enqueue(conn, RAW_TOPIC, user_id, event)
        if (
            "category" in paths
            and values.category is not None
            and (old.category != row.category or old.category_source != "USER")
        ):
            feedback = events_pb2.CategoryCorrected(
                user_id=user_id,
                expense_id=row.id,
                description=row.description,
                merchant=row.merchant,
                amount=to_money(row.amount, row.currency),
                direction=expense.direction,
                old_category=old.category or "",
                new_category=row.category or "",
                old_category_source=old_proto.category_source,
                old_model_version=old.model_version,
            )
            feedback.occur_time.GetCurrentTime()
            await outbox.enqueue(conn, FEEDBACK_TOPIC, user_id, feedback)
        await _move_spend(conn, user_id, [(row.id, old, row)])  # last: see insert_expenses
        return expense

    return await in_transaction(pool, work)


async def delete_expense(pool: Pool, user_id: str, expense_id: str, *, etag: str = "") -> None:
    """Delete an expense; its budget effect is undone and ``ExpenseDeleted`` emitted."""

    async def work(conn: Conn) -> None:
        old = await _select_for_update(conn, user_id, expense_id)
        _check_etag(etag, old.version, "the expense")
        await conn.execute("DELETE FROM expenses WHERE id = %s", (uuid.UUID(old.id),))
        event = events_pb2.ExpenseDeleted(
            user_id=user_id, expense_id=old.id, expense=expense_to_proto(old)
        )
        event.occur_time.GetCurrentTime()
        await outbox.enqueue(conn, RAW_TOPIC, user_id, event)
        await _move_spend(conn, user_id, [(old.id, old, None)])  # last: see insert_expenses

    await in_transaction(pool, work)


async def list_categories(pool: Pool, user_id: str) -> Sequence[tuple[str, str, bool]]:
    """The user's own categories as ``(id, display_name, user_defined=True)``."""

    async def work(conn: Conn) -> list[tuple[str, str, bool]]:
        cur = await conn.execute(
            "SELECT id, display_name FROM user_categories WHERE user_id = %s ORDER BY id",
            (user_id,),
        )
        return [(r[0], r[1], True) for r in await cur.fetchall()]

    return await in_transaction(pool, work)
