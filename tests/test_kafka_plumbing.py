"""finmesh.kafka against a real broker: contract headers, DLQ, restart durability."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from google.protobuf.struct_pb2 import Struct
from google.type.money_pb2 import Money

from finmesh.config import all_topics
from finmesh.kafka import (
    CONTENT_TYPE,
    DeliveryError,
    Event,
    EventConsumer,
    EventProducer,
    EventTypeMismatchError,
    dlq_topic,
    event_to_dict,
    event_to_json,
    tail,
)
from tests.plugins.kafka import KafkaTestBroker


def struct(**fields: Any) -> Struct:
    s = Struct()
    s.update(fields)
    return s


async def collect(consumer: EventConsumer, count: int, within: float = 30.0) -> list[Event]:
    """Consume until ``count`` events arrived (fails the test after ``within`` seconds)."""
    events: list[Event] = []
    deadline = time.monotonic() + within
    while len(events) < count:
        assert time.monotonic() < deadline, f"only {len(events)} of {count} events arrived"
        events += await consumer.consume(max_messages=100, max_wait=0.5)
    return events


def committed_offset(bootstrap: str, group_id: str, topic: str, partition: int) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id})
    try:
        (tp,) = c.committed([TopicPartition(topic, partition)], timeout=10)
        return int(tp.offset)
    finally:
        c.close()


async def test_produced_event_is_consumed_with_user_key_contract_headers_and_payload(
    kafka_bootstrap_servers: str, kafka_topic: str, kafka_group_id: str
) -> None:
    payload = struct(merchant="Starbucks", amount="3.50")
    producer = EventProducer(kafka_bootstrap_servers, client_id="test-producer")
    try:
        event_id = await producer.produce_and_wait(kafka_topic, "user-42", payload)
    finally:
        await producer.close_async()

    async with EventConsumer(
        kafka_bootstrap_servers, group_id=kafka_group_id, topics=[kafka_topic]
    ) as consumer:
        (event,) = await collect(consumer, 1)
        await consumer.store([event])

    assert uuid.UUID(event_id).version == 4
    assert event.topic == kafka_topic
    assert event.key == "user-42"
    assert event.event_id == event_id
    assert event.event_type == "google.protobuf.Struct"
    assert event.header("content-type") == CONTENT_TYPE
    assert event.decode(Struct) == payload
    with pytest.raises(EventTypeMismatchError):
        event.decode(Money)
    as_json = event_to_dict(event)
    assert as_json["payload"] == {"merchant": "Starbucks", "amount": "3.50"}
    assert as_json["eventId"] == event_id
    # Stored offsets are committed on close.
    assert (
        committed_offset(kafka_bootstrap_servers, kafka_group_id, kafka_topic, event.partition)
        == event.offset + 1
    )


async def test_consume_returns_what_has_arrived_without_waiting_to_fill_a_batch(
    kafka_bootstrap_servers: str, kafka_topic: str, kafka_group_id: str
) -> None:
    producer = EventProducer(kafka_bootstrap_servers)
    async with EventConsumer(
        kafka_bootstrap_servers, group_id=kafka_group_id, topics=[kafka_topic]
    ) as consumer:
        try:
            deadline = time.monotonic() + 30
            while not consumer.assignment:  # joined the group, partitions assigned
                assert time.monotonic() < deadline, "no partitions assigned in 30 s"
                assert await consumer.consume(max_messages=500, max_wait=0.2) == []
            # One message trickling in is handed over at once, not after max_wait (60 s):
            # an enrichment hop used to sit out its whole max_wait at low traffic.
            event_id = await producer.produce_and_wait(kafka_topic, "user-1", struct(n=0))
            (one,) = await asyncio.wait_for(
                consumer.consume(max_messages=500, max_wait=60), timeout=15
            )
            assert one.event_id == event_id
            # What has arrived together still comes out together: a batch, not one by one.
            for i in range(50):
                producer.produce(kafka_topic, f"user-{i}", struct(n=i))
            assert await producer.flush_async(10) == 0
            calls, seen = 0, 0
            while seen < 50:
                batch = await asyncio.wait_for(
                    consumer.consume(max_messages=500, max_wait=60), timeout=15
                )
                calls, seen = calls + 1, seen + len(batch)
            assert seen == 50
            assert calls <= 5, f"50 messages took {calls} calls"
        finally:
            await producer.close_async()


async def test_sync_produce_flushes_and_delivery_failures_surface(
    kafka_bootstrap_servers: str, kafka_topic: str
) -> None:
    # Short enough for the missing topic to fail within the flush, long enough for a busy
    # machine to deliver the first message (1 s once was not, in a full `make test`).
    producer = EventProducer(kafka_bootstrap_servers, config={"message.timeout.ms": 4000})
    try:
        producer.produce(kafka_topic, "user-1", Money(currency_code="GBP", units=12))
        assert await producer.flush_async(10) == 0

        missing = f"{kafka_topic}.does-not-exist"  # auto-creation is off
        producer.produce(missing, "user-1", Money(currency_code="GBP", units=1))
        with pytest.raises(DeliveryError) as failed:
            await producer.flush_async(10)
        assert failed.value.topic == missing

        with pytest.raises(DeliveryError):
            await producer.produce_and_wait(missing, "user-1", Money(currency_code="GBP"))
    finally:
        await producer.close_async()


async def test_poison_message_is_dead_lettered_after_bounded_retries_and_partition_keeps_flowing(
    kafka_bootstrap_servers: str, kafka_topic: str, kafka_group_id: str
) -> None:
    producer = EventProducer(kafka_bootstrap_servers)
    poison = await producer.produce_async(kafka_topic, "user-7", struct(poison=True))
    good = await producer.produce_async(kafka_topic, "user-7", struct(poison=False))
    assert poison.partition == good.partition  # same key, same partition, poison first
    assert poison.offset < good.offset

    attempts: Counter[str | None] = Counter()
    handled: list[str | None] = []
    done = asyncio.Event()

    async def handler(event: Event) -> None:
        attempts[event.event_id] += 1
        if event.decode(Struct)["poison"]:
            raise RuntimeError("cannot categorise this expense")
        handled.append(event.event_id)
        done.set()

    consumer = EventConsumer(
        kafka_bootstrap_servers,
        group_id=kafka_group_id,
        topics=[kafka_topic],
        dlq_producer=producer,
    )
    try:
        await asyncio.wait_for(
            consumer.run(handler, max_attempts=3, retry_backoff=0.01, max_wait=0.2, stop=done), 30
        )
    finally:
        await consumer.close()

    assert attempts[poison.event_id] == 3
    assert attempts[good.event_id] == 1
    assert handled == [good.event_id]
    assert (
        committed_offset(kafka_bootstrap_servers, kafka_group_id, kafka_topic, good.partition)
        == good.offset + 1
    )

    async with EventConsumer(
        kafka_bootstrap_servers,
        group_id=f"{kafka_group_id}-dlq",
        topics=[dlq_topic(kafka_topic)],
    ) as dlq_reader:
        (dead,) = await collect(dlq_reader, 1)
    await producer.close_async()

    assert dead.key == "user-7"
    assert dead.event_id == poison.event_id
    assert dead.event_type == "google.protobuf.Struct"
    assert dead.header("content-type") == CONTENT_TYPE
    assert dead.decode(Struct) == struct(poison=True)
    assert dead.header("dlq-source-topic") == kafka_topic
    assert dead.header("dlq-source-partition") == str(poison.partition)
    assert dead.header("dlq-source-offset") == str(poison.offset)
    assert dead.header("dlq-error") == "RuntimeError: cannot categorise this expense"


async def test_failing_batch_is_retried_event_by_event_so_only_the_poison_is_dead_lettered(
    kafka_bootstrap_servers: str, kafka_topic: str, kafka_group_id: str
) -> None:
    producer = EventProducer(kafka_bootstrap_servers)
    for n in range(5):
        producer.produce(kafka_topic, "user-9", struct(n=n, poison=n == 2))
    await producer.flush_async()

    seen: Counter[int] = Counter()
    done = asyncio.Event()

    async def handle_batch(batch: Sequence[Event]) -> None:
        structs = [e.decode(Struct) for e in batch]
        if any(s["poison"] for s in structs):
            raise ValueError("batch contains a poison message")
        for s in structs:
            n = s["n"]
            assert isinstance(n, float)
            seen[int(n)] += 1
        if len(seen) == 4:
            done.set()

    consumer = EventConsumer(kafka_bootstrap_servers, group_id=kafka_group_id, topics=[kafka_topic])
    try:
        await asyncio.wait_for(
            consumer.run_batches(handle_batch, max_attempts=2, retry_backoff=0.01, stop=done), 30
        )
    finally:
        await consumer.close()

    assert sorted(seen) == [0, 1, 3, 4]
    async with EventConsumer(
        kafka_bootstrap_servers, group_id=f"{kafka_group_id}-dlq", topics=[dlq_topic(kafka_topic)]
    ) as dlq_reader:
        (dead,) = await collect(dlq_reader, 1)
    await producer.close_async()
    assert dead.decode(Struct)["n"] == 2
    assert dead.header("dlq-error") == "ValueError: batch contains a poison message"


def test_event_json_names_an_unknown_event_type_instead_of_failing() -> None:
    event = Event(
        topic="expenses.raw",
        partition=0,
        offset=5,
        key="u",
        event_id="e",
        event_type="finance.events.v1.NoSuchEvent",
        value=b"\x01\x02",
    )
    out = event_to_dict(event)
    assert "unknown event type" in out["error"]
    assert out["payloadBase64"] == "AQI="
    assert '"offset":5' in event_to_json(event)


async def test_restarted_broker_keeps_its_topics_and_messages(
    kafka_broker: KafkaTestBroker, kafka_topic: str, kafka_group_id: str
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    producer = EventProducer(bootstrap)
    event_id = await producer.produce_and_wait(kafka_topic, "user-3", struct(before="restart"))
    await producer.close_async()

    await asyncio.to_thread(kafka_broker.stop)
    assert not kafka_broker.running
    quiet: dict[str, Any] = {"bootstrap.servers": bootstrap, "error_cb": lambda err: None}
    down = AdminClient(quiet)
    with pytest.raises(KafkaException):
        down.list_topics(timeout=1)

    await asyncio.to_thread(kafka_broker.start)
    topics = set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)
    assert set(all_topics()) | {kafka_topic, dlq_topic(kafka_topic)} <= topics

    async with EventConsumer(bootstrap, group_id=kafka_group_id, topics=[kafka_topic]) as consumer:
        (event,) = await collect(consumer, 1)
    assert event.event_id == event_id
    assert event.decode(Struct) == struct(before="restart")


async def test_tail_prints_events_as_json_lines_decoded_by_their_event_type(
    kafka_bootstrap_servers: str, kafka_topic: str
) -> None:
    producer = EventProducer(kafka_bootstrap_servers)
    event_id = await producer.produce_and_wait(
        kafka_topic, "user-5", Money(currency_code="GBP", units=12, nanos=990000000)
    )
    await producer.close_async()

    out = io.StringIO()
    written = await asyncio.to_thread(
        tail, kafka_bootstrap_servers, kafka_topic, from_beginning=True, limit=1, out=out
    )

    assert written == 1
    line = json.loads(out.getvalue())
    assert line["eventId"] == event_id
    assert line["key"] == "user-5"
    assert line["eventType"] == "google.type.Money"
    assert line["payload"] == {"currencyCode": "GBP", "units": "12", "nanos": 990000000}
