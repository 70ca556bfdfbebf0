"""What the RPCs compute, without gRPC: read the projection, run the pure modules.

Every function is scoped to one user. Page tokens are opaque to clients (base64url JSON) and
bound to the filter they were issued for; a token that does not decode, or was issued for other
filters, is INVALID_ARGUMENT naming ``page_token``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from finance.events.v1 import events_pb2
from finance.insight.v1 import insight_service_pb2 as pb
from finmesh import db
from finmesh.errors import InvalidArgument
from insight_svc import forecast, insights, recurring, repository, summary
from insight_svc.model import BudgetLimit, Month, to_money

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: How much history recurring detection looks at.
RECURRING_HISTORY_DAYS = 3 * 366


def page_size(value: int) -> int:
    if value < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, filters: dict[str, Any]) -> dict[str, Any] | None:
    """The token's data, checked against ``filters``; None for an empty token."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument.field("page_token", "is not a token this service issued") from exc
    if not isinstance(data, dict) or data.get("f") != filters:
        raise InvalidArgument.field(
            "page_token", "was issued for other filters; repeat them or start again"
        )
    return data


# -- summary -----------------------------------------------------------------------------------


async def spending_summary(
    pool: db.Pool,
    user_id: str,
    month: Month,
    budgets: Sequence[BudgetLimit],
    today: dt.date,
) -> summary.Summary:
    prev = month.add(-1)
    async with pool.connection() as conn:
        txns = await repository.txns_between(conn, user_id, prev.first, month.last)
    current = [t for t in txns if month.contains(t.date)]
    previous = [t for t in txns if prev.contains(t.date)]
    return summary.summarize(month, current, previous, budgets, today)


# -- insights ----------------------------------------------------------------------------------


async def list_insights(
    pool: db.Pool,
    user_id: str,
    *,
    month: str,
    insight_type: int,
    size: int,
    token: str,
) -> tuple[list[pb.Insight], str]:
    if insight_type not in pb.InsightType.values():
        raise InvalidArgument.field("type", f"{insight_type} is not an InsightType")
    month_text = str(Month.parse(month)) if month else ""
    type_name = pb.InsightType.Name(pb.InsightType.ValueType(insight_type)) if insight_type else ""
    filters = {"month": month_text, "type": type_name}
    data = decode_token(token, filters)
    after: repository.InsightCursor | None = None
    if data is not None:
        try:
            after = repository.InsightCursor(dt.datetime.fromisoformat(data["t"]), str(data["i"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument.field("page_token", "is not a token this service issued") from exc
    async with pool.connection() as conn:
        rows = await repository.list_insights(
            conn, user_id, month=month_text, type_name=type_name, after=after, limit=size + 1
        )
    page = rows[:size]
    next_token = ""
    if len(rows) > size and page:
        last = page[-1][1]
        next_token = encode_token({"f": filters, "t": last.create_time.isoformat(), "i": last.id})
    return [r[0] for r in page], next_token


# -- recurring ---------------------------------------------------------------------------------


async def recurring_payments(pool: db.Pool, user_id: str, today: dt.date) -> list[recurring.Series]:
    async with pool.connection() as conn:
        txns = await repository.txns_between(
            conn, user_id, today - dt.timedelta(days=RECURRING_HISTORY_DAYS), today
        )
    return recurring.detect(user_id, txns, today)


async def list_recurring(
    pool: db.Pool, user_id: str, *, status: int, size: int, token: str, today: dt.date
) -> tuple[list[recurring.Series], str]:
    names = {
        pb.RECURRING_STATUS_EARLY: recurring.Status.EARLY,
        pb.RECURRING_STATUS_ESTABLISHED: recurring.Status.ESTABLISHED,
        pb.RECURRING_STATUS_STOPPED: recurring.Status.STOPPED,
    }
    if status and status not in pb.RecurringStatus.values():
        raise InvalidArgument.field("status", f"{status} is not a RecurringStatus")
    filters = {"status": status}
    data = decode_token(token, filters)
    offset = 0
    if data is not None:
        offset = data.get("o", 0)
        if not isinstance(offset, int) or offset < 0:
            raise InvalidArgument.field("page_token", "is not a token this service issued")
    series = await recurring_payments(pool, user_id, today)
    if status:
        wanted = names[pb.RecurringStatus.ValueType(status)]
        series = [s for s in series if s.status is wanted]
    page = series[offset : offset + size]
    more = offset + size < len(series)
    return page, encode_token({"f": filters, "o": offset + size}) if more else ""


# -- forecast ----------------------------------------------------------------------------------


async def month_forecast(
    pool: db.Pool,
    user_id: str,
    month: Month,
    budgets: Sequence[BudgetLimit] | None,
    today: dt.date,
) -> forecast.Forecast:
    start = min(
        month.add(-forecast.HISTORY_MONTHS).first, today - dt.timedelta(days=RECURRING_HISTORY_DAYS)
    )
    async with pool.connection() as conn:
        txns = await repository.txns_between(conn, user_id, start, month.last)
    as_of = min(today, month.last)
    series = recurring.detect(user_id, [t for t in txns if t.date <= as_of], as_of)
    return forecast.forecast(month, today, txns, series, budgets)


async def new_overspend_alerts(
    pool: db.Pool, user_id: str, result: forecast.Forecast, today: dt.date
) -> list[events_pb2.InsightRaised]:
    """Forecast-overspend insights for the current month not stored yet."""
    if result.month != Month.of(today):
        return []
    now = dt.datetime.now(dt.UTC)
    found = [
        insights.forecast_overspend(
            user_id,
            now,
            month=result.month,
            category=c.category,
            projected=to_money(c.projected, c.currency),
            limit=to_money(c.budget_limit, c.currency),
        )
        for c in result.categories
        if c.over_budget and c.budget_limit is not None
    ]
    if not found:
        return []
    async with pool.connection() as conn:
        existing = await repository.existing_keys(
            conn, user_id, [insights.dedupe_key(r) for r in found]
        )
    return [r for r in found if insights.dedupe_key(r) not in existing]
