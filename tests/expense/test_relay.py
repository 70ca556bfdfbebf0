"""The outbox relay against real PostgreSQL and Kafka: outages, SIGKILL, concurrent relays.

Each test gets its own database (expense schema migrated), so outbox counts are exact; events
are read back from the real ``expenses.raw`` and told apart by their record key (a user id no
other test uses).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest_asyncio
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from google.type import date_pb2, money_pb2
from prometheus_client import REGISTRY

from expense_svc import expenses, outbox
from expense_svc.convert import ExpenseDraft
from expense_svc.relay import OutboxRelay, OutboxRow, RelaySettings, publishable
from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh import db
from finmesh.config import REPO_ROOT, DatabaseConfig
from finmesh.kafka import Event
from finmesh.stack.procs import free_ports
from tests.plugins.kafka import KafkaTestBroker

RAW = "expenses.raw"
SCHEMA = "expense"
MIGRATIONS = REPO_ROOT / "expense_svc" / "migrations"

# ---------------------------------------------------------------------------------------------
# helpers (also used by test_enrichment.py)


async def expense_database(new_database: Callable[..., str], prefix: str) -> str:
    url = new_database(prefix)
    await db.migrate(url, SCHEMA, MIGRATIONS)
    return url


async def open_pool(url: str, max_size: int = 10) -> db.Pool:
    return await db.open_pool(
        DatabaseConfig(url=url, pool_min_size=1, pool_max_size=max_size), schema=SCHEMA
    )


def user_id(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}"


async def record_expense(
    pool: db.Pool,
    user: str,
    amount: Decimal = Decimal("12.34"),
    *,
    currency: str = "GBP",
    day: date = date(2026, 5, 14),
    description: str = "TESCO STORES 3297",
) -> tuple[str, str]:
    """Insert an expense and its ExpenseRecorded outbox row in one transaction.

    Returns (expense id, event id).
    """
    expense_id = str(uuid.uuid4())
    units = int(amount)
    nanos = int((amount - units) * 1_000_000_000)
    message = events_pb2.ExpenseRecorded(
        user_id=user,
        expense=expense_pb2.Expense(
            id=expense_id,
            amount=money_pb2.Money(currency_code=currency, units=units, nanos=nanos),
            direction=expense_pb2.DIRECTION_DEBIT,
            description=description,
            date=date_pb2.Date(year=day.year, month=day.month, day=day.day),
            enrichment_state=expense_pb2.ENRICHMENT_STATE_PENDING,
        ),
    )
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO expenses (id, user_id, amount, currency, description, date)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (expense_id, user, amount, currency, description, day),
        )
        event_id = await outbox.enqueue(conn, RAW, user, message)
    return expense_id, event_id


async def unpublished(pool: db.Pool) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM outbox WHERE published_time IS NULL")
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def wait_until(
    check: Callable[[], object], what: str, within: float = 60.0, every: float = 0.2
) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(every)


def _read_topic_sync(
    bootstrap: str,
    topic: str,
    keys: set[str],
    done: Callable[[list[Event]], bool],
    within: float,
    settle: float,
) -> list[Event]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-read-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }
    )
    events: list[Event] = []
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = sorted(metadata.topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        deadline = time.monotonic() + within
        settled_at: float | None = None
        while time.monotonic() < deadline:
            batch = consumer.consume(num_messages=500, timeout=0.3)
            fresh = [Event.from_message(m) for m in batch if m.error() is None]
            events += [e for e in fresh if e.key in keys]
            if settled_at is None and done(events):
                settled_at = time.monotonic()
            if settled_at is not None and time.monotonic() - settled_at >= settle:
                break
    finally:
        consumer.close()
    return events


async def read_topic(
    bootstrap: str,
    topic: str,
    keys: set[str],
    done: Callable[[list[Event]], bool],
    *,
    within: float = 60.0,
    settle: float = 1.0,
) -> list[Event]:
    """The events of ``topic`` keyed by one of ``keys``, from the beginning, in partition
    order; reads until ``done(events)`` (then ``settle`` seconds more, to catch duplicates)."""
    return await asyncio.to_thread(_read_topic_sync, bootstrap, topic, keys, done, within, settle)


def distinct_ids(n: int) -> Callable[[list[Event]], bool]:
    return lambda events: len({e.event_id for e in events}) >= n


@pytest_asyncio.fixture
async def relay_pool(new_database: Callable[..., str]) -> AsyncIterator[tuple[str, db.Pool]]:
    url = await expense_database(new_database, "relay")
    pool = await open_pool(url)
    try:
        yield url, pool
    finally:
        await pool.close()


class RunningRelay:
    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(relay.run(self.stop))

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)


async def start_relay(
    url: str,
    pool: db.Pool,
    bootstrap: str,
    settings: RelaySettings | None = None,
) -> RunningRelay:
    relay = OutboxRelay(
        pool,
        listen_conninfo=url,
        bootstrap_servers=bootstrap,
        settings=settings or RelaySettings(poll_interval_seconds=0.5),
    )
    running = RunningRelay(relay)
    await asyncio.wait_for(relay.listening.wait(), 15)
    return running


def metric(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    return 0.0 if value is None else value


# ---------------------------------------------------------------------------------------------
# tests


def test_publishable_keeps_each_keys_prefix_and_stops_at_a_row_claimed_elsewhere() -> None:
    def row(i: int, key: str) -> OutboxRow:
        return OutboxRow(i, str(uuid.uuid4()), RAW, key, "t", b"")

    claimed = [row(1, "a"), row(2, "b"), row(4, "a"), row(5, "b"), row(6, "c")]
    # row 3 (key a) is held by another relay; b and c are all ours
    pending = [(1, "a"), (2, "b"), (3, "a"), (4, "a"), (5, "b"), (6, "c")]
    assert [r.id for r in publishable(claimed, pending)] == [1, 2, 5, 6]
    # a key whose first pending row is not ours publishes nothing
    assert [r.id for r in publishable(claimed, [(0, "a"), *pending])] == [2, 5, 6]


async def test_outbox_rows_created_while_kafka_is_down_all_reach_expenses_raw_when_it_returns(
    kafka_broker: KafkaTestBroker,
    kafka_bootstrap_servers: str,
    relay_pool: tuple[str, db.Pool],
) -> None:
    url, pool = relay_pool
    user = user_id("outage")
    running = await start_relay(
        url,
        pool,
        kafka_bootstrap_servers,
        RelaySettings(poll_interval_seconds=0.5, delivery_timeout_seconds=3, max_backoff_seconds=2),
    )
    try:
        failures_before = metric("finmesh_outbox_publish_failures_total")
        await asyncio.to_thread(kafka_broker.stop)
        try:
            # The real create path: expense + budget effect + outbox row in one transaction.
            draft = ExpenseDraft(
                amount=Decimal("12.34"),
                currency="GBP",
                direction="DEBIT",
                description="TESCO STORES 3297",
                merchant="",
                category=None,
                date=date(2026, 5, 14),
            )
            created = [await expenses.create_expense(pool, user, draft) for _ in range(100)]
            assert len({e.id for e in created}) == 100  # every create succeeded
            # The relay tried, Kafka did not acknowledge, nothing was marked published.
            await wait_until(
                lambda: metric("finmesh_outbox_publish_failures_total") > failures_before,
                "a failed publish attempt",
            )
            assert await unpublished(pool) == 100
            count, lag = await running.relay.refresh_metrics()
            assert count == 100
            assert lag > 0
            assert metric("finmesh_outbox_unpublished_rows") == 100
        finally:
            await asyncio.to_thread(kafka_broker.start)

        async def drained() -> bool:
            return await unpublished(pool) == 0

        await wait_until(drained, "the outbox to drain after Kafka came back", within=120)
    finally:
        await running.close()

    async with pool.connection() as conn:
        cur = await conn.execute("SELECT event_id::text FROM outbox WHERE key = %s", (user,))
        expected = {event_id for (event_id,) in await cur.fetchall()}
    assert len(expected) == 100
    events = await read_topic(kafka_bootstrap_servers, RAW, {user}, distinct_ids(100))
    assert {e.event_id for e in events} == expected
    for e in events:
        recorded = e.decode(events_pb2.ExpenseRecorded)
        assert recorded.event_id == e.event_id
        assert recorded.user_id == user
    assert {e.decode(events_pb2.ExpenseRecorded).expense.id for e in events} == {
        e.id for e in created
    }


_CRASHING_RELAY = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from expense_svc.relay import OutboxRelay, RelaySettings
    from finmesh import db
    from finmesh.config import DatabaseConfig

    async def main() -> None:
        url, bootstrap = os.environ["RELAY_DB"], os.environ["RELAY_KAFKA"]
        pool = await db.open_pool(DatabaseConfig(url=url), schema="expense")

        async def die(rows) -> None:
            # Kafka acknowledged every row; the UPDATE ... published_time never runs.
            print(len(rows), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        relay = OutboxRelay(pool, listen_conninfo=url, bootstrap_servers=bootstrap,
                            settings=RelaySettings(batch_size=50), on_produced=die)
        await relay.run(asyncio.Event())

    asyncio.run(main())
    """
)


async def test_relay_killed_between_produce_and_mark_republishes_with_same_event_ids(
    kafka_bootstrap_servers: str, relay_pool: tuple[str, db.Pool]
) -> None:
    url, pool = relay_pool
    user = user_id("sigkill")
    created = [await record_expense(pool, user) for _ in range(10)]
    expected = {event_id for _, event_id in created}

    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CRASHING_RELAY,
        cwd=REPO_ROOT,
        env={**os.environ, "RELAY_DB": url, "RELAY_KAFKA": kafka_bootstrap_servers},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode == -9, "the relay should have been SIGKILLed by its hook"
    assert out.decode().strip() == "10"  # all ten were acknowledged before the kill
    assert await unpublished(pool) == 10  # ... and none was marked

    first = await read_topic(kafka_bootstrap_servers, RAW, {user}, distinct_ids(10))
    assert {e.event_id for e in first} == expected

    # A restarted relay publishes them again: same event ids, so consumers can dedupe.
    restarted = OutboxRelay(pool, listen_conninfo=url, bootstrap_servers=kafka_bootstrap_servers)
    try:
        assert await restarted.drain() == 10
    finally:
        await restarted.close()
    assert await unpublished(pool) == 0

    events = await read_topic(
        kafka_bootstrap_servers, RAW, {user}, lambda evs: len(evs) >= 20, settle=1.0
    )
    deliveries = Counter(e.event_id for e in events)
    assert set(deliveries) == expected
    assert set(deliveries.values()) == {2}

    # A consumer that deduplicates on the event-id header applies each expense exactly once.
    async with pool.connection() as conn:
        await conn.execute("CREATE TABLE test_applied (expense_id uuid PRIMARY KEY, n int)")
    for e in events:
        expense_id = e.decode(events_pb2.ExpenseRecorded).expense.id
        async with pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO processed_events (event_id, consumer) VALUES (%s, 'test')"
                " ON CONFLICT DO NOTHING",
                (e.event_id,),
            )
            if cur.rowcount == 1:
                await conn.execute(
                    "INSERT INTO test_applied VALUES (%s, 1) ON CONFLICT (expense_id)"
                    " DO UPDATE SET n = test_applied.n + 1",
                    (expense_id,),
                )
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT expense_id::text, n FROM test_applied")
        applied: dict[str, int] = dict(await cur.fetchall())
    assert applied == {expense_id: 1 for expense_id, _ in created}


async def test_two_relays_share_the_outbox_lose_nothing_and_keep_each_users_order(
    kafka_bootstrap_servers: str, relay_pool: tuple[str, db.Pool]
) -> None:
    url, pool = relay_pool
    # Relays share work across users (one user's rows go out in order, through one relay at a
    # time): many users, small batches; plus two busy users whose rows come in bursts, so
    # that without per-user ordering their rows would straddle concurrent batches.
    users = [user_id(f"pair{n}") for n in range(30)]
    busy = [user_id("busy0"), user_id("busy1")]
    settings = RelaySettings(batch_size=5, poll_interval_seconds=0.2)
    created: list[tuple[str, str]] = []

    async def writer(k: int, rows: int) -> None:
        # Each user has one writer: a user's rows commit in id order, so that order is the
        # one Kafka must keep. Different users are written concurrently.
        mine = users[k::3]
        for n in range(rows):
            user = busy[k] if k < len(busy) and (n // 4) % 2 == 0 else mine[n % len(mine)]
            _, event_id = await record_expense(pool, user)
            created.append((user, event_id))

    # A backlog both relays race for as they start, then more rows while they run.
    await asyncio.gather(*(writer(k, 40) for k in range(3)))
    relays = [
        RunningRelay(
            OutboxRelay(
                pool,
                listen_conninfo=url,
                bootstrap_servers=kafka_bootstrap_servers,
                settings=settings,
            )
        )
        for _ in range(2)
    ]
    try:
        await asyncio.gather(*(writer(k, 40) for k in range(3)))

        async def drained() -> bool:
            return await unpublished(pool) == 0

        await wait_until(drained, "the outbox to drain", within=120)
    finally:
        for r in relays:
            await r.close()

    assert len(created) == 240
    assert all(r.relay.published_count > 0 for r in relays), "both relays should share the work"
    events = await read_topic(
        kafka_bootstrap_servers, RAW, {*users, *busy}, distinct_ids(240), settle=2.0
    )
    assert {e.event_id for e in events} == {event_id for _, event_id in created}
    # Duplicates, if any, are the same record again: same event id, same key, same bytes.
    by_id: dict[str | None, set[tuple[str | None, bytes]]] = defaultdict(set)
    for e in events:
        by_id[e.event_id].add((e.key, e.value))
    assert all(len(v) == 1 for v in by_id.values())

    # Per user, Kafka has the events in outbox (commit) order.
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT key, event_id::text FROM outbox ORDER BY id")
        outbox_order: dict[str, list[str]] = defaultdict(list)
        for key, event_id in await cur.fetchall():
            outbox_order[key].append(event_id)
    seen: dict[str, list[str]] = defaultdict(list)
    for e in events:
        assert e.key is not None and e.event_id is not None
        if e.event_id not in seen[e.key]:
            seen[e.key].append(e.event_id)
    assert seen == outbox_order


async def test_notify_wakes_the_relay_long_before_its_next_poll(
    kafka_bootstrap_servers: str, relay_pool: tuple[str, db.Pool]
) -> None:
    url, pool = relay_pool
    user = user_id("notify")
    running = await start_relay(
        url, pool, kafka_bootstrap_servers, RelaySettings(poll_interval_seconds=120)
    )
    try:
        await asyncio.sleep(0.5)  # past the relay's first drain: now it waits for a NOTIFY
        _, event_id = await record_expense(pool, user)

        async def drained() -> bool:
            return await unpublished(pool) == 0

        await wait_until(drained, "the notified relay to publish", within=30)
    finally:
        await running.close()
    events = await read_topic(kafka_bootstrap_servers, RAW, {user}, distinct_ids(1))
    assert [e.event_id for e in events] == [event_id]


async def test_rows_committed_within_one_cycle_spacing_go_out_as_one_batch(
    kafka_bootstrap_servers: str, relay_pool: tuple[str, db.Pool]
) -> None:
    url, pool = relay_pool
    user = user_id("pace")
    batches: list[int] = []

    async def count(rows: Sequence[OutboxRow]) -> None:
        batches.append(len(rows))

    relay = OutboxRelay(
        pool,
        listen_conninfo=url,
        bootstrap_servers=kafka_bootstrap_servers,
        settings=RelaySettings(poll_interval_seconds=120, min_cycle_seconds=2.0),
        on_produced=count,
    )
    running = RunningRelay(relay)

    async def drained() -> bool:
        return await unpublished(pool) == 0

    try:
        await asyncio.wait_for(relay.listening.wait(), 15)
        await asyncio.sleep(2.5)  # a quiet spell longer than the spacing
        await record_expense(pool, user)
        await wait_until(drained, "the first row after a quiet spell", within=30, every=0.05)
        assert batches == [1]
        # Six commits, each notifying, 0.1 s apart: all within 2 s of the last cycle's start,
        # so they wait for the next cycle together (without the spacing: one cycle each).
        for _ in range(6):
            await record_expense(pool, user)
            await asyncio.sleep(0.1)
        await wait_until(drained, "the relay to publish the six", within=30)
    finally:
        await running.close()
    assert batches[0] == 1 and sum(batches[1:]) == 6
    assert len(batches) - 1 <= 2, f"six rows in {len(batches) - 1} batches: {batches[1:]}"
    events = await read_topic(kafka_bootstrap_servers, RAW, {user}, distinct_ids(7))
    assert len({e.event_id for e in events}) == 7


async def test_the_relay_runs_on_its_own_with_python_dash_m_and_stops_on_sigterm(
    kafka_bootstrap_servers: str, relay_pool: tuple[str, db.Pool], tmp_path: Path
) -> None:
    url, pool = relay_pool
    user = user_id("standalone")
    _, event_id = await record_expense(pool, user)
    (metrics_port,) = free_ports(1)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "expense_svc.relay",
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "FINMESH_HOME": str(tmp_path),
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
            "EXPENSE_RELAY_METRICS_PORT": str(metrics_port),
        },
        stderr=asyncio.subprocess.PIPE,
    )
    try:

        async def drained() -> bool:
            assert child.returncode is None, "python -m expense_svc.relay exited"
            return await unpublished(pool) == 0

        await wait_until(drained, "the standalone relay to publish", within=60)
        url_metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        scraped = await asyncio.to_thread(lambda: urllib.request.urlopen(url_metrics).read())
        assert b"finmesh_outbox_published_total 1.0" in scraped
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0, err.decode()[-2000:]
    (event,) = await read_topic(kafka_bootstrap_servers, RAW, {user}, distinct_ids(1))
    assert event.event_id == event_id


async def test_rows_without_a_notification_are_found_by_the_poll(
    kafka_bootstrap_servers: str, relay_pool: tuple[str, db.Pool]
) -> None:
    url, pool = relay_pool
    user = user_id("poll")
    running = await start_relay(
        url, pool, kafka_bootstrap_servers, RelaySettings(poll_interval_seconds=0.3)
    )
    event_id = str(uuid.uuid4())
    message = events_pb2.ExpenseDeleted(event_id=event_id, user_id=user, expense_id="x")
    try:
        await asyncio.sleep(0.5)
        async with pool.connection() as conn:  # no NOTIFY: as if the notification was lost
            await conn.execute(
                "INSERT INTO outbox (event_id, topic, key, event_type, payload)"
                " VALUES (%s, %s, %s, %s, %s)",
                (event_id, RAW, user, message.DESCRIPTOR.full_name, message.SerializeToString()),
            )

        async def drained() -> bool:
            return await unpublished(pool) == 0

        await wait_until(drained, "the polling relay to publish", within=30)
    finally:
        await running.close()
    (event,) = await read_topic(kafka_bootstrap_servers, RAW, {user}, distinct_ids(1))
    assert event.event_id == event_id
    assert event.event_type == "finance.events.v1.ExpenseDeleted"
    assert event.decode(events_pb2.ExpenseDeleted) == message


async def test_published_rows_past_retention_are_purged_and_unpublished_ones_never(
    relay_pool: tuple[str, db.Pool],
) -> None:
    url, pool = relay_pool
    user = user_id("purge")
    for _ in range(3):
        await record_expense(pool, user)
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE outbox SET published_time = now() - interval '8 days'"
            " WHERE id = (SELECT min(id) FROM outbox)"
        )
        await conn.execute(
            "UPDATE outbox SET published_time = now() - interval '1 day'"
            " WHERE id = (SELECT max(id) FROM outbox)"
        )
        await conn.execute(  # an old row that was never published stays
            "UPDATE outbox SET create_time = now() - interval '30 days'"
            " WHERE published_time IS NULL"
        )
    relay = OutboxRelay(pool, listen_conninfo=url, bootstrap_servers="127.0.0.1:1")
    assert await relay.purge_published() == 1
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT published_time IS NULL FROM outbox ORDER BY id")
        assert [r[0] for r in await cur.fetchall()] == [True, False]
