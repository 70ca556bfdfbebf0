"""insight_svc when expense_svc cannot be reached: summaries and forecasts still answer,
without budgets, and say so in a response header (``x-finmesh-degraded``). The replica runs
in-process with its expense_svc target pointed at a port nobody listens on."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from finance.events.v1 import events_pb2
from finance.insight.v1 import insight_service_pb2, insight_service_pb2_grpc
from finmesh import db
from finmesh.config import DatabaseConfig
from finmesh.kafka import Event, EventProducer
from finmesh.stack.procs import free_port
from insight_svc.consumer import Projector
from insight_svc.model import Month, to_decimal, utc_today
from insight_svc.server import SCHEMA
from tests.insight.helpers import expense, new_user, recorded
from tests.insight.replicas import replica, replica_config, replica_settings
from tests.plugins.mesh import Mesh


@pytest.fixture
async def lonely(
    mesh: Mesh, new_database: Any
) -> AsyncIterator[tuple[insight_service_pb2_grpc.InsightServiceStub, str]]:
    url = new_database("insight_degraded")
    cfg = replica_config(mesh, url, expense_target=f"127.0.0.1:{free_port()}")
    async with replica(cfg, replica_settings(f"insight-degraded-{uuid.uuid4().hex[:8]}")) as stub:
        yield stub, url


async def test_without_expense_svc_summary_and_forecast_answer_without_budgets_and_say_so(
    mesh: Mesh, lonely: tuple[insight_service_pb2_grpc.InsightServiceStub, str]
) -> None:
    stub, url = lonely
    user = new_user("degraded")
    month = Month.of(utc_today())
    # Feed the projection through the consumer's own handler (what a Kafka record would do).
    pool = await db.open_pool(DatabaseConfig(url=url), schema=SCHEMA)
    producer = EventProducer(mesh.cfg.kafka_bootstrap_servers, client_id="insight-tests")
    try:
        msg = recorded(user, expense(user, month.first, "42.00", "Tesco", "groceries"))
        await Projector(pool, producer).handle(
            Event(
                topic="expenses.raw",
                partition=0,
                offset=0,
                key=user,
                event_id=msg.event_id,
                event_type=events_pb2.ExpenseRecorded.DESCRIPTOR.full_name,
                value=msg.SerializeToString(),
            )
        )
    finally:
        await producer.close_async()
        await pool.close()

    call: Any = stub.GetSpendingSummary(
        insight_service_pb2.GetSpendingSummaryRequest(month=str(month)),
        metadata=mesh.metadata(user),
        timeout=10,
    )
    resp = await call
    # Pairs, not dict(metadata): grpc.aio.Metadata.keys() yields (key, value) pairs in 1.76.
    headers = {k: v for k, v in await call.initial_metadata() or ()}
    assert headers.get("x-finmesh-degraded") == "budgets-unavailable"
    [total] = resp.totals
    assert to_decimal(total.spent) == Decimal("42.00")
    [groceries] = resp.categories
    assert groceries.category == "groceries"
    assert not groceries.HasField("budget_limit")

    forecast_call: Any = stub.GetForecast(
        insight_service_pb2.GetForecastRequest(month=str(month)),
        metadata=mesh.metadata(user),
        timeout=10,
    )
    forecast = await forecast_call
    forecast_headers = {k: v for k, v in await forecast_call.initial_metadata() or ()}
    assert forecast_headers.get("x-finmesh-degraded") == "budgets-unavailable"
    [ftotal] = forecast.totals
    assert to_decimal(ftotal.spent_to_date) == Decimal("42.00")
    assert not ftotal.HasField("safe_to_spend_today")
    assert not ftotal.HasField("budget_limit")
    assert forecast.as_of_date.day == dt.datetime.now(dt.UTC).day
