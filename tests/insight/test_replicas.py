"""WatchInsights with several replicas: the projection consumer group gives each event to one
replica, yet a watcher on any replica gets its insights, because every replica's watch feed
reads every partition (assign, not the group). Two in-process replicas share one group here."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from finance.insight.v1 import insight_service_pb2
from finmesh.kafka import EventProducer
from finmesh.stack.procs import free_port
from insight_svc.model import Month, utc_today
from tests.insight.helpers import new_user, publish, threshold
from tests.insight.replicas import replica, replica_config, replica_settings
from tests.plugins.mesh import Mesh


async def _collect(call: Any, out: list[Any], ready: asyncio.Event, got: asyncio.Event) -> None:
    async for item in call:
        out.append(item)
        if item.HasField("heartbeat"):
            ready.set()
        if item.HasField("insight"):
            got.set()


async def test_a_watcher_on_every_replica_receives_its_users_insight_exactly_once(
    mesh: Mesh, new_database: Any
) -> None:
    url = new_database("insight_replicas")
    group = f"insight-replicas-{uuid.uuid4().hex[:8]}"
    expense_target = f"127.0.0.1:{free_port()}"
    user, other = new_user("replicas"), new_user("replicas-other")
    month = str(Month.of(utc_today()))
    async with (
        replica(replica_config(mesh, url, expense_target=expense_target), replica_settings(group))
        as one,
        replica(replica_config(mesh, url, expense_target=expense_target), replica_settings(group))
        as two,
    ):  # fmt: skip
        streams: list[tuple[Any, list[Any], asyncio.Event]] = []
        received: list[asyncio.Event] = []
        tasks = []
        for stub in (one, two):
            call = stub.WatchInsights(
                insight_service_pb2.WatchInsightsRequest(), metadata=mesh.metadata(user)
            )
            seen: list[Any] = []
            ready, got = asyncio.Event(), asyncio.Event()
            streams.append((call, seen, ready))
            received.append(got)
            tasks.append(asyncio.create_task(_collect(call, seen, ready, got)))
        for _, _, ready in streams:
            await asyncio.wait_for(ready.wait(), 20)

        producer = EventProducer(mesh.cfg.kafka_bootstrap_servers, client_id="insight-tests")
        try:
            await publish(
                producer, "insights.events", other, threshold(other, month, "fees", 50, "5", "10")
            )
            event = threshold(user, month, "travel", 100, "850.00", "800.00")
            await publish(producer, "insights.events", user, event)
            await publish(producer, "insights.events", user, event)  # redelivered
        finally:
            await producer.close_async()

        await asyncio.wait_for(asyncio.gather(*(g.wait() for g in received)), 30)
        # Give a redelivered copy the time it would need to show up (it must not).
        await asyncio.sleep(1.0)
        for call, _, _ in streams:
            call.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    for _, seen, _ in streams:
        insights = [i.insight for i in seen if i.HasField("insight")]
        assert [(i.category, i.threshold_percent) for i in insights] == [("travel", 100)]
        assert insights[0].type == insight_service_pb2.INSIGHT_TYPE_BUDGET_THRESHOLD
    ids = {i.insight.id for _, s, _ in streams for i in s if i.HasField("insight")}
    assert len(ids) == 1  # the same insight (same id) on both replicas
