"""Typed Kafka plumbing for the services, over confluent-kafka (librdkafka).

Every finmesh event follows the contract (CONTRACT.md, "Kafka topics"): the key is the user id,
the value a serialized protobuf message from ``finance.events.v1``, and the headers carry
``event-id`` (a UUID, the deduplication key), ``event-type`` (the message's full name) and
``content-type: application/x-protobuf``.

Producing (idempotent producer, ``acks=all``)::

    producer = EventProducer(config.kafka.bootstrap_servers, client_id=config.kafka.client_id)
    event_id = await producer.produce_and_wait("expenses.raw", user_id, expense_created)
    ...
    await producer.close_async()

Consuming (offsets are stored only after the effect is durable; the stored offsets are
committed in the background and when partitions are revoked)::

    consumer = EventConsumer(bootstrap, group_id="ml_svc", topics=["expenses.raw"])
    async def handle(event: Event) -> None:
        msg = event.decode(ExpenseCreated)
        ...  # make the effect durable (commit the transaction) before returning

    await consumer.run(handle, stop=stop_event)   # retries, dead-letters, stores offsets
    await consumer.close()

or, for batch work, ``await consumer.run_batches(handle_batch)``, or by hand::

    async for batch in consumer.batches():
        ...
        await consumer.store(batch)

A handler that keeps failing for one message (``max_attempts`` tries, or at once when it raises
:class:`PermanentError`) sends that message to ``<topic>.dlq`` with the ``dlq-*`` headers and
its original headers; then its offset is stored, so the partition never stalls.

Blocking librdkafka calls run in worker threads and never block the event loop.

``finmesh tail <topic>`` uses :func:`tail`, which decodes any event by its ``event-type``
through the protobuf default descriptor pool (:func:`event_to_json`).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import importlib
import json
import logging
import pkgutil
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError, Message

__all__ = [
    "CONTENT_TYPE",
    "DLQ_ERROR",
    "DLQ_SOURCE_OFFSET",
    "DLQ_SOURCE_PARTITION",
    "DLQ_SOURCE_TOPIC",
    "HEADER_CONTENT_TYPE",
    "HEADER_EVENT_ID",
    "HEADER_EVENT_TYPE",
    "ConsumeError",
    "DeliveryError",
    "DeliveryReport",
    "Event",
    "EventConsumer",
    "EventProducer",
    "EventTypeMismatchError",
    "KafkaClientError",
    "PermanentError",
    "UnknownEventTypeError",
    "decode_payload",
    "dlq_topic",
    "event_to_dict",
    "event_to_json",
    "tail",
]

log = logging.getLogger(__name__)
_librdkafka_log = logging.getLogger("finmesh.kafka.librdkafka")

HEADER_EVENT_ID = "event-id"
HEADER_EVENT_TYPE = "event-type"
HEADER_CONTENT_TYPE = "content-type"
CONTENT_TYPE = "application/x-protobuf"
DLQ_SOURCE_TOPIC = "dlq-source-topic"
DLQ_SOURCE_PARTITION = "dlq-source-partition"
DLQ_SOURCE_OFFSET = "dlq-source-offset"
DLQ_ERROR = "dlq-error"
_DLQ_HEADERS = frozenset({DLQ_SOURCE_TOPIC, DLQ_SOURCE_PARTITION, DLQ_SOURCE_OFFSET, DLQ_ERROR})
_DLQ_ERROR_MAX = 2000

M = TypeVar("M", bound=Message)
T = TypeVar("T")
Headers = tuple[tuple[str, bytes], ...]
_WireHeaders = list[tuple[str, str | bytes | None]]
EventHandler = Callable[["Event"], Awaitable[None]]
BatchHandler = Callable[[Sequence["Event"]], Awaitable[None]]


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return f"{topic}.dlq"


# --------------------------------------------------------------------------------------------
# Errors


class KafkaClientError(Exception):
    """Base of the errors this module raises for Kafka failures."""


class DeliveryError(KafkaClientError):
    """Kafka did not accept a produced message (after librdkafka's own retries)."""

    def __init__(self, topic: str, event_id: str | None, error: KafkaError | str) -> None:
        self.topic = topic
        self.event_id = event_id
        self.code: int | None = error.code() if isinstance(error, KafkaError) else None
        self.reason = error.str() if isinstance(error, KafkaError) else error
        self.fatal = bool(error.fatal()) if isinstance(error, KafkaError) else False
        super().__init__(f"delivery to {topic} failed (event {event_id}): {self.reason}")


class ConsumeError(KafkaClientError):
    """An error reported by the consumer (``msg.error()`` or the client's error callback)."""

    def __init__(self, error: KafkaError, topic: str | None = None) -> None:
        self.code: int = error.code()
        self.name: str = error.name()
        self.reason: str = error.str()
        self.fatal: bool = bool(error.fatal())
        self.retriable: bool = bool(error.retriable())
        self.topic = topic
        where = f" on {topic}" if topic else ""
        super().__init__(f"consume error{where}: {self.name}: {self.reason}")


class UnknownEventTypeError(KafkaClientError, LookupError):
    """The ``event-type`` names no message in the protobuf descriptor pool."""


class EventTypeMismatchError(KafkaClientError, ValueError):
    """The event's ``event-type`` header is not the message class it was decoded as."""


class PermanentError(Exception):
    """Raise from a handler when retrying cannot help: the message goes to the DLQ at once."""


# --------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True, slots=True)
class Event:
    """One consumed Kafka record."""

    topic: str
    partition: int
    offset: int
    key: str | None
    event_id: str | None
    event_type: str | None
    value: bytes
    headers: Headers = ()

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` decoded as UTF-8, or None."""
        return _last_header(self.headers, name)

    def decode(self, message_cls: type[M]) -> M:
        """Parse the value as ``message_cls``; its full name must match ``event-type`` if set.

        Raises :class:`EventTypeMismatchError` or :class:`PermanentError` (undecodable bytes),
        both of which send the message to the DLQ without retries when raised in a handler.
        """
        expected = message_cls.DESCRIPTOR.full_name
        if self.event_type is not None and self.event_type != expected:
            raise EventTypeMismatchError(
                f"{self.topic}[{self.partition}]@{self.offset}: event-type {self.event_type!r}, "
                f"expected {expected!r}"
            )
        msg = message_cls()
        try:
            msg.ParseFromString(self.value)
        except DecodeError as exc:
            raise PermanentError(
                f"{self.topic}[{self.partition}]@{self.offset}: not a valid {expected}: {exc}"
            ) from exc
        return msg

    @classmethod
    def from_message(cls, msg: Any) -> Event:
        """An :class:`Event` from a ``confluent_kafka.Message`` without error."""
        raw_key = msg.key()
        headers: Headers = tuple((k, v if v is not None else b"") for k, v in msg.headers() or ())
        return cls(
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
            key=raw_key.decode("utf-8", errors="replace") if raw_key is not None else None,
            event_id=_last_header(headers, HEADER_EVENT_ID),
            event_type=_last_header(headers, HEADER_EVENT_TYPE),
            value=msg.value() or b"",
            headers=headers,
        )


def _last_header(headers: Headers, name: str) -> str | None:
    for k, v in reversed(headers):
        if k == name:
            return v.decode("utf-8", errors="replace")
    return None


def event_headers(message: Message, event_id: str) -> list[tuple[str, bytes]]:
    """The contract headers of an event carrying ``message``."""
    return [
        (HEADER_EVENT_ID, event_id.encode()),
        (HEADER_EVENT_TYPE, message.DESCRIPTOR.full_name.encode()),
        (HEADER_CONTENT_TYPE, CONTENT_TYPE.encode()),
    ]


# --------------------------------------------------------------------------------------------
# Producer


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Where Kafka stored a produced message."""

    topic: str
    partition: int
    offset: int
    event_id: str | None


class EventProducer:
    """Idempotent producer (``enable.idempotence``, ``acks=all``) of finmesh events.

    A background thread serves delivery callbacks, so awaiting a delivery
    (:meth:`produce_async`, :meth:`produce_and_wait`) never blocks the event loop. Failed
    deliveries of the fire-and-forget :meth:`produce` are raised by the next :meth:`flush`.
    ``message.timeout.ms`` (default 5 minutes) bounds how long a message is retried while
    Kafka is unreachable; pass ``config={"message.timeout.ms": ...}`` to change it.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "finmesh",
        config: Mapping[str, Any] | None = None,
    ) -> None:
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "logger": _librdkafka_log,
            "error_cb": self._on_error,
        }
        conf.update(config or {})
        self._failures: list[DeliveryError] = []
        self._fatal: KafkaError | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._producer = Producer(conf)
        self._poller = threading.Thread(
            target=self._poll_loop, name=f"kafka-producer-{client_id}", daemon=True
        )
        self._poller.start()

    # ---- producing --------------------------------------------------------------------------

    def produce(
        self,
        topic: str,
        key: str,
        message: Message,
        *,
        event_id: str | None = None,
        on_delivery: Callable[[DeliveryReport | None, DeliveryError | None], None] | None = None,
    ) -> str:
        """Queue ``message`` for ``topic`` keyed by ``key`` (the user id); returns the event id.

        Does not wait for delivery (it waits briefly only if librdkafka's local queue is
        full). Without ``on_delivery``, a failed delivery is raised by :meth:`flush`;
        ``on_delivery`` runs on the producer's poll thread.
        """
        event_id = event_id or str(uuid.uuid4())

        def deliver(report: DeliveryReport | None, error: DeliveryError | None) -> None:
            if on_delivery is not None:
                on_delivery(report, error)
            elif error is not None:
                with self._lock:
                    self._failures.append(error)

        self._send(
            topic,
            key.encode(),
            message.SerializeToString(),
            event_headers(message, event_id),
            event_id,
            deliver,
        )
        return event_id

    def produce_async(
        self, topic: str, key: str, message: Message, *, event_id: str | None = None
    ) -> asyncio.Future[DeliveryReport]:
        """Queue ``message`` now; the returned future resolves once Kafka has it (acks=all).

        Call from a running event loop. The future fails with :class:`DeliveryError`.
        """
        event_id = event_id or str(uuid.uuid4())
        return self.send_raw_async(
            topic,
            key.encode(),
            message.SerializeToString(),
            event_headers(message, event_id),
            event_id=event_id,
        )

    async def produce_and_wait(
        self, topic: str, key: str, message: Message, *, event_id: str | None = None
    ) -> str:
        """Produce and wait for the acknowledgement; returns the event id."""
        event_id = event_id or str(uuid.uuid4())
        await self.produce_async(topic, key, message, event_id=event_id)
        return event_id

    def send_raw_async(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
        *,
        event_id: str | None = None,
    ) -> asyncio.Future[DeliveryReport]:
        """Produce bytes as they are (used to forward records, e.g. to a DLQ).

        Never blocks: if librdkafka's local queue is full it raises :class:`DeliveryError`
        at once, and the caller backs off.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[DeliveryReport] = loop.create_future()

        def settle(report: DeliveryReport | None, error: DeliveryError | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            elif report is not None:
                future.set_result(report)

        def deliver(report: DeliveryReport | None, error: DeliveryError | None) -> None:
            with suppress(RuntimeError):  # the loop was closed meanwhile: nobody is waiting
                loop.call_soon_threadsafe(settle, report, error)

        self._send(topic, key, value, headers, event_id, deliver, wait_for_room=False)
        return future

    def _send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
        event_id: str | None,
        deliver: Callable[[DeliveryReport | None, DeliveryError | None], None],
        *,
        wait_for_room: bool = True,
    ) -> None:
        wire: _WireHeaders = list(headers)
        if self._fatal is not None:
            raise DeliveryError(topic, event_id, self._fatal)
        if self._closed.is_set():
            raise DeliveryError(topic, event_id, "producer is closed")

        def on_delivery(err: KafkaError | None, msg: Any) -> None:
            if err is not None:
                deliver(None, DeliveryError(topic, event_id, err))
            else:
                deliver(DeliveryReport(msg.topic(), msg.partition(), msg.offset(), event_id), None)

        for _ in range(50 if wait_for_room else 1):
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=wire, on_delivery=on_delivery
                )
                break
            except BufferError:  # local queue full: let deliveries drain a moment
                if wait_for_room:
                    self._producer.poll(0.1)
            except KafkaException as exc:
                raise DeliveryError(topic, event_id, exc.args[0]) from exc
        else:
            raise DeliveryError(topic, event_id, "local producer queue is full")
        self._producer.poll(0)

    # ---- flushing, closing ------------------------------------------------------------------

    def flush(self, timeout: float = 30.0) -> int:
        """Block until queued messages are delivered (or ``timeout``); returns how many remain.

        Raises :class:`DeliveryError` for the first failed :meth:`produce` since the last flush.
        """
        remaining: int = self._producer.flush(timeout)
        with self._lock:
            failures, self._failures = self._failures, []
        if failures:
            first = failures[0]
            if len(failures) > 1:
                first.add_note(f"{len(failures) - 1} more deliveries failed")
            raise first
        return remaining

    async def flush_async(self, max_wait: float = 30.0) -> int:
        """:meth:`flush` in a worker thread."""
        return await asyncio.to_thread(self.flush, max_wait)

    def close(self, timeout: float = 30.0) -> None:
        """Flush what is queued, then stop the poll thread. Idempotent."""
        if self._closed.is_set():
            return
        try:
            remaining = self._producer.flush(timeout)
            if remaining:
                log.warning("producer closed with %s messages undelivered", remaining)
        finally:
            self._closed.set()
            self._poller.join()

    async def close_async(self, max_wait: float = 30.0) -> None:
        """:meth:`close` in a worker thread."""
        await asyncio.to_thread(self.close, max_wait)

    def __len__(self) -> int:
        """Messages waiting for delivery."""
        return len(self._producer)

    def _poll_loop(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.1)

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
            log.error("kafka producer fatal error: %s", err.str())
        else:
            log.warning("kafka producer: %s", err.str())


# --------------------------------------------------------------------------------------------
# Consumer


class EventConsumer:
    """A consumer-group member with offsets stored only after the effect is durable.

    ``enable.auto.offset.store`` is off: an offset is stored by :meth:`store` (or by
    :meth:`run` / :meth:`run_batches` once every message of a batch is handled or
    dead-lettered), and stored offsets are committed every second, on revoke and on close;
    never on a lost assignment. Partitions are assigned ``cooperative-sticky``. Every
    librdkafka call runs on one worker thread of this consumer, off the event loop.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        group_id: str,
        topics: Sequence[str],
        client_id: str = "finmesh",
        dlq_producer: EventProducer | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "client.id": client_id,
            "group.id": group_id,
            "enable.auto.offset.store": False,
            "enable.auto.commit": True,
            "auto.commit.interval.ms": 1000,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 2000,
            "logger": _librdkafka_log,
            "error_cb": self._on_error,
        }
        conf.update(config or {})
        self._fatal: KafkaError | None = None
        self._closed = False
        self.group_id = group_id
        self.topics = tuple(topics)
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"kafka-{group_id}")
        self._consumer = Consumer(conf)
        self._consumer.subscribe(
            list(self.topics),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        self._dlq = dlq_producer
        self._own_dlq = dlq_producer is None
        #: The (topic, partition) pairs this member owns now, and the last revocations it has
        #: seen (cooperative: a rebalance revokes only the partitions that move).
        self.assignment: set[tuple[str, int]] = set()
        self.revocations: collections.deque[frozenset[tuple[str, int]]] = collections.deque(
            maxlen=64
        )

    # ---- consuming --------------------------------------------------------------------------

    async def consume(self, max_messages: int = 500, max_wait: float = 1.0) -> list[Event]:
        """Up to ``max_messages`` events: waits at most ``max_wait`` seconds for the first, then
        returns it with those already fetched, never waiting to fill a batch (may be empty).

        A fatal client error raises :class:`ConsumeError`; other errors (e.g. a broker that is
        briefly unreachable) are logged and skipped, as librdkafka recovers from them itself.
        """
        return await self._call(self._consume_sync, max_messages, max_wait)

    async def batches(
        self, max_messages: int = 500, max_wait: float = 1.0
    ) -> AsyncIterator[list[Event]]:
        """Yield non-empty batches forever. Call :meth:`store` once a batch's effect is durable."""
        while True:
            batch = await self.consume(max_messages, max_wait)
            if batch:
                yield batch

    async def store(self, events: Iterable[Event]) -> None:
        """Mark ``events`` processed: their offsets (+1, highest per partition) get committed."""
        highest: dict[tuple[str, int], int] = {}
        for e in events:
            k = (e.topic, e.partition)
            highest[k] = max(highest.get(k, -1), e.offset)
        if highest:
            offsets = [TopicPartition(t, p, o + 1) for (t, p), o in highest.items()]
            await self._call(self._store_sync, offsets)

    async def commit(self) -> None:
        """Commit stored offsets now (synchronously with the broker)."""
        await self._call(self._commit_sync)

    async def run(
        self,
        handler: EventHandler,
        *,
        max_attempts: int = 3,
        retry_backoff: float = 0.1,
        max_messages: int = 500,
        max_wait: float = 1.0,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Handle events one at a time, in partition order, until ``stop`` is set (or the task
        is cancelled).

        A handler that raises is retried up to ``max_attempts`` times in all (backing off
        ``retry_backoff * attempt`` seconds); then, or at once for :class:`PermanentError`, the
        event goes to ``<topic>.dlq``. After each batch, its offsets are stored. If the DLQ
        itself cannot be written, :class:`DeliveryError` propagates and nothing of that batch
        is stored (it is consumed again after a restart: at-least-once, never lost).
        """

        async def one_by_one(batch: Sequence[Event]) -> None:
            for event in batch:
                await self._handle_or_dead_letter(
                    handler, event, max_attempts=max_attempts, retry_backoff=retry_backoff
                )

        await self._loop(one_by_one, max_messages, max_wait, stop)

    async def run_batches(
        self,
        handler: BatchHandler,
        *,
        max_attempts: int = 3,
        retry_backoff: float = 0.1,
        max_messages: int = 500,
        max_wait: float = 1.0,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Like :meth:`run` but ``handler`` gets each whole batch (for batched ML inference).

        If the batch keeps failing, each event is retried on its own (``handler([event])``) so
        only the poison ones reach the DLQ. Handlers must therefore be idempotent per event,
        which they are anyway: delivery is at-least-once.
        """

        async def batched(batch: Sequence[Event]) -> None:
            error = await _attempt(lambda: handler(batch), max_attempts, retry_backoff)
            if error is None:
                return
            if len(batch) == 1:
                await self.dead_letter(batch[0], error)
                return
            log.warning(
                "batch of %s failed (%s); retrying its events one by one", len(batch), error
            )
            for event in batch:
                await self._handle_or_dead_letter(
                    lambda e: handler([e]),
                    event,
                    max_attempts=max_attempts,
                    retry_backoff=retry_backoff,
                )

        await self._loop(batched, max_messages, max_wait, stop)

    async def dead_letter(self, event: Event, error: BaseException) -> None:
        """Send ``event`` to ``<topic>.dlq`` with its headers and the ``dlq-*`` headers, and
        wait for the acknowledgement. Raises :class:`DeliveryError` if the DLQ is unreachable
        (the offset must then not be stored)."""
        reason = f"{type(error).__name__}: {error}"[:_DLQ_ERROR_MAX]
        headers = [(k, v) for k, v in event.headers if k not in _DLQ_HEADERS]
        headers += [
            (DLQ_SOURCE_TOPIC, event.topic.encode()),
            (DLQ_SOURCE_PARTITION, str(event.partition).encode()),
            (DLQ_SOURCE_OFFSET, str(event.offset).encode()),
            (DLQ_ERROR, reason.encode("utf-8", errors="replace")),
        ]
        if self._dlq is None:
            self._dlq = EventProducer(self._bootstrap, client_id=f"{self._client_id}-dlq")
        key = event.key.encode() if event.key is not None else None
        await self._dlq.send_raw_async(
            dlq_topic(event.topic), key, event.value, headers, event_id=event.event_id
        )
        log.error(
            "dead-lettered %s[%s]@%s (event %s) to %s: %s",
            event.topic,
            event.partition,
            event.offset,
            event.event_id,
            dlq_topic(event.topic),
            reason,
        )

    async def close(self) -> None:
        """Leave the group, committing stored offsets (on revoke and on close). Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._consumer.close)
        finally:
            self._executor.shutdown(wait=True)
            if self._own_dlq and self._dlq is not None:
                await self._dlq.close_async()

    async def __aenter__(self) -> EventConsumer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- internals --------------------------------------------------------------------------

    async def _loop(
        self,
        process: Callable[[Sequence[Event]], Awaitable[None]],
        max_messages: int,
        max_wait: float,
        stop: asyncio.Event | None,
    ) -> None:
        while stop is None or not stop.is_set():
            batch = await self.consume(max_messages, max_wait)
            if batch:
                await process(batch)
                await self.store(batch)

    async def _handle_or_dead_letter(
        self, handler: EventHandler, event: Event, *, max_attempts: int, retry_backoff: float
    ) -> None:
        error = await _attempt(lambda: handler(event), max_attempts, retry_backoff)
        if error is not None:
            await self.dead_letter(event, error)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise KafkaClientError("consumer is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _consume_sync(self, max_messages: int, timeout: float) -> list[Event]:
        if self._fatal is not None:
            raise ConsumeError(self._fatal)
        events: list[Event] = []
        # consume(n, timeout) waits for n messages or the whole timeout: a message trickling
        # in would sit for up to ``timeout``. Wait for the first only, then take what else is
        # already fetched: a batch is what arrived while the last one was being handled.
        msgs = self._consumer.consume(num_messages=1, timeout=timeout)
        if msgs and max_messages > 1:
            msgs += self._consumer.consume(num_messages=max_messages - 1, timeout=0)
        for msg in msgs:
            err = msg.error()
            if err is None:
                events.append(Event.from_message(msg))
                continue
            if err.code() == KafkaError._PARTITION_EOF:
                continue
            error = ConsumeError(err, msg.topic())
            if error.fatal:
                raise error
            log.warning("%s", error)
        return events

    def _store_sync(self, offsets: list[TopicPartition]) -> None:
        try:
            self._consumer.store_offsets(offsets=offsets)
        except KafkaException as exc:
            # The partition was revoked meanwhile: its new owner will see these again.
            log.warning("could not store offsets %s: %s", offsets, exc)

    def _commit_sync(self) -> None:
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError._NO_OFFSET:
                return
            raise KafkaClientError(f"commit failed: {exc}") from exc

    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        log.info("%s: assigned %s", self.group_id, _tps(partitions))
        self.assignment |= {(tp.topic, tp.partition) for tp in partitions}

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        log.info("%s: revoked %s; committing stored offsets", self.group_id, _tps(partitions))
        revoked = frozenset((tp.topic, tp.partition) for tp in partitions)
        self.assignment -= revoked
        self.revocations.append(revoked)
        try:
            self._commit_sync()
        except KafkaClientError as exc:
            log.warning("%s: commit on revoke failed: %s", self.group_id, exc)

    def _on_lost(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        # Another member may own these already: committing now could overwrite its progress.
        log.warning("%s: lost %s (not committing)", self.group_id, _tps(partitions))
        self.assignment -= {(tp.topic, tp.partition) for tp in partitions}

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
            log.error("kafka consumer fatal error: %s", err.str())
        else:
            log.warning("kafka consumer: %s", err.str())


async def _attempt(
    call: Callable[[], Awaitable[None]], max_attempts: int, retry_backoff: float
) -> Exception | None:
    """Run ``call`` up to ``max_attempts`` times; None on success, else the last error."""
    last: Exception | None = None
    for attempt in range(1, max(1, max_attempts) + 1):
        try:
            await call()
            return None
        except (PermanentError, EventTypeMismatchError) as exc:
            return exc
        except Exception as exc:
            last = exc
            log.warning("handler failed (attempt %s of %s): %r", attempt, max_attempts, exc)
            if attempt < max_attempts:
                await asyncio.sleep(retry_backoff * attempt)
    return last


def _tps(partitions: Sequence[TopicPartition]) -> str:
    return ", ".join(f"{p.topic}[{p.partition}]" for p in partitions) or "nothing"


# --------------------------------------------------------------------------------------------
# Decoding any event by its event-type (for `finmesh tail`)

_events_loaded = False


def _load_event_modules() -> None:
    """Import every generated ``finance.events.v1`` module, registering its messages in the
    default descriptor pool. Absent modules are fine."""
    global _events_loaded
    if _events_loaded:
        return
    _events_loaded = True
    try:
        package = importlib.import_module("finance.events.v1")
    except ImportError:
        log.debug("finance.events.v1 is not importable; only well-known types can be decoded")
        return
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        if info.name.endswith("_pb2"):
            try:
                importlib.import_module(f"{package.__name__}.{info.name}")
            except ImportError as exc:
                log.warning("could not import %s.%s: %s", package.__name__, info.name, exc)


def decode_payload(event_type: str, value: bytes) -> Message:
    """Parse ``value`` as the protobuf message named ``event_type`` (its full name)."""
    _load_event_modules()
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(event_type)
    except KeyError:
        raise UnknownEventTypeError(f"unknown event type {event_type!r}") from None
    message: Message = message_factory.GetMessageClass(descriptor)()
    message.ParseFromString(value)
    return message


def event_to_dict(event: Event) -> dict[str, Any]:
    """An event as a JSON-ready dict: its coordinates, headers and decoded payload.

    A payload that cannot be decoded is kept as ``payloadBase64`` with an ``error``.
    """
    out: dict[str, Any] = {
        "topic": event.topic,
        "partition": event.partition,
        "offset": event.offset,
        "key": event.key,
        "eventId": event.event_id,
        "eventType": event.event_type,
        "headers": {k: v.decode("utf-8", errors="replace") for k, v in event.headers},
    }
    try:
        if event.event_type is None:
            raise UnknownEventTypeError("no event-type header")
        message = decode_payload(event.event_type, event.value)
        out["payload"] = json_format.MessageToDict(message)
    except (UnknownEventTypeError, DecodeError) as exc:
        out["error"] = str(exc)
        out["payloadBase64"] = base64.b64encode(event.value).decode()
    return out


def event_to_json(event: Event) -> str:
    """:func:`event_to_dict` as one line of JSON."""
    return json.dumps(event_to_dict(event), ensure_ascii=False, separators=(",", ":"))


def tail(
    bootstrap_servers: str,
    topic: str,
    *,
    from_beginning: bool = False,
    limit: int = 0,
    out: TextIO | None = None,
    idle_timeout: float | None = None,
) -> int:
    """Write ``topic``'s events to ``out`` (stdout) as JSON lines; for ``finmesh tail``.

    Reads every partition without joining a consumer group (it commits nothing, so it never
    disturbs the services). Starts at the end unless ``from_beginning``; stops after ``limit``
    events (0: never) or after ``idle_timeout`` seconds without one. Returns how many it wrote.
    """
    out = out or sys.stdout
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"finmesh-tail-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "logger": _librdkafka_log,
        }
    )
    written = 0
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            raise KafkaClientError(f"no topic {topic!r} on {bootstrap_servers}")
        start = OFFSET_BEGINNING if from_beginning else OFFSET_END
        consumer.assign([TopicPartition(topic, p, start) for p in sorted(found.partitions)])
        idle_since = time.monotonic()
        while limit <= 0 or written < limit:
            msg = consumer.poll(0.5)
            if msg is None:
                if idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                    break
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                if err.fatal():
                    raise ConsumeError(err, topic)
                log.warning("%s", ConsumeError(err, topic))
                continue
            out.write(event_to_json(Event.from_message(msg)) + "\n")
            out.flush()
            written += 1
            idle_since = time.monotonic()
    finally:
        consumer.close()
    return written
