"""insight_svc entry point: open the database, apply migrations, start the consumers, serve.

Resources, in the order they open (and close in reverse):

1. PostgreSQL pool on schema ``insight`` (migrations applied first).
2. A Kafka producer (idempotent, acks=all) for the insights this service raises.
3. This replica's watch feed (every partition, assigned; watch.py) and the watcher hub.
4. The projection consumer (group ``insight_svc``, shared by replicas; consumer.py), restarted
   from its committed offsets if it ever fails, and an hourly purge of processed event ids
   older than the dedupe retention (14 days).
5. A gRPC channel to expense_svc for budgets (``cfg.expense_target``).

On shutdown the watchers are told to end, the consumer stops after its current event and
commits its stored offsets, the feed stops, the producer flushes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from finance.insight.v1 import insight_service_pb2, insight_service_pb2_grpc
from finmesh import db
from finmesh.config import ServiceConfig
from finmesh.kafka import EventConsumer, EventProducer
from finmesh.server import ServiceDef
from insight_svc import repository
from insight_svc.budgets_client import BudgetClient
from insight_svc.consumer import TOPICS, Projector
from insight_svc.service import InsightService
from insight_svc.watch import WatchFeed, WatchHub

log = logging.getLogger(__name__)

SCHEMA = "insight"
MIGRATIONS = Path(__file__).parent / "migrations"
RESTART_SECONDS = 2.0
BATCH_SIZE = 200
PURGE_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class InsightSettings:
    """insight_svc's own knobs (tests use another group id so they never join the mesh's)."""

    group_id: str = "insight_svc"
    #: Extra librdkafka settings of the projection consumer (tests start at ``latest``).
    consumer_config: Mapping[str, Any] = field(default_factory=dict)
    heartbeat_seconds: float = 15.0
    budgets_timeout_seconds: float = 2.0
    #: How long processed event ids are kept for deduplication.
    dedupe_retention: dt.timedelta = dt.timedelta(days=14)


@asynccontextmanager
async def app(cfg: ServiceConfig) -> AsyncIterator[Sequence[ServiceDef]]:
    async with running(cfg, InsightSettings()) as services:
        yield services


@asynccontextmanager
async def running(
    cfg: ServiceConfig, settings: InsightSettings
) -> AsyncIterator[Sequence[ServiceDef]]:
    await db.migrate(cfg.database.url, SCHEMA, MIGRATIONS)
    pool = await db.open_pool(cfg.database, schema=SCHEMA)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(pool.close)
        bootstrap = cfg.kafka.bootstrap_servers
        producer = EventProducer(
            bootstrap, client_id=cfg.kafka.client_id, config={"message.timeout.ms": 30000}
        )
        stack.push_async_callback(producer.close_async, 10.0)

        hub = WatchHub()
        feed = WatchFeed(bootstrap, hub, pool, client_id=cfg.kafka.client_id)
        await feed.start()
        stack.push_async_callback(feed.stop)

        projector = Projector(pool, producer)
        stop = asyncio.Event()

        def new_consumer() -> EventConsumer:
            return EventConsumer(
                bootstrap,
                group_id=settings.group_id,
                topics=TOPICS,
                client_id=cfg.kafka.client_id,
                dlq_producer=producer,
                config=settings.consumer_config,
            )

        task = asyncio.create_task(
            _supervise(new_consumer, projector, stop), name="insight-projection"
        )

        async def stop_consumer() -> None:
            stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=15)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        stack.push_async_callback(stop_consumer)

        purger = asyncio.create_task(_purge(pool, settings.dedupe_retention, stop))
        stack.push_async_callback(_cancel, purger)

        channel = grpc.aio.insecure_channel(cfg.expense_target)
        stack.push_async_callback(channel.close)
        budgets = BudgetClient(channel, timeout_seconds=settings.budgets_timeout_seconds)

        stack.callback(hub.close)
        servicer = InsightService(
            pool, budgets, hub, producer, heartbeat_seconds=settings.heartbeat_seconds
        )
        yield [
            ServiceDef.of(
                insight_service_pb2,
                "InsightService",
                insight_service_pb2_grpc.add_InsightServiceServicer_to_server,
                servicer,
            )
        ]


async def _supervise(
    new_consumer: Callable[[], EventConsumer], projector: Projector, stop: asyncio.Event
) -> None:
    """Run the projection consumer until ``stop``; if it fails (a fatal client error, a DLQ
    that cannot be written), log, wait, and start a new one from the committed offsets, so
    nothing that was not stored is skipped."""
    while not stop.is_set():
        consumer = new_consumer()
        try:
            await consumer.run_batches(
                projector.handle_batch, stop=stop, max_messages=BATCH_SIZE, max_wait=0.5
            )
        except Exception:
            log.exception("projection consumer failed; restarting it in %ss", RESTART_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RESTART_SECONDS)
        finally:
            await consumer.close()


async def _purge(pool: db.Pool, retention: dt.timedelta, stop: asyncio.Event) -> None:
    """Every hour, forget processed event ids older than ``retention``."""
    while not stop.is_set():
        try:
            async with pool.connection() as conn:
                purged = await repository.purge_processed(conn, retention)
            if purged:
                log.info("purged %s processed event ids", purged)
        except Exception:
            log.exception("could not purge processed event ids")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PURGE_INTERVAL_SECONDS)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
