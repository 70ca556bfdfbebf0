"""expense_svc's Kafka consumer: ml_svc's enrichment (``expenses.parsed``) applied to expenses.

Consumer group ``expense_svc.enrichment``; batches from :meth:`EventConsumer.run_batches`, one
transaction per event (:mod:`expense_svc.enrichment` has the rules). Offsets are stored only
after the batch's transactions committed. Other event types on the topic are skipped (the
contract: consumers skip types they do not handle); an event that can never be applied
(undecodable, malformed, an impossible category) goes to ``expenses.parsed.dlq`` at once; a
database outage or a contended budget is waited out (up to ``transient_retry_seconds``,
holding the partition) rather than dead-lettering good events; anything else unexpected is
retried a few times by the wrapper, then dead-lettered. An
enrichment of a deleted expense is not an error: it is skipped and its offset stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import prometheus_client
import psycopg

from expense_svc import enrichment
from expense_svc.tx import in_transaction
from finance.events.v1 import events_pb2
from finmesh import db
from finmesh.config import ServiceConfig
from finmesh.errors import Aborted, Unavailable
from finmesh.kafka import Event, EventConsumer, PermanentError

log = logging.getLogger(__name__)

TOPIC = "expenses.parsed"
GROUP_ID = "expense_svc.enrichment"
_ENRICHED = events_pb2.ExpenseEnriched.DESCRIPTOR.full_name

EVENTS = prometheus_client.Counter(
    "finmesh_enrichment_events_total",
    "ExpenseEnriched events handled by expense_svc, by outcome",
    ["outcome"],
)


class EnrichmentConsumer:
    """Applies ``ExpenseEnriched`` events from Kafka to the expenses in ``pool``."""

    def __init__(
        self,
        pool: db.Pool,
        consumer_factory: Callable[[], EventConsumer],
        *,
        max_attempts: int = 3,
        retry_backoff_seconds: float = 0.2,
        max_wait_seconds: float = 0.5,
        restart_backoff_seconds: float = 2.0,
        transient_retry_seconds: float = 300.0,
        dedupe_retention_seconds: float = 14 * 24 * 3600,
        purge_every_seconds: float = 3600,
    ) -> None:
        self._pool = pool
        self._factory = consumer_factory
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff_seconds
        self._max_wait = max_wait_seconds
        self._restart_backoff = restart_backoff_seconds
        self._transient_retry_seconds = transient_retry_seconds
        self._dedupe_retention = dedupe_retention_seconds
        self._purge_every = purge_every_seconds

    async def handle(self, event: Event) -> enrichment.Outcome | None:
        """Apply one event; None if it is not an ``ExpenseEnriched`` (skipped).

        Raises :class:`PermanentError` for an event that can never be applied.
        """
        if event.event_type is not None and event.event_type != _ENRICHED:
            log.debug("skipping %s on %s", event.event_type, event.topic)
            EVENTS.labels("skipped").inc()
            return None
        msg = event.decode(events_pb2.ExpenseEnriched)  # PermanentError if undecodable
        try:
            parsed = enrichment.parse(event.event_id, msg)
            outcome = await self._apply_patiently(parsed)
        except enrichment.BadEnrichment as exc:
            EVENTS.labels("bad").inc()
            raise PermanentError(str(exc)) from exc
        EVENTS.labels(outcome.value).inc()
        return outcome

    async def _apply_patiently(self, parsed: enrichment.Enrichment) -> enrichment.Outcome:
        """Apply, waiting out a database outage or a contended budget (up to
        ``transient_retry_seconds``) instead of dead-lettering a good event; the partition
        waits meanwhile, which is right: no other event could be applied either."""
        deadline = time.monotonic() + self._transient_retry_seconds
        delay = 0.1
        while True:
            try:
                return await in_transaction(self._pool, lambda conn: enrichment.apply(conn, parsed))
            except (Unavailable, Aborted, psycopg.OperationalError) as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("enrichment %s: %s; retrying in %.1fs", parsed.event_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def handle_batch(self, events: Sequence[Event]) -> None:
        for event in events:
            await self.handle(event)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop``. A consumer that fails (fatal client error, DLQ unreachable)
        is closed and a new one joins the group, resuming from the committed offsets.
        Meanwhile, event ids older than ``dedupe_retention_seconds`` (two Kafka retention
        periods by default) are forgotten every ``purge_every_seconds``."""
        purger = asyncio.create_task(self._purge_loop(stop), name="enrichment-dedupe-purge")
        try:
            await self._consume(stop)
        finally:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger

    async def purge(self) -> int:
        """Forget processed event ids past their retention now; returns how many."""
        return await in_transaction(
            self._pool, lambda conn: enrichment.purge_processed(conn, self._dedupe_retention)
        )

    async def _purge_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._purge_every)
                return
            try:
                purged = await self.purge()
                log.info("forgot %d processed enrichment event ids", purged)
            except Exception:
                log.exception("purging processed_events failed")

    async def _consume(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            consumer = self._factory()
            try:
                await consumer.run_batches(
                    self.handle_batch,
                    max_attempts=self._max_attempts,
                    retry_backoff=self._retry_backoff,
                    max_wait=self._max_wait,
                    stop=stop,
                )
            except Exception:
                log.exception(
                    "enrichment consumer failed; rejoining in %.1fs", self._restart_backoff
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._restart_backoff)
            finally:
                try:
                    await consumer.close()
                except Exception:
                    log.exception("closing the enrichment consumer failed")


def kafka_consumer(
    bootstrap_servers: str,
    *,
    group_id: str = GROUP_ID,
    topic: str = TOPIC,
    client_id: str = "expense_svc-enrichment",
    config: dict[str, Any] | None = None,
) -> Callable[[], EventConsumer]:
    """A factory of group members for :class:`EnrichmentConsumer`."""
    return lambda: EventConsumer(
        bootstrap_servers, group_id=group_id, topics=[topic], client_id=client_id, config=config
    )


@contextlib.asynccontextmanager
async def start_background(
    cfg: ServiceConfig, pool: db.Pool
) -> AsyncIterator[EnrichmentConsumer | None]:
    """Run the enrichment consumer in a background task while the block runs.

    Yields None (and runs nothing) when no Kafka is configured. On exit it finishes the batch
    in hand, commits its offsets and leaves the group.
    """
    if not cfg.kafka.bootstrap_servers:
        log.warning("no Kafka configured: the enrichment consumer is not running")
        yield None
        return
    runner = EnrichmentConsumer(
        pool,
        kafka_consumer(cfg.kafka.bootstrap_servers, client_id=f"{cfg.kafka.client_id}-enrichment"),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop), name="enrichment-consumer")
    try:
        yield runner
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 30)
        except TimeoutError:
            log.error("enrichment consumer did not stop in time")
        except Exception:
            log.exception("enrichment consumer failed")
