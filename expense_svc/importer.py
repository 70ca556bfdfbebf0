"""ImportStatement: a bank statement file → expenses, idempotent per line.

The file arrives as a client stream (:func:`receive` joins the chunks, refusing more than
:data:`MAX_FILE_BYTES`), is parsed by :mod:`expense_svc.statements` in a worker thread, and
its lines are inserted in batches of :data:`BATCH_LINES`, one transaction per batch: one
multi-row ``INSERT ... ON CONFLICT (user_id, import_hash) DO NOTHING`` for the expenses and
one for their ``ExpenseRecorded`` outbox rows. Re-importing a file (or an overlapping one)
adds nothing: each line's ``dedupe_key`` (FITID, else a stable content hash) is its
``import_hash``.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import get_territory_currencies

from expense_svc import expenses, idempotency, outbox
from expense_svc.convert import (
    DESCRIPTION_MAX_CHARS,
    EXPENSE_COLUMNS,
    check_locale,
    check_request_id,
    expense_to_proto,
    row_to_expense_row,
)
from expense_svc.money import MAX_UNITS, check_currency, is_currency
from expense_svc.tx import Conn, Pool, in_transaction
from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_service_pb2
from finmesh.errors import InvalidArgument, ResourceExhausted

MAX_FILE_BYTES = 20 * 1024 * 1024
BATCH_LINES = 1_000
MAX_REJECTED_LINES = 1_000
CONTENT_MAX_CHARS = 200

_FORMAT_HINTS: dict[int, str] = {
    expense_service_pb2.STATEMENT_FORMAT_CSV: "csv",
    expense_service_pb2.STATEMENT_FORMAT_OFX: "ofx",
    expense_service_pb2.STATEMENT_FORMAT_QIF: "qif",
}
_FORMAT_ENUMS: dict[str, Any] = {v: k for k, v in _FORMAT_HINTS.items()}


@dataclass(frozen=True)
class Upload:
    """A received statement file and the first message's metadata."""

    data: bytes
    filename: str
    format_hint: str | None
    request_id: str
    currency_code: str
    locale: str
    content_type: str


async def receive(
    requests: AsyncIterator[expense_service_pb2.ImportStatementRequest],
) -> Upload:
    """Join the streamed chunks; metadata comes from the first message."""
    first: expense_service_pb2.ImportStatementRequest | None = None
    chunks: list[bytes] = []
    size = 0
    async for message in requests:
        if first is None:
            first = message
        size += len(message.file.data)
        if size > MAX_FILE_BYTES:
            raise ResourceExhausted(
                f"the statement file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB;"
                " split it and import the parts",
                reason="FILE_TOO_LARGE",
            )
        chunks.append(message.file.data)
    if first is None:
        raise InvalidArgument.field("file", "is required (the stream was empty)")
    if first.format not in (0, *_FORMAT_HINTS):
        raise InvalidArgument.field("format", f"unknown statement format {first.format}")
    if len(first.filename) > 255:
        raise InvalidArgument.field("filename", "must be at most 255 characters")
    locale = check_locale(first.locale)
    currency = (
        check_currency(first.currency_code, "currency_code")
        if first.currency_code
        else default_currency(locale)
    )
    data = b"".join(chunks)
    if not data:
        raise InvalidArgument.field("file", "is empty")
    return Upload(
        data=data,
        filename=first.filename,
        format_hint=_FORMAT_HINTS.get(first.format),
        request_id=check_request_id(first.request_id),
        currency_code=currency,
        locale=locale,
        content_type=first.file.content_type,
    )


def default_currency(locale: str) -> str:
    """The currency of a locale's territory (``en_GB`` → GBP), GBP when it has none."""
    try:
        territory = Locale.parse(locale).territory
    except (UnknownLocaleError, ValueError):
        territory = None
    for code in get_territory_currencies(territory) if territory else ():
        if is_currency(code):
            return str(code)
    return "GBP"


def _truncate(text: str, limit: int = CONTENT_MAX_CHARS) -> str:
    return text if len(text) <= limit else text[:limit]


def _request_hash(upload: Upload) -> bytes:
    h = hashlib.sha256(b"ImportStatement\x00")
    for part in (upload.filename, upload.format_hint or "", upload.currency_code, upload.locale):
        h.update(part.encode())
        h.update(b"\x00")
    h.update(upload.data)
    return h.digest()


async def import_statement(
    pool: Pool, user_id: str, upload: Upload, *, request_id: str = ""
) -> expense_service_pb2.ImportStatementResponse:
    """Parse and import; the response counts imported, duplicate and rejected lines."""
    from expense_svc.statements import StatementFormatError, parse_statement

    idem = (
        idempotency.IdempotencyKey(
            key=request_id, method="ImportStatement", request_hash=_request_hash(upload)
        )
        if request_id
        else None
    )
    if idem is not None:
        replay = await _stored_response(pool, user_id, idem)
        if replay is not None:
            return replay
    try:
        result = await asyncio.to_thread(
            parse_statement,
            upload.data,
            filename=upload.filename or None,
            format_hint=upload.format_hint,
            locale=upload.locale,
            default_currency=upload.currency_code,
        )
    except StatementFormatError as exc:
        raise InvalidArgument.field("file", str(exc), reason="UNSUPPORTED_STATEMENT") from exc

    rejected: list[tuple[int, str, str]] = [
        (e.line_number, e.reason, _truncate(getattr(e, "content", "") or "")) for e in result.errors
    ]
    good: list[Any] = []
    for line in result.lines:
        problem = _line_problem(line)
        if problem:
            rejected.append((line.line_number, problem, _truncate(line.description)))
        else:
            good.append(line)
    rejected.sort(key=lambda r: r[0])

    imported_ids: list[tuple[int, str]] = []
    duplicates = 0
    for start in range(0, len(good), BATCH_LINES):
        batch = good[start : start + BATCH_LINES]
        ids = await in_transaction(
            pool,
            lambda conn, batch=batch: _insert_batch(  # type: ignore[misc]
                conn, user_id, batch, result.format, upload.locale
            ),
        )
        imported_ids += ids
        duplicates += len(batch) - len(ids)
    imported_ids.sort()
    response = expense_service_pb2.ImportStatementResponse(
        imported_count=len(imported_ids),
        duplicate_count=duplicates,
        rejected_count=len(rejected),
        rejected_lines=[
            expense_service_pb2.RejectedLine(line_number=n, reason=r, content=c)
            for n, r, c in rejected[:MAX_REJECTED_LINES]
        ],
        format=_FORMAT_ENUMS.get(result.format, 0),
        expense_ids=[i for _, i in imported_ids],
    )
    if idem is not None:
        return await _store_response(pool, user_id, idem, response)
    return response


def _line_problem(line: Any) -> str:
    if not is_currency(line.currency):
        return f"currency {line.currency!r} is not an ISO 4217 code"
    if line.amount <= 0:
        return "amount must be greater than zero"
    if line.amount >= MAX_UNITS + 1:
        return "amount is too large"
    exponent = line.amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -9:
        return "amount has more than nine decimal places"
    return ""


async def _insert_batch(
    conn: Conn, user_id: str, lines: Sequence[Any], source: str, locale: str
) -> list[tuple[int, str]]:
    """Insert the lines not imported before; returns ``(line_number, expense_id)`` of each
    inserted one and enqueues its ``ExpenseRecorded``."""
    ids = [uuid.uuid4() for _ in lines]
    by_id = {str(i): line.line_number for i, line in zip(ids, lines, strict=True)}
    cur = await conn.execute(
        "INSERT INTO expenses (id, user_id, amount, currency, direction, description, date,"
        " origin, locale, import_source, import_hash)"
        " SELECT i, %s, a, c, d, s, t, 'IMPORT', %s, %s, h"
        " FROM unnest(%s::uuid[], %s::numeric[], %s::text[], %s::text[], %s::text[],"
        " %s::date[], %s::text[]) AS u(i, a, c, d, s, t, h)"
        f" ON CONFLICT (user_id, import_hash) DO NOTHING RETURNING {EXPENSE_COLUMNS}",
        (
            user_id,
            locale,
            source,
            ids,
            [line.amount for line in lines],
            [line.currency for line in lines],
            [line.direction for line in lines],
            [line.description.replace("\x00", "")[:DESCRIPTION_MAX_CHARS] for line in lines],
            [line.date for line in lines],
            [line.dedupe_key for line in lines],
        ),
    )
    rows = [row_to_expense_row(r) for r in await cur.fetchall()]
    rows.sort(key=lambda r: by_id[r.id])
    events: list[tuple[str, Any]] = []
    for row in rows:
        # Imported lines have no category yet: no budget effect until enrichment moves one
        # in (through budgets.apply_spend_change).
        event = events_pb2.ExpenseRecorded(
            user_id=user_id, expense=expense_to_proto(row), locale=locale
        )
        event.occur_time.GetCurrentTime()
        events.append((user_id, event))
    await outbox.enqueue_many(conn, expenses.RAW_TOPIC, events)
    return [(by_id[r.id], r.id) for r in rows]


async def _stored_response(
    pool: Pool, user_id: str, idem: idempotency.IdempotencyKey
) -> expense_service_pb2.ImportStatementResponse | None:
    """The stored response if this key was already used (same request), without claiming."""

    async def work(conn: Conn) -> bytes | None:
        return await idempotency.stored(conn, user_id, idem)

    stored = await in_transaction(pool, work)
    return (
        None if stored is None else expense_service_pb2.ImportStatementResponse.FromString(stored)
    )


async def _store_response(
    pool: Pool,
    user_id: str,
    idem: idempotency.IdempotencyKey,
    response: expense_service_pb2.ImportStatementResponse,
) -> expense_service_pb2.ImportStatementResponse:
    async def work(conn: Conn) -> expense_service_pb2.ImportStatementResponse:
        replay = await idempotency.claim(conn, user_id, idem)
        if replay is not None:  # a concurrent import with this key finished first
            return expense_service_pb2.ImportStatementResponse.FromString(replay)
        await idempotency.store(conn, user_id, idem, response.SerializeToString())
        return response

    return await in_transaction(pool, work)
