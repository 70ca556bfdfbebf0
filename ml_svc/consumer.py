"""ml_svc's Kafka consumers.

Enrichment (group ``ml_svc.enrichment``): ``expenses.raw`` -> ``expenses.parsed``. Each batch
is decoded and validated first (a poison record raises before anything is produced, so the
batch is retried one record at a time and only the poison one reaches ``expenses.raw.dlq``),
classified in one call with the owners' memories, and answered with one ExpenseEnriched per
expense whose event id is derived from the source event id: a batch redelivered after a crash
yields the same ids, which expense_svc deduplicates. Offsets are stored only after every
ExpenseEnriched of the batch is acknowledged (acks=all) and the seen-expense record written.

Feedback (group ``ml_svc.feedback``): ``expenses.feedback`` CategoryCorrected -> the user's
memory, at once, once per event id.

``python -m ml_svc.consumer`` runs the enrichment pipeline alone (for scaling out and for the
crash tests); the service runs both consumers inside ``python -m ml_svc``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import threading
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh.kafka import (
    DeliveryError,
    DeliveryReport,
    Event,
    EventConsumer,
    EventProducer,
    PermanentError,
)
from ml_svc import repository
from ml_svc.categorizer import Item, Result
from ml_svc.engine import (
    SOURCE_TO_PROTO,
    Engine,
    category_source,
    direction_of,
    enriched_event_id,
)

log = logging.getLogger(__name__)

ENRICHMENT_GROUP = "ml_svc.enrichment"
FEEDBACK_GROUP = "ml_svc.feedback"
RAW_TOPIC = "expenses.raw"
PARSED_TOPIC = "expenses.parsed"
FEEDBACK_TOPIC = "expenses.feedback"

RECORDED = events_pb2.ExpenseRecorded.DESCRIPTOR.full_name
CHANGED = events_pb2.ExpenseChanged.DESCRIPTOR.full_name
DELETED = events_pb2.ExpenseDeleted.DESCRIPTOR.full_name
CORRECTED = events_pb2.CategoryCorrected.DESCRIPTOR.full_name
_REENRICH_FIELDS = frozenset({"description", "amount", "direction"})


@dataclass(frozen=True, slots=True)
class Job:
    """One expense snapshot to enrich."""

    source_event_id: str
    user_id: str
    occur_time: datetime
    expense: expense_pb2.Expense
    locale: str


def _needs_reenrichment(msg: events_pb2.ExpenseChanged) -> bool:
    if msg.expense.category_source == expense_pb2.CATEGORY_SOURCE_USER:
        return False
    changed = set(msg.changed_fields.paths)
    if changed:
        return bool(changed & _REENRICH_FIELDS)
    before, after = msg.previous_expense, msg.expense
    return (
        before.description != after.description
        or before.amount != after.amount
        or before.direction != after.direction
    )


def plan(events: Sequence[Event]) -> tuple[list[Job], list[tuple[str, str]]]:
    """Decode and validate a batch: the jobs to enrich, and (user, expense) pairs deleted.

    Raises :class:`PermanentError` for a record that can never be processed.
    """
    jobs: list[Job] = []
    deleted: list[tuple[str, str]] = []
    for event in events:
        if event.event_type == RECORDED:
            rec = event.decode(events_pb2.ExpenseRecorded)
            expense, locale, occur = rec.expense, rec.locale, rec.occur_time
            user_id, event_id = rec.user_id, rec.event_id
        elif event.event_type == CHANGED:
            chg = event.decode(events_pb2.ExpenseChanged)
            if not _needs_reenrichment(chg):
                continue
            expense, locale, occur = chg.expense, chg.locale, chg.occur_time
            user_id, event_id = chg.user_id, chg.event_id
        elif event.event_type == DELETED:
            dele = event.decode(events_pb2.ExpenseDeleted)
            if dele.user_id and dele.expense_id:
                deleted.append((dele.user_id, dele.expense_id))
            continue
        else:
            continue  # a type this consumer does not handle
        event_id = event_id or event.event_id or ""
        where = f"{event.topic}[{event.partition}]@{event.offset}"
        if not user_id or not expense.id or not event_id:
            raise PermanentError(f"{where}: user_id, expense.id and event_id are required")
        if not expense.description.strip():
            raise PermanentError(f"{where}: expense {expense.id} has no description")
        jobs.append(Job(event_id, user_id, occur.ToDatetime(tzinfo=UTC), expense, locale))
    return jobs, deleted


def enriched(job: Job, result: Result, now: Timestamp) -> events_pb2.ExpenseEnriched:
    msg = events_pb2.ExpenseEnriched(
        event_id=enriched_event_id(job.source_event_id),
        user_id=job.user_id,
        expense_id=job.expense.id,
        source_event_id=job.source_event_id,
        merchant=result.merchant,
        category=result.category,
        confidence=result.confidence,
        source=SOURCE_TO_PROTO[result.source],
        category_source=category_source(result),  # type: ignore[arg-type]
        model_version=result.model_version,
        explanation=result.explanation,
        enrichment_state=expense_pb2.ENRICHMENT_STATE_ENRICHED,
    )
    # (Set in place: passing a Timestamp and CategoryScore objects to the constructor copies
    # each one, half of this function's time.)
    msg.occur_time.CopyFrom(now)
    alternatives = msg.alternatives
    for category, confidence in result.alternatives:
        alternatives.add(category=category, confidence=confidence)
    return msg


def produce_all(
    producer: EventProducer, topic: str, messages: Sequence[tuple[str, events_pb2.ExpenseEnriched]]
) -> asyncio.Future[None]:
    """Queue ``(key, message)`` pairs for ``topic``; the returned future resolves once Kafka
    has acknowledged all of them, or fails with the first :class:`DeliveryError`.

    One future and one thread-safe wake-up of the event loop per batch instead of per message
    (``produce_async``'s future, closures and wake-ups were several per cent of the pipeline's
    time in a profile). Unlike ``produce_async``, a full local producer queue is waited on
    (briefly, by ``produce``) rather than failed at once; one batch in flight never fills it.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    if not messages:
        done.set_result(None)
        return done
    lock = threading.Lock()
    state = {"pending": len(messages), "failed": False}

    def settle(error: DeliveryError | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(None)

    # Runs on whichever thread polls the producer (its poll thread, or ours in produce()).
    def on_delivery(_report: DeliveryReport | None, error: DeliveryError | None) -> None:
        with lock:
            if state["failed"]:
                return
            if error is not None:
                state["failed"] = True
            else:
                state["pending"] -= 1
                if state["pending"]:
                    return
        with suppress(RuntimeError):  # the loop was closed meanwhile: nobody is waiting
            loop.call_soon_threadsafe(settle, error)

    try:
        for key, msg in messages:
            producer.produce(topic, key, msg, event_id=msg.event_id, on_delivery=on_delivery)
    except BaseException:
        done.cancel()
        raise
    return done


class EnrichmentPipeline:
    def __init__(
        self,
        engine: Engine,
        consumer: EventConsumer,
        producer: EventProducer,
        *,
        parsed_topic: str = PARSED_TOPIC,
    ) -> None:
        self.engine = engine
        self.consumer = consumer
        self.producer = producer
        self.parsed_topic = parsed_topic
        self.processed = 0

    async def handle(self, events: Sequence[Event]) -> None:
        jobs, deleted = plan(events)
        if jobs:
            results = await self.engine.classify(
                [j.user_id for j in jobs],
                [
                    Item(
                        description=j.expense.description,
                        direction=direction_of(j.expense.direction),
                        merchant=j.expense.merchant,
                    )
                    for j in jobs
                ],
            )
            now = Timestamp()
            now.GetCurrentTime()
            delivered = produce_all(
                self.producer,
                self.parsed_topic,
                [
                    (job.user_id, enriched(job, result, now))
                    for job, result in zip(jobs, results, strict=True)
                ],
            )
            seen = [
                repository.SeenExpense(
                    user_id=j.user_id,
                    expense_id=j.expense.id,
                    source_event_id=j.source_event_id,
                    occur_time=j.occur_time,
                    description=j.expense.description,
                    merchant=r.merchant,
                    units=j.expense.amount.units,
                    nanos=j.expense.amount.nanos,
                    currency_code=j.expense.amount.currency_code,
                    direction=direction_of(j.expense.direction),
                    locale=j.locale,
                    user_categorised=j.expense.category_source == expense_pb2.CATEGORY_SOURCE_USER,
                    category=r.category,
                    model_version=r.model_version,
                )
                for j, r in zip(jobs, results, strict=True)
            ]

            async def remember() -> None:
                async with self.engine.pool.connection() as conn:
                    await repository.record_seen(conn, seen)

            # Both must be durable before the offsets are stored (by our caller, on return).
            await asyncio.gather(remember(), delivered)
        if deleted:
            async with self.engine.pool.connection() as conn:
                for user_id, expense_id in deleted:
                    await repository.mark_deleted(conn, user_id, expense_id)
        self.processed += len(jobs)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        await self.consumer.run_batches(self.handle, max_messages=500, max_wait=0.2, stop=stop)


class FeedbackConsumer:
    def __init__(self, engine: Engine, consumer: EventConsumer) -> None:
        self.engine = engine
        self.consumer = consumer

    async def handle(self, events: Sequence[Event]) -> None:
        for event in events:
            if event.event_type != CORRECTED:
                continue
            msg = event.decode(events_pb2.CategoryCorrected)
            msg.event_id = msg.event_id or event.event_id or ""
            if not msg.user_id or not msg.new_category or not msg.event_id:
                raise PermanentError(
                    f"{event.topic}[{event.partition}]@{event.offset}: "
                    "user_id, new_category and event_id are required"
                )
            await self.engine.record_correction(msg)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        await self.consumer.run_batches(self.handle, max_messages=200, max_wait=0.2, stop=stop)


# ---- standalone pipeline process --------------------------------------------------------------


async def _main(args: argparse.Namespace) -> None:
    from pathlib import Path

    from finmesh import db
    from finmesh.config import DatabaseConfig
    from ml_svc.server import MIGRATIONS, SCHEMA

    await db.migrate(args.database_url, SCHEMA, MIGRATIONS)
    pool = await db.open_pool(DatabaseConfig(url=args.database_url), schema=SCHEMA)
    engine = await Engine.start(pool, Path(args.artifacts_dir))
    producer = EventProducer(args.bootstrap, client_id="ml_svc-pipeline")
    consumer = EventConsumer(
        args.bootstrap, group_id=args.group, topics=[args.raw_topic], client_id="ml_svc-pipeline"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    pipeline = EnrichmentPipeline(engine, consumer, producer, parsed_topic=args.parsed_topic)
    log.info("pipeline ready: %s -> %s (group %s)", args.raw_topic, args.parsed_topic, args.group)
    print("ready", flush=True)  # noqa: T201 - the parent process waits for this line
    try:
        await pipeline.run(stop)
    finally:
        await consumer.close()
        await producer.close_async()
        await pool.close()


def main(argv: Sequence[str] | None = None) -> None:
    import os

    parser = argparse.ArgumentParser(prog="python -m ml_svc.consumer", description=__doc__)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""))
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--artifacts-dir", default=os.environ.get("FINMESH_ML_ARTIFACTS_DIR", ""))
    parser.add_argument("--group", default=ENRICHMENT_GROUP)
    parser.add_argument("--raw-topic", default=RAW_TOPIC)
    parser.add_argument("--parsed-topic", default=PARSED_TOPIC)
    args = parser.parse_args(argv)
    if not (args.bootstrap and args.database_url and args.artifacts_dir):
        parser.error("--bootstrap, --database-url and --artifacts-dir are required")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
