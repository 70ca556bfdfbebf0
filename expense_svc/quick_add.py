"""QuickAddExpense: free text → ml_svc's parser → an expense, idempotent like CreateExpense.

The text is parsed before any transaction (a slow or absent parser never holds a database
connection); a replay of a stored request id is answered without calling the parser.
"""

from __future__ import annotations

from expense_svc import expenses, idempotency
from expense_svc.convert import (
    ExpenseDraft,
    check_date,
    check_description,
    check_direction,
    check_locale,
    check_merchant,
    to_date,
    today_utc,
)
from expense_svc.ml_client import MlClient
from expense_svc.money import positive_amount
from expense_svc.tx import Conn, Pool, in_transaction
from finance.expense.v1 import expense_pb2, expense_service_pb2
from finance.ml.v1 import categorizer_service_pb2
from finmesh.errors import InvalidArgument

TEXT_MAX_CHARS = 1_000


async def _stored_replay(
    pool: Pool, user_id: str, idem: idempotency.IdempotencyKey
) -> expense_pb2.Expense | None:
    """The stored response if this key was already used (same request), without claiming."""

    async def work(conn: Conn) -> bytes | None:
        return await idempotency.stored(conn, user_id, idem)

    stored = await in_transaction(pool, work)
    return None if stored is None else expense_pb2.Expense.FromString(stored)


async def quick_add(
    pool: Pool,
    user_id: str,
    request: expense_service_pb2.QuickAddExpenseRequest,
    *,
    idem: idempotency.IdempotencyKey | None,
    ml: MlClient,
    authorization: str,
) -> expense_pb2.Expense:
    text = request.text.strip()
    if not text:
        raise InvalidArgument.field("text", "is required")
    if len(request.text) > TEXT_MAX_CHARS:
        raise InvalidArgument.field("text", f"must be at most {TEXT_MAX_CHARS} characters")
    locale = check_locale(request.locale)
    today = check_date(request.today, "today", default=today_utc())
    if idem is not None:
        replay = await _stored_replay(pool, user_id, idem)
        if replay is not None:
            return replay
    parse_request = categorizer_service_pb2.ParseExpenseRequest(text=text, locale=locale)
    parse_request.today.CopyFrom(request.today if request.HasField("today") else to_date(today))
    parsed = await ml.parse_expense(parse_request, authorization=authorization)
    if not parsed.HasField("amount") or (parsed.amount.units == 0 and parsed.amount.nanos == 0):
        raise InvalidArgument.field("text", "no amount found in the text; include one, e.g. £3.50")
    try:
        amount, currency = positive_amount(parsed.amount, "text")
    except InvalidArgument as exc:
        raise InvalidArgument.field(
            "text", f"the amount found is not usable: {exc.message}"
        ) from exc
    description = parsed.description.strip() or text
    draft = ExpenseDraft(
        amount=amount,
        currency=currency,
        direction=check_direction(parsed.direction, "text"),
        description=check_description(description[:1000], "text"),
        merchant=check_merchant(parsed.merchant[:200], "text"),
        category=None,
        date=check_date(parsed.date, "text", default=today),
    )
    return await expenses.create_expense(
        pool, user_id, draft, idem=idem, origin="QUICK_ADD", locale=locale
    )
