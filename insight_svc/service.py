"""Thin gRPC servicer for insight_svc: request → domain call (reports.py) → response.

Every RPC is scoped to the caller (``current_user_id()``): a user only ever sees their own
projection and insights. Domain errors (``finmesh.errors``) are mapped to status by the server
interceptor.

Budgets come from expense_svc (budgets_client.py). If it cannot answer, GetSpendingSummary and
GetForecast still answer, without budget figures, and send the response header
``x-finmesh-degraded: budgets-unavailable`` (an HTTP header through Envoy) so a client can
tell "no budgets" from "budgets unknown".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from google.type import money_pb2

from finance.expense.v1 import expense_pb2
from finance.insight.v1 import insight_service_pb2 as pb
from finance.insight.v1 import insight_service_pb2_grpc
from finmesh import db
from finmesh.auth import current_user_id
from finmesh.kafka import EventProducer
from insight_svc import forecast, recurring, reports
from insight_svc.budgets_client import BudgetClient, BudgetsUnavailable
from insight_svc.insights import CADENCE_PROTO
from insight_svc.model import BudgetLimit, Month, to_date_proto, to_money, utc_today
from insight_svc.watch import WatchHub

log = logging.getLogger(__name__)

DEGRADED_HEADER = "x-finmesh-degraded"
INSIGHTS_TOPIC = "insights.events"

Context = grpc.aio.ServicerContext[Any, Any]

_STATUS = {
    recurring.Status.EARLY: pb.RECURRING_STATUS_EARLY,
    recurring.Status.ESTABLISHED: pb.RECURRING_STATUS_ESTABLISHED,
    recurring.Status.STOPPED: pb.RECURRING_STATUS_STOPPED,
}


def _money(amount: Decimal, currency: str) -> money_pb2.Money:
    return to_money(amount, currency)


def _now_ts() -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


class InsightService(insight_service_pb2_grpc.InsightServiceServicer):
    def __init__(
        self,
        pool: db.Pool,
        budgets: BudgetClient,
        hub: WatchHub,
        producer: EventProducer | None = None,
        *,
        heartbeat_seconds: float = 15.0,
        today: Callable[[], dt.date] = utc_today,
    ) -> None:
        self._pool = pool
        self._budgets = budgets
        self._hub = hub
        self._producer = producer
        self._heartbeat = heartbeat_seconds
        self._today = today

    async def _budgets_for(self, month: Month, context: Context) -> Sequence[BudgetLimit] | None:
        authorization = ""
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                authorization = value if isinstance(value, str) else value.decode()
        try:
            return await self._budgets.list_budgets(month, authorization)
        except BudgetsUnavailable:
            await context.send_initial_metadata(((DEGRADED_HEADER, "budgets-unavailable"),))
            return None

    # -- GetSpendingSummary ------------------------------------------------------------------

    async def GetSpendingSummary(
        self, request: pb.GetSpendingSummaryRequest, context: Context
    ) -> pb.SpendingSummary:
        user_id = current_user_id()
        today = self._today()
        month = Month.parse(request.month, today=today)
        budgets = await self._budgets_for(month, context)
        s = await reports.spending_summary(self._pool, user_id, month, budgets or (), today)
        out = pb.SpendingSummary(
            month=str(s.month), previous_month=str(s.previous_month), compute_time=_now_ts()
        )
        for t in s.totals:
            out.totals.append(
                pb.CurrencyTotal(
                    currency_code=t.currency,
                    spent=_money(t.spent, t.currency),
                    received=_money(t.received, t.currency),
                    previous_month_spent=_money(t.previous_month_spent, t.currency),
                    expense_count=t.expense_count,
                )
            )
        for c in s.categories:
            cat = pb.CategorySpend(
                category=c.category,
                spent=_money(c.spent, c.currency),
                previous_month_spent=_money(c.previous_month_spent, c.currency),
                change_percent=c.change_percent,
                budget_percent_used=c.budget_percent_used,
                expense_count=c.expense_count,
            )
            remaining = c.budget_remaining
            if c.budget_limit is not None and remaining is not None:
                cat.budget_limit.CopyFrom(_money(c.budget_limit, c.currency))
                cat.budget_remaining.CopyFrom(_money(remaining, c.currency))
            out.categories.append(cat)
        for m in s.top_merchants:
            out.top_merchants.append(
                pb.MerchantSpend(
                    merchant=m.merchant,
                    category=m.category,
                    spent=_money(m.spent, m.currency),
                    expense_count=m.expense_count,
                )
            )
        for d in s.daily:
            out.daily.append(
                pb.DailySpend(
                    date=to_date_proto(d.date),
                    spent=_money(d.spent, d.currency),
                    cumulative_spent=_money(d.cumulative_spent, d.currency),
                )
            )
        return out

    # -- ListInsights ------------------------------------------------------------------------

    async def ListInsights(
        self, request: pb.ListInsightsRequest, context: Context
    ) -> pb.ListInsightsResponse:
        user_id = current_user_id()
        size = reports.page_size(request.page_size)
        found, token = await reports.list_insights(
            self._pool,
            user_id,
            month=request.month,
            insight_type=request.type,
            size=size,
            token=request.page_token,
        )
        return pb.ListInsightsResponse(insights=found, next_page_token=token)

    # -- WatchInsights -----------------------------------------------------------------------

    async def WatchInsights(
        self, request: pb.WatchInsightsRequest, context: Context
    ) -> AsyncIterator[pb.WatchInsightsResponse]:
        user_id = current_user_id()
        with self._hub.subscribe(user_id) as queue:
            # Subscribed: say so at once (a heartbeat), so a client knows the stream is live.
            yield pb.WatchInsightsResponse(heartbeat=pb.Heartbeat(send_time=_now_ts()))
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=self._heartbeat)
                except TimeoutError:
                    yield pb.WatchInsightsResponse(heartbeat=pb.Heartbeat(send_time=_now_ts()))
                    continue
                if item is None:
                    return
                yield item

    # -- ListRecurring -----------------------------------------------------------------------

    async def ListRecurring(
        self, request: pb.ListRecurringRequest, context: Context
    ) -> pb.ListRecurringResponse:
        user_id = current_user_id()
        size = reports.page_size(request.page_size)
        page, token = await reports.list_recurring(
            self._pool,
            user_id,
            status=request.status,
            size=size,
            token=request.page_token,
            today=self._today(),
        )
        return pb.ListRecurringResponse(
            recurring_payments=[_recurring(s) for s in page], next_page_token=token
        )

    # -- GetForecast -------------------------------------------------------------------------

    async def GetForecast(self, request: pb.GetForecastRequest, context: Context) -> pb.Forecast:
        user_id = current_user_id()
        today = self._today()
        month = Month.parse(request.month, today=today)
        budgets = await self._budgets_for(month, context)
        f = await reports.month_forecast(self._pool, user_id, month, budgets, today)
        await self._raise_overspend(user_id, f, today)
        out = pb.Forecast(
            month=str(f.month),
            as_of_date=to_date_proto(f.as_of),
            days_remaining=f.days_remaining,
            compute_time=_now_ts(),
        )
        for c in f.categories:
            cat = pb.CategoryForecast(
                category=c.category,
                spent_to_date=_money(c.spent_to_date, c.currency),
                projected=_money(c.projected, c.currency),
                projected_low=_money(c.projected_low, c.currency),
                projected_high=_money(c.projected_high, c.currency),
                over_budget=c.over_budget,
            )
            if c.budget_limit is not None:
                cat.budget_limit.CopyFrom(_money(c.budget_limit, c.currency))
            out.categories.append(cat)
        for t in f.totals:
            total = pb.ForecastTotal(
                currency_code=t.currency,
                spent_to_date=_money(t.spent_to_date, t.currency),
                projected=_money(t.projected, t.currency),
                projected_low=_money(t.projected_low, t.currency),
                projected_high=_money(t.projected_high, t.currency),
            )
            if t.budget_limit is not None:
                total.budget_limit.CopyFrom(_money(t.budget_limit, t.currency))
            if t.safe_to_spend_today is not None:
                total.safe_to_spend_today.CopyFrom(_money(t.safe_to_spend_today, t.currency))
            out.totals.append(total)
        return out

    async def _raise_overspend(self, user_id: str, f: forecast.Forecast, today: dt.date) -> None:
        """Store (through insights.events) a forecast-overspend insight the first time a
        category of the current month is projected over budget. Best effort: the forecast is
        answered even if Kafka is down."""
        if self._producer is None:
            return
        for raised in await reports.new_overspend_alerts(self._pool, user_id, f, today):
            try:
                self._producer.produce(INSIGHTS_TOPIC, user_id, raised, event_id=raised.event_id)
            except Exception as exc:
                log.warning("could not raise forecast overspend: %s", exc)


def _recurring(s: recurring.Series) -> pb.RecurringPayment:
    out = pb.RecurringPayment(
        id=s.id,
        merchant=s.merchant,
        category=s.category,
        direction=expense_pb2.DIRECTION_CREDIT
        if s.direction == expense_pb2.DIRECTION_CREDIT
        else expense_pb2.DIRECTION_DEBIT,
        cadence=CADENCE_PROTO[s.cadence],
        typical_amount=_money(s.typical_amount, s.currency),
        last_amount=_money(s.last_amount, s.currency),
        annual_amount=_money(s.annual_amount, s.currency),
        first_date=to_date_proto(s.first_date),
        last_date=to_date_proto(s.last_date),
        status=_STATUS[s.status],
        occurrence_count=len(s.txns),
        expense_ids=s.expense_ids,
    )
    if s.next_expected_date is not None:
        out.next_expected_date.CopyFrom(to_date_proto(s.next_expected_date))
    change = s.price_change
    if change is not None:
        out.price_change.CopyFrom(
            pb.PriceChange(
                previous_amount=_money(change.previous_amount, s.currency),
                new_amount=_money(change.new_amount, s.currency),
                change_percent=change.change_percent,
                change_date=to_date_proto(change.change_date),
            )
        )
    return out
