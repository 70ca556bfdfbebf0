"""Insights: from ``InsightRaised`` events to stored ``Insight`` messages, and back.

Every insight has a stable *dedupe key* saying what it is about (``budget:2025-03:dining:80``,
``unusual:<expense id>`` ...). The store keeps one insight per user and key (a unique
constraint), so an event that arrives twice, or two events about the same thing, make one
insight. The insight's id and, for the events insight_svc raises itself, the event id are
uuid5 of the user and the key: the same everywhere, on every replica, after every retry.

Pure: protobuf messages in, protobuf messages out.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf import timestamp_pb2
from google.type import money_pb2

from finance.events.v1 import events_pb2
from finance.insight.v1 import insight_service_pb2 as pb
from finmesh.errors import InvalidArgument
from insight_svc.model import (
    Month,
    category_label,
    fmt_money,
    to_date_proto,
    to_decimal,
    to_money,
)
from insight_svc.recurring import Cadence, Series

_INSIGHT_NS = uuid.UUID("5d1b8a62-37b9-4f0e-bb0e-5a3c0f0b7c11")
_EVENT_NS = uuid.UUID("8f2a3c55-9d1e-4a7b-8c0f-1e2d3c4b5a69")

THRESHOLD_SEVERITY = {50: pb.SEVERITY_INFO, 80: pb.SEVERITY_WARNING, 100: pb.SEVERITY_CRITICAL}

CADENCE_PROTO = {
    Cadence.WEEKLY: pb.CADENCE_WEEKLY,
    Cadence.FORTNIGHTLY: pb.CADENCE_FORTNIGHTLY,
    Cadence.FOUR_WEEKLY: pb.CADENCE_FOUR_WEEKLY,
    Cadence.MONTHLY: pb.CADENCE_MONTHLY,
    Cadence.QUARTERLY: pb.CADENCE_QUARTERLY,
    Cadence.YEARLY: pb.CADENCE_YEARLY,
}


class BadInsightEvent(ValueError):
    """An ``InsightRaised`` that cannot become an insight (no kind, bad month, no user)."""


@dataclass(frozen=True)
class StoredInsight:
    user_id: str
    dedupe_key: str
    insight: pb.Insight

    @property
    def month(self) -> str:
        return self.insight.month

    @property
    def type_name(self) -> str:
        return pb.InsightType.Name(self.insight.type)


def insight_id(user_id: str, dedupe_key: str) -> str:
    return str(uuid.uuid5(_INSIGHT_NS, f"{user_id}|{dedupe_key}"))


def event_id(user_id: str, dedupe_key: str) -> str:
    """The event id insight_svc gives the ``InsightRaised`` it produces for ``dedupe_key``."""
    return str(uuid.uuid5(_EVENT_NS, f"{user_id}|{dedupe_key}"))


def _month(text: str) -> str:
    try:
        return str(Month.parse(text, field="month")) if text else ""
    except InvalidArgument as exc:
        raise BadInsightEvent(f"bad month {text[:16]!r}") from exc


def _require_month(text: str) -> str:
    month = _month(text)
    if not month:
        raise BadInsightEvent("the event names no month")
    return month


def _fmt(money: money_pb2.Money) -> str:
    return fmt_money(to_decimal(money), money.currency_code)


def dedupe_key(raised: events_pb2.InsightRaised) -> str:
    """What the event is about; one insight per user and key."""
    kind = raised.WhichOneof("kind")
    if kind == "budget_threshold_crossed":
        b = raised.budget_threshold_crossed
        return f"budget:{b.month}:{b.category}:{b.threshold_percent}"
    if kind == "unusual_spend":
        return f"unusual:{raised.unusual_spend.expense_id}"
    if kind == "duplicate_charge":
        ids = raised.duplicate_charge.expense_ids
        if not ids:
            raise BadInsightEvent("a duplicate charge names no expenses")
        return f"duplicate:{ids[-1]}"
    if kind == "new_subscription":
        return f"subscription:{raised.new_subscription.recurring_payment_id}"
    if kind == "price_rise":
        p = raised.price_rise
        return f"price:{p.recurring_payment_id}:{p.expense_id}"
    if kind == "forecast_overspend":
        f = raised.forecast_overspend
        return f"forecast:{f.month}:{f.category}:{f.limit.currency_code}"
    raise BadInsightEvent("the event carries no kind of insight")


def to_insight(raised: events_pb2.InsightRaised) -> StoredInsight:
    """The insight an event stands for. Raises :class:`BadInsightEvent`."""
    if not raised.user_id:
        raise BadInsightEvent("the event names no user")
    key = dedupe_key(raised)
    ins = pb.Insight(id=insight_id(raised.user_id, key))
    if raised.HasField("occur_time"):
        ins.create_time.CopyFrom(raised.occur_time)
    else:
        ins.create_time.GetCurrentTime()
    kind = raised.WhichOneof("kind")
    if kind == "budget_threshold_crossed":
        b = raised.budget_threshold_crossed
        if b.threshold_percent not in THRESHOLD_SEVERITY:
            raise BadInsightEvent(f"threshold {b.threshold_percent} is not 50, 80 or 100")
        label = category_label(b.category)
        verb = "budget reached" if b.threshold_percent >= 100 else "of budget used"
        title = (
            f"{label}: {verb}"
            if b.threshold_percent >= 100
            else f"{label}: {b.threshold_percent}% {verb}"
        )
        ins.MergeFrom(
            pb.Insight(
                type=pb.INSIGHT_TYPE_BUDGET_THRESHOLD,
                severity=THRESHOLD_SEVERITY[b.threshold_percent],
                title=title,
                message=(
                    f"You have spent {_fmt(b.spent)} of your {_fmt(b.limit)} "
                    f"{label.lower()} budget for {b.month}."
                ),
                month=_require_month(b.month),
                category=b.category,
                amount=b.spent,
                reference_amount=b.limit,
                threshold_percent=b.threshold_percent,
                expense_ids=[b.expense_id] if b.expense_id else [],
            )
        )
    elif kind == "unusual_spend":
        u = raised.unusual_spend
        where = f" at {u.merchant}" if u.merchant else ""
        ins.MergeFrom(
            pb.Insight(
                type=pb.INSIGHT_TYPE_UNUSUAL_SPEND,
                severity=pb.SEVERITY_WARNING,
                title=f"Unusual {category_label(u.category).lower()} spending",
                message=(
                    f"{_fmt(u.amount)}{where} is far above your usual "
                    f"{_fmt(u.typical_amount)} for {category_label(u.category).lower()}."
                ),
                month=_require_month(u.month),
                category=u.category,
                merchant=u.merchant,
                amount=u.amount,
                reference_amount=u.typical_amount,
                expense_ids=[u.expense_id],
            )
        )
    elif kind == "duplicate_charge":
        d = raised.duplicate_charge
        ins.MergeFrom(
            pb.Insight(
                type=pb.INSIGHT_TYPE_DUPLICATE_CHARGE,
                severity=pb.SEVERITY_CRITICAL,
                title=f"Possible duplicate charge at {d.merchant}",
                message=(
                    f"{d.merchant} charged you {_fmt(d.amount)} {len(d.expense_ids)} times "
                    "within a few days. Check that it was not charged twice."
                ),
                month=_require_month(d.month),
                category=d.category,
                merchant=d.merchant,
                amount=d.amount,
                expense_ids=list(d.expense_ids),
            )
        )
    elif kind == "new_subscription":
        n = raised.new_subscription
        cadence = pb.Cadence.Name(n.cadence).removeprefix("CADENCE_").replace("_", "-").lower()
        nxt = n.next_expected_date
        when = (
            f", next expected on {nxt.year:04d}-{nxt.month:02d}-{nxt.day:02d}" if nxt.year else ""
        )
        ins.MergeFrom(
            pb.Insight(
                type=pb.INSIGHT_TYPE_NEW_SUBSCRIPTION,
                severity=pb.SEVERITY_INFO,
                title=f"New recurring payment: {n.merchant}",
                message=f"{n.merchant} charges you about {_fmt(n.amount)} {cadence}{when}.",
                month=_require_month(n.month),
                category=n.category,
                merchant=n.merchant,
                amount=n.amount,
                recurring_payment_id=n.recurring_payment_id,
            )
        )
    elif kind == "price_rise":
        p = raised.price_rise
        ins.MergeFrom(
            pb.Insight(
                type=pb.INSIGHT_TYPE_PRICE_RISE,
                severity=pb.SEVERITY_WARNING,
                title=f"{p.merchant} put its price up",
                message=(
                    f"{p.merchant} now charges {_fmt(p.new_amount)} instead of "
                    f"{_fmt(p.previous_amount)}."
                ),
                month=_require_month(p.month),
                category=p.category,
                merchant=p.merchant,
                amount=p.new_amount,
                reference_amount=p.previous_amount,
                expense_ids=[p.expense_id] if p.expense_id else [],
                recurring_payment_id=p.recurring_payment_id,
            )
        )
    else:  # forecast_overspend (dedupe_key rejected anything else)
        f = raised.forecast_overspend
        label = category_label(f.category)
        ins.MergeFrom(
            pb.Insight(
                type=pb.INSIGHT_TYPE_FORECAST_OVERSPEND,
                severity=pb.SEVERITY_WARNING,
                title=f"{label}: on track to overspend",
                message=(
                    f"At this pace you will spend about {_fmt(f.projected)} on "
                    f"{label.lower()} this month, over your {_fmt(f.limit)} budget."
                ),
                month=_require_month(f.month),
                category=f.category,
                amount=f.projected,
                reference_amount=f.limit,
            )
        )
    return StoredInsight(raised.user_id, key, ins)


# -- the events insight_svc raises itself ------------------------------------------------------


def _raised(user_id: str, occur: dt.datetime) -> events_pb2.InsightRaised:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(occur)
    return events_pb2.InsightRaised(user_id=user_id, occur_time=ts)


def finish(raised: events_pb2.InsightRaised) -> events_pb2.InsightRaised:
    """Give ``raised`` its deterministic event id."""
    raised.event_id = event_id(raised.user_id, dedupe_key(raised))
    return raised


def unusual_spend(
    user_id: str, occur: dt.datetime, *, expense_id: str, day: dt.date, category: str,
    merchant: str, amount: money_pb2.Money, typical: money_pb2.Money,
) -> events_pb2.InsightRaised:  # fmt: skip
    raised = _raised(user_id, occur)
    raised.unusual_spend.CopyFrom(
        events_pb2.UnusualSpend(
            expense_id=expense_id,
            month=str(Month.of(day)),
            category=category,
            merchant=merchant,
            amount=amount,
            typical_amount=typical,
        )
    )
    return finish(raised)


def duplicate_charge(
    user_id: str, occur: dt.datetime, *, expense_ids: Sequence[str], day: dt.date,
    category: str, merchant: str, amount: money_pb2.Money,
) -> events_pb2.InsightRaised:  # fmt: skip
    raised = _raised(user_id, occur)
    raised.duplicate_charge.CopyFrom(
        events_pb2.DuplicateCharge(
            expense_ids=list(expense_ids),
            month=str(Month.of(day)),
            category=category,
            merchant=merchant,
            amount=amount,
        )
    )
    return finish(raised)


def new_subscription(user_id: str, occur: dt.datetime, s: Series) -> events_pb2.InsightRaised:
    raised = _raised(user_id, occur)
    raised.new_subscription.CopyFrom(
        events_pb2.NewSubscription(
            recurring_payment_id=s.id,
            month=str(Month.of(s.last_date)),
            category=s.category,
            merchant=s.merchant,
            cadence=CADENCE_PROTO[s.cadence],
            amount=to_money(s.typical_amount, s.currency),
        )
    )
    if s.next_expected_date is not None:
        raised.new_subscription.next_expected_date.CopyFrom(to_date_proto(s.next_expected_date))
    return finish(raised)


def price_rise(user_id: str, occur: dt.datetime, s: Series) -> events_pb2.InsightRaised:
    change = s.price_change
    assert change is not None
    raised = _raised(user_id, occur)
    raised.price_rise.CopyFrom(
        events_pb2.PriceRise(
            recurring_payment_id=s.id,
            month=str(Month.of(change.change_date)),
            category=s.category,
            merchant=s.merchant,
            previous_amount=to_money(change.previous_amount, s.currency),
            new_amount=to_money(change.new_amount, s.currency),
            expense_id=change.expense_id,
        )
    )
    return finish(raised)


def forecast_overspend(
    user_id: str, occur: dt.datetime, *, month: Month, category: str,
    projected: money_pb2.Money, limit: money_pb2.Money,
) -> events_pb2.InsightRaised:  # fmt: skip
    raised = _raised(user_id, occur)
    raised.forecast_overspend.CopyFrom(
        events_pb2.ForecastOverspend(
            month=str(month), category=category, projected=projected, limit=limit
        )
    )
    return finish(raised)
