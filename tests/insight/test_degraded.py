"""insight_svc when expense_svc cannot be reached: summaries and forecasts still answer,
without budgets, and say so in a response header. The service runs in-process here (real
PostgreSQL and Kafka; its own database and consumer group) with its expense_svc target pointed
at a port nobody listens on."""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import grpc
import pytest

from finance.insight.v1 import insight_service_pb2, insight_service_pb2_grpc
from finmesh.config import DatabaseConfig, KafkaConfig, ServiceConfig
from finmesh.kafka import EventProducer
from finmesh.server import GrpcServer
from insight_svc.model import Month, to_decimal, utc_today
from insight_svc.server import InsightSettings, running
from tests.insight.helpers import eventually, expense, new_user, publish, recorded
from tests.plugins.mesh import Mesh


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def lonely_insight_svc(
    mesh: Mesh, new_database: Any
) -> AsyncIterator[insight_service_pb2_grpc.InsightServiceStub]:
    cfg = ServiceConfig(
        name="insight_svc",
        port=0,
        database=DatabaseConfig(url=new_database("insight_degraded")),
        kafka=KafkaConfig(
            bootstrap_servers=mesh.cfg.kafka_bootstrap_servers, client_id="insight-degraded"
        ),
        auth=mesh.cfg.auth,
        expense_target=f"127.0.0.1:{_closed_port()}",
        grace_seconds=1,
    )
    settings = InsightSettings(
        group_id=f"insight-degraded-{uuid.uuid4().hex[:8]}", budgets_timeout_seconds=1.0
    )
    async with running(cfg, settings) as services:
        server = GrpcServer(cfg, services)
        port = await server.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield insight_service_pb2_grpc.InsightServiceStub(channel)
        await server.stop(1)


async def test_without_expense_svc_the_summary_answers_without_budgets_and_says_so(
    mesh: Mesh, lonely_insight_svc: insight_service_pb2_grpc.InsightServiceStub
) -> None:
    user = new_user("degraded")
    month = Month.of(utc_today())
    producer = EventProducer(mesh.cfg.kafka_bootstrap_servers, client_id="insight-tests")
    try:
        e = expense(user, month.first, "42.00", "Tesco", "groceries")
        await publish(producer, "expenses.raw", user, recorded(user, e))
    finally:
        await producer.close_async()

    async def summary() -> tuple[insight_service_pb2.SpendingSummary, dict[str, str]]:
        call: Any = lonely_insight_svc.GetSpendingSummary(
            insight_service_pb2.GetSpendingSummaryRequest(month=str(month)),
            metadata=mesh.metadata(user),
            timeout=10,
        )
        resp = await call
        headers = {k: str(v) for k, v in (await call.initial_metadata()) or ()}
        return resp, headers

    resp, headers = await eventually(
        summary, lambda r: len(r[0].totals) == 1, what="the projection", timeout_seconds=60
    )
    assert headers.get("x-finmesh-degraded") == "budgets-unavailable"
    assert to_decimal(resp.totals[0].spent) == Decimal("42.00")
    [groceries] = resp.categories
    assert not groceries.HasField("budget_limit")
    forecast_call: Any = lonely_insight_svc.GetForecast(
        insight_service_pb2.GetForecastRequest(month=str(month)),
        metadata=mesh.metadata(user),
        timeout=10,
    )
    forecast = await forecast_call
    assert dict(await forecast_call.initial_metadata() or ()).get("x-finmesh-degraded") == (
        "budgets-unavailable"
    )
    [total] = forecast.totals
    assert not total.HasField("safe_to_spend_today")
    assert forecast.as_of_date.day == dt.datetime.now(dt.UTC).day
