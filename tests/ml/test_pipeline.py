"""The enrichment pipeline and the feedback consumer against real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from google.type.money_pb2 import Money

from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh import db
from finmesh.config import DatabaseConfig
from finmesh.kafka import (
    DLQ_ERROR,
    DLQ_SOURCE_TOPIC,
    Event,
    EventConsumer,
    EventProducer,
    dlq_topic,
)
from ml_svc import repository
from ml_svc.categorizer import Item, Source
from ml_svc.consumer import EnrichmentPipeline, FeedbackConsumer
from ml_svc.engine import Engine, enriched_event_id
from ml_svc.server import MIGRATIONS, SCHEMA
from ml_svc.training import CORRECTION_WEIGHT, SHARED_CACHE_DIR, Artifact
from tests.plugins.kafka import KafkaTestBroker

REPO = Path(__file__).resolve().parents[2]


def recorded(
    user: str, description: str, *, direction: int = expense_pb2.DIRECTION_DEBIT
) -> events_pb2.ExpenseRecorded:
    ts = Timestamp()
    ts.GetCurrentTime()
    return events_pb2.ExpenseRecorded(
        event_id=str(uuid.uuid4()),
        occur_time=ts,
        user_id=user,
        locale="en_GB",
        expense=expense_pb2.Expense(
            id=str(uuid.uuid4()),
            amount=Money(currency_code="GBP", units=12, nanos=500_000_000),
            direction=direction,  # type: ignore[arg-type]
            description=description,
            enrichment_state=expense_pb2.ENRICHMENT_STATE_PENDING,
        ),
    )


def corrected(user: str, description: str, merchant: str, new: str) -> events_pb2.CategoryCorrected:
    ts = Timestamp()
    ts.GetCurrentTime()
    return events_pb2.CategoryCorrected(
        event_id=str(uuid.uuid4()),
        occur_time=ts,
        user_id=user,
        expense_id=str(uuid.uuid4()),
        description=description,
        merchant=merchant,
        new_category=new,
        direction=expense_pb2.DIRECTION_DEBIT,
    )


async def collect(consumer: EventConsumer, count: int, within: float = 60.0) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + within
    while len(events) < count:
        assert time.monotonic() < deadline, f"only {len(events)} of {count} events arrived"
        events += await consumer.consume(max_messages=500, max_wait=0.5)
    return events


@pytest_asyncio.fixture(loop_scope="session")
async def engine(migrated_ml_url: str, artifact: Artifact) -> AsyncIterator[Engine]:
    pool = await db.open_pool(DatabaseConfig(url=migrated_ml_url), schema=SCHEMA)
    try:
        yield Engine(artifact, pool)
    finally:
        await pool.close()


@pytest_asyncio.fixture(loop_scope="session")
async def migrated_ml_url(new_database: Any) -> str:
    url: str = new_database("ml")
    await db.migrate(url, SCHEMA, MIGRATIONS)
    return url


@pytest.fixture
def topics(kafka_broker: KafkaTestBroker) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    raw, parsed = f"test.ml.raw.{suffix}", f"test.ml.parsed.{suffix}"
    kafka_broker.create_topics(raw, dlq_topic(raw), parsed)
    return raw, parsed


def reader(bootstrap: str, topic: str) -> EventConsumer:
    return EventConsumer(bootstrap, group_id=f"reader-{uuid.uuid4().hex[:8]}", topics=[topic])


async def test_recorded_expenses_are_enriched_in_batches_on_the_parsed_topic(
    kafka_broker: KafkaTestBroker, engine: Engine, topics: tuple[str, str]
) -> None:
    raw, parsed = topics
    bootstrap = kafka_broker.bootstrap_servers
    producer = EventProducer(bootstrap)
    events = [
        recorded("u-pipe", "CARD PAYMENT TO TESCO STORES 3297 ON 07-11-2024"),
        recorded("u-pipe", "SQ *ROSIES CAFE 0423 LEEDS GB"),
        recorded("u-pipe", "ACME LTD SALARY", direction=expense_pb2.DIRECTION_CREDIT),
        recorded("u-pipe2", "NETFLIX.COM"),
    ]
    for e in events:
        await producer.produce_and_wait(raw, e.user_id, e, event_id=e.event_id)
    consumer = EventConsumer(bootstrap, group_id=f"ml-{uuid.uuid4().hex[:8]}", topics=[raw])
    pipeline = EnrichmentPipeline(engine, consumer, producer, parsed_topic=parsed)
    stop = asyncio.Event()
    task = asyncio.create_task(pipeline.run(stop))
    out = reader(bootstrap, parsed)
    try:
        got = await collect(out, len(events))
    finally:
        stop.set()
        await task
        await consumer.close()
        await out.close()
        await producer.close_async()
    by_source = {}
    for ev in got:
        msg = ev.decode(events_pb2.ExpenseEnriched)
        assert ev.key == msg.user_id
        assert ev.event_id == msg.event_id == enriched_event_id(msg.source_event_id)
        by_source[msg.source_event_id] = msg
    assert set(by_source) == {e.event_id for e in events}
    tesco, cafe, salary, netflix = (by_source[e.event_id] for e in events)
    assert (tesco.category, tesco.merchant) == ("groceries", "Tesco")
    assert tesco.category_source == expense_pb2.CATEGORY_SOURCE_RULE
    # every event carries the model's runners-up, also one a rule decided
    assert len(tesco.alternatives) == 3
    assert "groceries" not in {a.category for a in tesco.alternatives}
    assert cafe.category == "dining" and cafe.model_version == engine.version
    assert len(cafe.alternatives) == 3
    assert cafe.category_source in (
        expense_pb2.CATEGORY_SOURCE_MODEL,
        expense_pb2.CATEGORY_SOURCE_SUGGESTED,
    )
    assert salary.category == "income"
    assert netflix.category == "subscriptions" and netflix.user_id == "u-pipe2"
    assert all(
        m.enrichment_state == expense_pb2.ENRICHMENT_STATE_ENRICHED for m in by_source.values()
    )
    # The compact record for replays.
    async with engine.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM seen_expenses WHERE user_id IN ('u-pipe', 'u-pipe2')"
        )
        row = await cur.fetchone()
    assert row is not None and row[0] == 4


async def test_poison_message_goes_to_the_dlq_and_the_next_one_is_processed(
    kafka_broker: KafkaTestBroker, engine: Engine, topics: tuple[str, str]
) -> None:
    raw, parsed = topics
    bootstrap = kafka_broker.bootstrap_servers
    producer = EventProducer(bootstrap)
    good_before = recorded("u-poison", "COSTA COFFEE 43011 LONDON GB")
    good_after = recorded("u-poison", "SHELL 1234 LEEDS")
    await producer.produce_and_wait(raw, "u-poison", good_before, event_id=good_before.event_id)
    poison_id = str(uuid.uuid4())
    await producer.send_raw_async(
        raw,
        b"u-poison",
        b"\xff\xfe not a protobuf",
        [
            ("event-id", poison_id.encode()),
            ("event-type", events_pb2.ExpenseRecorded.DESCRIPTOR.full_name.encode()),
        ],
        event_id=poison_id,
    )
    no_description = recorded("u-poison", "   ")
    await producer.produce_and_wait(
        raw, "u-poison", no_description, event_id=no_description.event_id
    )
    await producer.produce_and_wait(raw, "u-poison", good_after, event_id=good_after.event_id)
    consumer = EventConsumer(bootstrap, group_id=f"ml-{uuid.uuid4().hex[:8]}", topics=[raw])
    pipeline = EnrichmentPipeline(engine, consumer, producer, parsed_topic=parsed)
    stop = asyncio.Event()
    task = asyncio.create_task(pipeline.run(stop))
    out, dlq = reader(bootstrap, parsed), reader(bootstrap, dlq_topic(raw))
    try:
        enriched = await collect(out, 2)
        dead = await collect(dlq, 2)
    finally:
        stop.set()
        await task
        for c in (consumer, out, dlq):
            await c.close()
        await producer.close_async()
    sources = {e.decode(events_pb2.ExpenseEnriched).source_event_id for e in enriched}
    assert sources == {good_before.event_id, good_after.event_id}
    assert {e.event_id for e in dead} == {poison_id, no_description.event_id}
    for e in dead:
        assert e.header(DLQ_SOURCE_TOPIC) == raw
        assert e.header(DLQ_ERROR)


async def test_replicas_share_the_partitions_and_a_joining_one_takes_only_some(
    kafka_broker: KafkaTestBroker, engine: Engine, topics: tuple[str, str]
) -> None:
    """Two replicas in one consumer group: the second joins mid-stream and the cooperative
    rebalance moves only some of the first one's partitions to it (the first keeps consuming
    the rest); between them every expense is enriched, each with its one event id."""
    raw, parsed = topics
    bootstrap = kafka_broker.bootstrap_servers
    group = f"ml-replicas-{uuid.uuid4().hex[:8]}"
    producer = EventProducer(bootstrap)
    total = 1500
    sent = [recorded(f"u-rep-{i % 11}", f"SQ *BAKERY NUMBER {i} YORK") for i in range(total)]
    for e in sent[: total // 3]:
        producer.produce(raw, e.user_id, e, event_id=e.event_id)
    await producer.flush_async()
    out = reader(bootstrap, parsed)
    replicas: list[tuple[EnrichmentPipeline, EventConsumer, asyncio.Task[None]]] = []
    stop = asyncio.Event()

    def start() -> None:
        consumer = EventConsumer(bootstrap, group_id=group, topics=[raw])
        pipeline = EnrichmentPipeline(engine, consumer, producer, parsed_topic=parsed)
        replicas.append((pipeline, consumer, asyncio.create_task(pipeline.run(stop))))

    seen: list[Event] = []
    try:
        start()
        first = replicas[0][1]
        while len(seen) < 100:
            seen += await out.consume(max_messages=500, max_wait=0.5)
        assert len(first.assignment) == 3, first.assignment
        start()
        second = replicas[1][1]
        deadline = time.monotonic() + 60
        while not (second.assignment and first.assignment):  # the rebalance has settled
            assert time.monotonic() < deadline, (first.assignment, second.assignment)
            await asyncio.sleep(0.2)
        for e in sent[total // 3 :]:
            producer.produce(raw, e.user_id, e, event_id=e.event_id)
        await producer.flush_async()
        deadline = time.monotonic() + 120
        while len({e.decode(events_pb2.ExpenseEnriched).source_event_id for e in seen}) < total:
            assert time.monotonic() < deadline, "not every expense was enriched"
            seen += await out.consume(max_messages=500, max_wait=0.5)
        owned = [set(first.assignment), set(second.assignment)]
        revoked = list(first.revocations)
    finally:
        stop.set()
        for _, consumer, task in replicas:
            await task
            await consumer.close()
        await out.close()
        await producer.close_async()
    # The partitions are split between the two, and the first gave up only what moved.
    assert owned[0] and owned[1] and not owned[0] & owned[1]
    assert len(owned[0] | owned[1]) == 3
    assert revoked and all(len(r) < 3 for r in revoked)
    assert all(p.processed > 0 for p, _, _ in replicas)
    ids_by_source: dict[str, set[str]] = {}
    for ev in seen:
        msg = ev.decode(events_pb2.ExpenseEnriched)
        ids_by_source.setdefault(msg.source_event_id, set()).add(ev.event_id or "")
    assert set(ids_by_source) == {e.event_id for e in sent}
    assert all(ids == {enriched_event_id(s)} for s, ids in ids_by_source.items())


def _spawn_pipeline(
    bootstrap: str, db_url: str, group: str, raw: str, parsed: str
) -> subprocess.Popen[str]:
    return _start_ready(
        [
            sys.executable,
            "-m",
            "ml_svc.consumer",
            "--bootstrap",
            bootstrap,
            "--database-url",
            db_url,
            "--artifacts-dir",
            str(SHARED_CACHE_DIR),
            "--group",
            group,
            "--raw-topic",
            raw,
            "--parsed-topic",
            parsed,
        ]
    )


READY_WITHIN = 180.0


def _start_ready(argv: list[str], within: float = READY_WITHIN) -> subprocess.Popen[str]:
    """Start ``argv`` and wait (bounded) for its "ready" line. A child that does not say it in
    time is killed and waited for before the failure is raised: never left running unreaped
    (Popen's finaliser would report it as a ResourceWarning at the end of the session)."""
    proc = subprocess.Popen(
        argv,
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], within)
        line = proc.stdout.readline() if ready else ""
        assert line.strip() == "ready", line or f"no 'ready' within {within:.0f}s"
    except BaseException:
        _kill(proc)
        raise
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL, wait for it (reaped: no zombie, no ResourceWarning) and close its pipe."""
    proc.kill()
    proc.wait()
    if proc.stdout:
        proc.stdout.close()


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within a minute (a loaded machine)."""
    proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(60)
    _kill(proc)


def test_a_child_that_never_gets_ready_is_reaped_not_left_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[subprocess.Popen[str]] = []
    real = subprocess.Popen

    def recording(*args: Any, **kwargs: Any) -> subprocess.Popen[str]:
        proc: subprocess.Popen[str] = real(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(subprocess, "Popen", recording)
    with pytest.raises(AssertionError, match="no 'ready'"):
        _start_ready([sys.executable, "-c", "import time; time.sleep(30)"], within=0.5)
    assert len(started) == 1
    assert started[0].returncode is not None  # waited for: no zombie, no finaliser warning
    assert started[0].stdout is not None and started[0].stdout.closed


async def test_sigkilled_pipeline_loses_nothing_and_its_duplicates_carry_the_same_event_ids(
    kafka_broker: KafkaTestBroker,
    migrated_ml_url: str,
    artifact: Artifact,
    topics: tuple[str, str],
) -> None:
    raw, parsed = topics
    bootstrap = kafka_broker.bootstrap_servers
    group = f"ml-kill-{uuid.uuid4().hex[:8]}"
    total = 3000
    producer = EventProducer(bootstrap)
    sent = [recorded(f"u-kill-{i % 7}", f"SQ *CAFE NUMBER {i} LEEDS") for i in range(total)]
    for e in sent:
        producer.produce(raw, e.user_id, e, event_id=e.event_id)
    await producer.flush_async()
    await producer.close_async()
    out = reader(bootstrap, parsed)
    seen: list[Event] = []
    try:
        proc = await asyncio.to_thread(
            _spawn_pipeline, bootstrap, migrated_ml_url, group, raw, parsed
        )
        try:
            # Kill it mid-stream: after some output, long before the end.
            while len(seen) < 300:
                seen += await out.consume(max_messages=500, max_wait=0.5)
                assert proc.poll() is None
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            _kill(proc)
        assert len(seen) < total, "the pipeline finished before it was killed"
        proc = await asyncio.to_thread(
            _spawn_pipeline, bootstrap, migrated_ml_url, group, raw, parsed
        )
        try:
            deadline = time.monotonic() + 120
            while len({e.decode(events_pb2.ExpenseEnriched).source_event_id for e in seen}) < total:
                assert time.monotonic() < deadline, "not every expense was enriched"
                seen += await out.consume(max_messages=500, max_wait=0.5)
        finally:
            await asyncio.to_thread(_stop, proc)
    finally:
        await out.close()
    ids_by_source: dict[str, set[str]] = {}
    for ev in seen:
        msg = ev.decode(events_pb2.ExpenseEnriched)
        ids_by_source.setdefault(msg.source_event_id, set()).add(ev.event_id or "")
    assert set(ids_by_source) == {e.event_id for e in sent}
    # Redelivered ones (if any) were answered with the very same event id: expense_svc dedupes.
    assert all(len(ids) == 1 for ids in ids_by_source.values())
    assert all(ids == {enriched_event_id(s)} for s, ids in ids_by_source.items())


async def test_feedback_changes_the_next_prediction_for_that_merchant_in_any_form(
    kafka_broker: KafkaTestBroker, engine: Engine
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    topic = f"test.ml.feedback.{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topics(topic, dlq_topic(topic))
    user, other = f"u-fb-{uuid.uuid4().hex[:6]}", f"u-fb-other-{uuid.uuid4().hex[:6]}"
    forms = [
        "SQ *MAYAS NAILS AND BEAUTY 0423 LDN GB",
        "CARD PAYMENT TO MAYAS NAILS AND BEAUTY ON 07-11-2024",
        "IZ *MAYAS NAILS AND BEA",
        "POS DEBIT MAYAS NAILS AND BEAUTY 99 BOSTON MA",
    ]
    before = await engine.classify([user] * len(forms), [Item(f) for f in forms])
    assert {r.category for r in before} == {"personal_care"}
    producer = EventProducer(bootstrap)
    fix = corrected(user, forms[0], "Mayas Nails And Beauty", "health")
    await producer.produce_and_wait(topic, user, fix, event_id=fix.event_id)
    # The same event again (a redelivery) must not count twice.
    await producer.produce_and_wait(topic, user, fix, event_id=fix.event_id)
    await producer.close_async()
    consumer = EventConsumer(bootstrap, group_id=f"fb-{uuid.uuid4().hex[:8]}", topics=[topic])
    learner = FeedbackConsumer(engine, consumer)
    stop = asyncio.Event()
    task = asyncio.create_task(learner.run(stop))
    try:
        deadline = time.monotonic() + 30
        while True:
            after = await engine.classify([user] * len(forms), [Item(f) for f in forms])
            if all(r.category == "health" for r in after):
                break
            assert time.monotonic() < deadline, [r.category for r in after]
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await task
        await consumer.close()
    assert {r.source for r in after} <= {Source.MEMORY, Source.SIMILAR_EXPENSE}
    assert after[0].source is Source.MEMORY
    # Another user's predictions are untouched.
    theirs = await engine.classify([other], [Item(forms[0])])
    assert theirs[0].category == "personal_care"
    async with engine.pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM corrections WHERE user_id = %s", (user,))
        row = await cur.fetchone()
    assert row is not None and row[0] == 1


async def test_corrections_are_read_back_as_weighted_training_examples(engine: Engine) -> None:
    """What Engine.start hands the retrain: each stored correction, at CORRECTION_WEIGHT."""
    event = corrected("u-retrain", "SQ *ZORBLAX QUILLWORKS 0417", "Zorblax Quillworks", "education")
    assert await engine.record_correction(event)
    async with engine.pool.connection() as conn:
        examples = await repository.training_corrections(conn, CORRECTION_WEIGHT)
    mine = [e for e in examples if e.text == event.description]
    assert [(e.label, e.weight, e.kind) for e in mine] == [
        ("education", CORRECTION_WEIGHT, "correction")
    ]


async def test_replay_relabels_only_expenses_the_user_has_not_categorised(
    kafka_broker: KafkaTestBroker, engine: Engine, topics: tuple[str, str]
) -> None:
    from datetime import UTC, datetime

    from ml_svc.replay import replay

    _raw, parsed = topics
    user = f"u-replay-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)

    def seen(
        expense_id: str, description: str, user_categorised: bool, category: str = "other"
    ) -> repository.SeenExpense:
        return repository.SeenExpense(
            user,
            expense_id,
            str(uuid.uuid4()),
            now,
            description,
            "",
            5,
            0,
            "GBP",
            "debit",
            "en_GB",
            user_categorised,
            category,
            "old-model",
        )

    rows = [
        seen("e1", "SQ *ROSIES CAFE 0423", False),
        seen("e2", "NETFLIX.COM", True),
        seen("e3", "SHELL 1234 LEEDS", False),
        # labelled by an older model as the current one would: nothing to re-label
        seen("e4", "SQ *ROSIES CAFE 0423", False, category="dining"),
    ]
    async with engine.pool.connection() as conn:
        await repository.record_seen(conn, rows)
        await repository.mark_deleted(conn, user, "e3")
    producer = EventProducer(kafka_broker.bootstrap_servers)
    try:
        changed = await replay(engine, producer, user_id=user, topic=parsed)
        again = await replay(engine, producer, user_id=user, topic=parsed)
    finally:
        await producer.close_async()
    assert [(r.expense_id, c) for r, c in changed] == [("e1", "dining")]
    out = reader(kafka_broker.bootstrap_servers, parsed)
    try:
        got = await collect(out, 2)
    finally:
        await out.close()
    msgs = [e.decode(events_pb2.ExpenseEnriched) for e in got]
    assert {m.expense_id for m in msgs} == {"e1"}
    assert msgs[0].source_event_id == rows[0].source_event_id
    # Re-running publishes the same event id: expense_svc applies it once.
    assert len(again) == 1 and msgs[0].event_id == msgs[1].event_id
    assert msgs[0].event_id != enriched_event_id(rows[0].source_event_id)


async def test_an_upgrade_files_old_corrections_under_the_new_keys(engine: Engine) -> None:
    """A correction whose key an older normaliser computed ("CO-OP" read as "op group") is
    re-filed when an artifact with another fingerprint starts: the user's memory still wins."""
    from datetime import UTC, datetime

    user = f"u-rekey-{uuid.uuid4().hex[:6]}"
    old = repository.CorrectionRecord(
        event_id=str(uuid.uuid4()),
        user_id=user,
        occur_time=datetime.now(UTC),
        description="CO-OP GROUP 070512",
        merchant="",
        merchant_keys=("op group",),
        amount=None,
        direction="debit",
        category="shopping",
    )
    async with engine.pool.connection() as conn:
        await conn.execute("INSERT INTO memory_keys (fingerprint) VALUES ('an older normaliser')")
        assert await repository.record_correction(conn, old)
    item = Item("CO-OP GROUP 070615")
    before = (await engine.classify([user], [item]))[0]
    assert before.source is not Source.MEMORY  # the old key finds nothing
    await engine.rekey_memory()
    after = (await engine.classify([user], [item]))[0]
    assert (after.category, after.source) == ("shopping", Source.MEMORY)
    async with engine.pool.connection() as conn:
        memory = (await repository.load_memories(conn, [user]))[user]
        assert "op group" not in memory.exact and set(memory.exact.values()) == {"shopping"}
        assert [c.key for c in memory.corrections] == [
            engine.correction_keys(old.description, old.merchant)[0]
        ]
        # once per fingerprint: the next start has nothing to do
        fingerprint = str(engine.artifact.meta["fingerprint"])
        assert await repository.rekey_memory(conn, fingerprint, engine.correction_keys) is None
