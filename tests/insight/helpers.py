"""Shared helpers for the insight_svc tests: building expenses and events."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh.kafka import EventProducer
from insight_svc.model import CREDIT, DEBIT, Txn, to_date_proto, to_money

T = TypeVar("T")

_ids = itertools.count(1)


def txn(
    day: dt.date,
    amount: str,
    merchant: str = "Netflix",
    *,
    category: str = "subscriptions",
    currency: str = "GBP",
    direction: int = DEBIT,
) -> Txn:
    return Txn(
        id=f"t{next(_ids):05d}",
        date=day,
        amount=Decimal(amount),
        currency=currency,
        direction=direction,
        merchant=merchant,
        category=category,
        description=merchant.upper(),
    )


def credit(day: dt.date, amount: str, merchant: str, category: str = "income") -> Txn:
    return txn(day, amount, merchant, category=category, direction=CREDIT)


def ts(when: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(when)
    return out


def expense(
    user: str,
    day: dt.date,
    amount: str,
    merchant: str,
    category: str,
    *,
    currency: str = "GBP",
    direction: int = DEBIT,
    expense_id: str | None = None,
    update_time: dt.datetime | None = None,
    description: str | None = None,
) -> expense_pb2.Expense:
    """An expense as expense_svc would publish it (already enriched)."""
    when = update_time or dt.datetime.now(dt.UTC)
    return expense_pb2.Expense(
        id=expense_id or str(uuid.uuid4()),
        amount=to_money(Decimal(amount), currency),
        direction=expense_pb2.Direction.ValueType(direction),
        description=description if description is not None else f"{merchant.upper()} {day}",
        merchant=merchant,
        category=category,
        category_source=expense_pb2.CATEGORY_SOURCE_MODEL
        if category
        else expense_pb2.CATEGORY_SOURCE_UNSPECIFIED,
        date=to_date_proto(day),
        enrichment_state=expense_pb2.ENRICHMENT_STATE_ENRICHED,
        create_time=ts(when),
        update_time=ts(when),
    )


def recorded(user: str, exp: expense_pb2.Expense) -> events_pb2.ExpenseRecorded:
    return events_pb2.ExpenseRecorded(
        event_id=str(uuid.uuid4()),
        occur_time=exp.update_time,
        user_id=user,
        expense=exp,
        locale="en_GB",
    )


def changed(
    user: str, exp: expense_pb2.Expense, previous: expense_pb2.Expense
) -> events_pb2.ExpenseChanged:
    return events_pb2.ExpenseChanged(
        event_id=str(uuid.uuid4()),
        occur_time=exp.update_time,
        user_id=user,
        expense=exp,
        previous_expense=previous,
    )


def deleted(user: str, exp: expense_pb2.Expense, when: dt.datetime) -> events_pb2.ExpenseDeleted:
    return events_pb2.ExpenseDeleted(
        event_id=str(uuid.uuid4()),
        occur_time=ts(when),
        user_id=user,
        expense_id=exp.id,
        expense=exp,
    )


def threshold(
    user: str, month: str, category: str, percent: int, spent: str, limit: str
) -> events_pb2.InsightRaised:
    return events_pb2.InsightRaised(
        event_id=str(uuid.uuid4()),
        occur_time=ts(dt.datetime.now(dt.UTC)),
        user_id=user,
        budget_threshold_crossed=events_pb2.BudgetThresholdCrossed(
            month=month,
            category=category,
            threshold_percent=percent,
            limit=to_money(Decimal(limit), "GBP"),
            spent=to_money(Decimal(spent), "GBP"),
            expense_id=str(uuid.uuid4()),
        ),
    )


# -- talking to the mesh -----------------------------------------------------------------------


def money(value: dict[str, Any] | None) -> Decimal:
    """A proto3-JSON Money as a Decimal (units are strings, zero fields may be absent)."""
    if not value:
        return Decimal(0)
    return Decimal(int(value.get("units", "0") or 0)) + Decimal(value.get("nanos", 0) or 0) / (
        10**9
    )


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout_seconds: float = 150.0,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until ``done(result)``; fail with the last result after the timeout."""
    deadline = asyncio.get_running_loop().time() + timeout_seconds
    while True:
        result = await probe()
        if done(result):
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last result: {result!r}")
        await asyncio.sleep(0.2)


async def publish(producer: EventProducer, topic: str, user: str, *messages: Message) -> None:
    """Produce events as the other services do (key: the user id; event-id header)."""
    for m in messages:
        await producer.produce_and_wait(topic, user, m, event_id=getattr(m, "event_id", None))


def new_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class JsonArrayStream:
    """Incrementally decodes Envoy's streamed JSON array (``[{...},{...}`` chunk by chunk)."""

    def __init__(self) -> None:
        self._buf = ""
        self._decoder = json.JSONDecoder()

    def feed(self, text: str) -> list[dict[str, Any]]:
        self._buf += text
        out: list[dict[str, Any]] = []
        while True:
            stripped = self._buf.lstrip(" \r\n\t[,")
            if not stripped or stripped.startswith("]"):
                self._buf = stripped
                return out
            try:
                obj, end = self._decoder.raw_decode(stripped)
            except json.JSONDecodeError:
                self._buf = stripped
                return out
            out.append(obj)
            self._buf = stripped[end:]
