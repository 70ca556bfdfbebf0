"""The enrichment pipeline's outgoing side without Kafka: event ids, messages, and waiting for
a whole batch's acknowledgements."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finance.ml.v1 import categorizer_service_pb2 as ml_pb2
from finmesh.kafka import DeliveryError, DeliveryReport
from ml_svc.categorizer import Result, Source
from ml_svc.consumer import Job, enriched, produce_all
from ml_svc.engine import ENRICHED_NAMESPACE, enriched_event_id


@pytest.mark.parametrize("source", [str(uuid.uuid4()), "", "é✓-event", "x" * 500])
@pytest.mark.parametrize("salt", ["", "replay:v1:"])
def test_enriched_event_id_is_uuid5_of_the_source_event(source: str, salt: str) -> None:
    assert enriched_event_id(source, salt) == str(uuid.uuid5(ENRICHED_NAMESPACE, salt + source))


def test_enriched_message_carries_the_result() -> None:
    job = Job(
        "src-1",
        "u1",
        datetime.now(UTC),
        expense_pb2.Expense(id="e1", description="TESCO STORES 1234"),
        "en_GB",
    )
    result = Result(
        "groceries", 0.9, "Tesco", Source.MODEL, "why", True, "v1", (("groceries", 0.9), ("x", 0.1))
    )
    now = Timestamp(seconds=1_700_000_000, nanos=5)
    msg = enriched(job, result, now)
    assert msg == events_pb2.ExpenseEnriched(
        event_id=enriched_event_id("src-1"),
        occur_time=now,
        user_id="u1",
        expense_id="e1",
        source_event_id="src-1",
        merchant="Tesco",
        category="groceries",
        confidence=0.9,
        source=ml_pb2.CLASSIFICATION_SOURCE_MODEL,
        category_source=expense_pb2.CATEGORY_SOURCE_MODEL,
        model_version="v1",
        explanation="why",
        alternatives=[
            ml_pb2.CategoryScore(category="groceries", confidence=0.9),
            ml_pb2.CategoryScore(category="x", confidence=0.1),
        ],
        enrichment_state=expense_pb2.ENRICHMENT_STATE_ENRICHED,
    )


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, Any]] = []

    def produce(
        self, topic: str, key: str, message: Any, *, event_id: str, on_delivery: Any
    ) -> str:
        self.sent.append((topic, key, event_id, on_delivery))
        return event_id

    def ack(self, i: int, error: DeliveryError | None = None) -> None:
        topic, _, event_id, cb = self.sent[i]
        report = None if error else DeliveryReport(topic, 0, i, event_id)
        # librdkafka calls back on the producer's poll thread
        t = threading.Thread(target=cb, args=(report, error))
        t.start()
        t.join()


def messages(n: int) -> list[tuple[str, events_pb2.ExpenseEnriched]]:
    return [(f"u{i}", events_pb2.ExpenseEnriched(event_id=f"id{i}")) for i in range(n)]


async def test_produce_all_resolves_once_every_message_is_acknowledged() -> None:
    producer = FakeProducer()
    done = produce_all(producer, "t", messages(3))  # type: ignore[arg-type]
    assert [(t, k, e) for t, k, e, _ in producer.sent] == [
        ("t", "u0", "id0"),
        ("t", "u1", "id1"),
        ("t", "u2", "id2"),
    ]
    for i in (2, 0):
        producer.ack(i)
        await asyncio.sleep(0.01)
        assert not done.done()
    producer.ack(1)
    await asyncio.wait_for(done, 1)


async def test_produce_all_fails_with_the_first_delivery_error() -> None:
    producer = FakeProducer()
    done = produce_all(producer, "t", messages(3))  # type: ignore[arg-type]
    producer.ack(0)
    producer.ack(1, DeliveryError("t", "id1", "boom"))
    producer.ack(2, DeliveryError("t", "id2", "later"))
    with pytest.raises(DeliveryError, match="boom"):
        await asyncio.wait_for(done, 1)


async def test_produce_all_of_nothing_is_done() -> None:
    await asyncio.wait_for(produce_all(FakeProducer(), "t", []), 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "auto_apply", "expected"),
    [
        (Source.MODEL, True, expense_pb2.CATEGORY_SOURCE_MODEL),
        # below the confidence threshold the model only suggests: expense_svc does not apply it
        (Source.MODEL, False, expense_pb2.CATEGORY_SOURCE_SUGGESTED),
        (Source.MEMORY, True, expense_pb2.CATEGORY_SOURCE_RULE),
        (Source.SIMILAR_EXPENSE, True, expense_pb2.CATEGORY_SOURCE_RULE),
        (Source.RULE, True, expense_pb2.CATEGORY_SOURCE_RULE),
        (Source.DICTIONARY, True, expense_pb2.CATEGORY_SOURCE_RULE),
    ],
)
def test_each_source_maps_to_its_category_source_and_a_low_confidence_model_only_suggests(
    source: Source, auto_apply: bool, expected: int
) -> None:
    job = Job("src-2", "u1", datetime.now(UTC), expense_pb2.Expense(id="e2"), "en_GB")
    result = Result("dining", 0.4 if not auto_apply else 0.9, "Cafe", source, "why", auto_apply)
    assert enriched(job, result, Timestamp()).category_source == expected
