"""WatchInsights plumbing: an in-process pub/sub (:class:`WatchHub`) fed by a per-replica
Kafka reader (:class:`WatchFeed`).

Why a separate reader: the projection consumer (consumer.py) is one consumer group shared by
all replicas, so each event reaches only one replica; but a watcher may be connected to any
replica. So every replica also runs a :class:`WatchFeed` that ``assign``s itself *every*
partition of ``insights.events`` and ``expenses.raw`` (no group membership, nothing
committed), starting at the end when the replica starts: nothing is replayed, as the RPC
promises. It pushes to this replica's watchers only:

* ``InsightRaised`` for a user with watchers here → the ``Insight`` it stands for (the same id
  and content the store keeps). An event already streamed (same insight id, recently) or a
  duplicate of an insight stored from another event is not streamed again.
* ``ExpenseChanged`` for a user with watchers here → the expense as it now is (enrichment
  applied, or any other change).

The reader runs librdkafka in its own thread and hands records to the event loop; one task
dispatches them in order. Every watcher has a bounded queue; a watcher that falls more than
:data:`QUEUE_SIZE` events behind loses the overflow (logged) rather than slowing everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import prometheus_client
from confluent_kafka import Consumer, KafkaError, TopicPartition

from finance.events.v1 import events_pb2
from finance.insight.v1 import insight_service_pb2 as pb
from finmesh import db
from finmesh.kafka import Event
from insight_svc import insights, repository

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
RECENT_INSIGHTS = 10_000
WATCH_TOPICS = ("insights.events", "expenses.raw")

_RAISED = events_pb2.InsightRaised.DESCRIPTOR.full_name
_CHANGED = events_pb2.ExpenseChanged.DESCRIPTOR.full_name

Item = pb.WatchInsightsResponse | None

WATCHERS = prometheus_client.Gauge(
    "finmesh_insight_watchers", "Open WatchInsights streams on this replica"
)


class WatchHub:
    """Watchers by user id; :meth:`publish` fans a message out to one user's watchers."""

    def __init__(self) -> None:
        self._watchers: dict[str, set[asyncio.Queue[Item]]] = defaultdict(set)
        self._closed = False

    def has_watchers(self, user_id: str) -> bool:
        return bool(self._watchers.get(user_id))

    @property
    def watcher_count(self) -> int:
        return sum(len(q) for q in self._watchers.values())

    @contextlib.contextmanager
    def subscribe(self, user_id: str) -> Iterator[asyncio.Queue[Item]]:
        """A queue of this user's messages; ``None`` in it means the hub is closing."""
        queue: asyncio.Queue[Item] = asyncio.Queue(QUEUE_SIZE)
        if self._closed:
            queue.put_nowait(None)
        self._watchers[user_id].add(queue)
        WATCHERS.inc()
        try:
            yield queue
        finally:
            WATCHERS.dec()
            watchers = self._watchers.get(user_id)
            if watchers is not None:
                watchers.discard(queue)
                if not watchers:
                    del self._watchers[user_id]

    def publish(self, user_id: str, message: pb.WatchInsightsResponse) -> None:
        for queue in list(self._watchers.get(user_id, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                log.warning("a watcher of %s is %s events behind: dropping", user_id, QUEUE_SIZE)

    def close(self) -> None:
        """Tell every watcher to end its stream."""
        self._closed = True
        for watchers in self._watchers.values():
            for queue in watchers:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)


class WatchFeed:
    """This replica's reader of every partition of the watched topics (see module doc)."""

    def __init__(
        self,
        bootstrap_servers: str,
        hub: WatchHub,
        pool: db.Pool,
        *,
        topics: Sequence[str] = WATCH_TOPICS,
        client_id: str = "insight_svc",
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._hub = hub
        self._pool = pool
        self._topics = tuple(topics)
        self._client_id = client_id
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None
        self._recent: OrderedDict[str, None] = OrderedDict()

    async def start(self, ready_timeout_seconds: float = 20.0) -> None:
        """Start reading; wait (bounded) until positioned at the end of every partition, so
        what is produced after start-up reaches the watchers."""
        loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._read, args=(loop,), name="insight-watch-feed", daemon=True
        )
        self._thread.start()
        self._dispatcher = asyncio.create_task(self._dispatch(), name="insight-watch-dispatch")
        ready = await asyncio.to_thread(self._ready.wait, ready_timeout_seconds)
        if not ready:
            log.warning("watch feed not positioned after %ss; continuing", ready_timeout_seconds)

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher

    # -- the reader thread -------------------------------------------------------------------

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "client.id": f"{self._client_id}-watch",
                # Required by librdkafka; never joined (assign) and never committed.
                "group.id": f"{self._client_id}-watch-{uuid.uuid4().hex[:12]}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "latest",
                "fetch.wait.max.ms": 100,
                "logger": logging.getLogger("finmesh.kafka.librdkafka"),
            }
        )
        try:
            while not self._stop.is_set():
                try:
                    self._assign_at_end(consumer)
                    break
                except Exception as exc:
                    log.warning("watch feed cannot assign yet: %s", exc)
                    self._stop.wait(1.0)
            self._ready.set()
            while not self._stop.is_set():
                msg = consumer.poll(0.2)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() != KafkaError._PARTITION_EOF:
                        log.warning("watch feed: %s", err.str())
                    continue
                event = Event.from_message(msg)
                with contextlib.suppress(RuntimeError):  # loop closed while stopping
                    loop.call_soon_threadsafe(self._queue.put_nowait, event)
        finally:
            consumer.close()

    def _assign_at_end(self, consumer: Any) -> None:
        partitions: list[TopicPartition] = []
        for topic in self._topics:
            meta = consumer.list_topics(topic, timeout=5)
            found = meta.topics.get(topic)
            if found is None or found.error is not None or not found.partitions:
                raise RuntimeError(f"topic {topic} is not available")
            for p in sorted(found.partitions):
                _low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=5, cached=False
                )
                partitions.append(TopicPartition(topic, p, high))
        consumer.assign(partitions)
        log.info("watch feed reading %s partitions from their ends", len(partitions))

    # -- dispatch on the event loop ----------------------------------------------------------

    async def _dispatch(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._handle(event)
            except Exception:
                log.exception("watch feed could not dispatch %s", event.event_type)

    async def _handle(self, event: Event) -> None:
        user_id = event.key or ""
        if not user_id or not self._hub.has_watchers(user_id):
            return
        if event.event_type == _RAISED:
            raised = event.decode(events_pb2.InsightRaised)
            if raised.user_id != user_id:
                return
            try:
                stored = insights.to_insight(raised)
            except insights.BadInsightEvent:
                return
            if stored.insight.id in self._recent:
                return
            event_id = raised.event_id or event.event_id or ""
            async with self._pool.connection() as conn:
                stored_from = await repository.stored_event_id(conn, user_id, stored.dedupe_key)
            if stored_from is not None and stored_from != event_id:
                return  # a duplicate of an insight stored (and streamed) before
            self._remember(stored.insight.id)
            self._hub.publish(user_id, pb.WatchInsightsResponse(insight=stored.insight))
        elif event.event_type == _CHANGED:
            changed = event.decode(events_pb2.ExpenseChanged)
            if changed.user_id != user_id:
                return
            self._hub.publish(user_id, pb.WatchInsightsResponse(expense=changed.expense))

    def _remember(self, insight_id: str) -> None:
        self._recent[insight_id] = None
        while len(self._recent) > RECENT_INSIGHTS:
            self._recent.popitem(last=False)
