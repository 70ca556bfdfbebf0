"""Enrichment from ``expenses.parsed`` against real PostgreSQL and Kafka: once per event, the
user's category wins, budgets move exactly, poison goes to the DLQ."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal

import pytest
import pytest_asyncio

from expense_svc import budgets, enrichment, expenses
from expense_svc.consumer import EnrichmentConsumer, kafka_consumer
from expense_svc.convert import ExpenseDraft
from expense_svc.tx import in_transaction
from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh import db
from finmesh.errors import Aborted
from finmesh.kafka import (
    CONTENT_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_EVENT_ID,
    HEADER_EVENT_TYPE,
    EventProducer,
    dlq_topic,
)
from tests.expense.test_relay import (
    expense_database,
    open_pool,
    read_topic,
    user_id,
    wait_until,
)

PARSED = "expenses.parsed"
MAY = date(2026, 5, 14)
MONTH = "2026-05"


@pytest_asyncio.fixture
async def pool(new_database: Callable[..., str]) -> AsyncIterator[db.Pool]:
    url = await expense_database(new_database, "enrich")
    p = await open_pool(url, max_size=20)
    try:
        yield p
    finally:
        await p.close()


@pytest_asyncio.fixture
async def producer(kafka_bootstrap_servers: str) -> AsyncIterator[EventProducer]:
    p = EventProducer(kafka_bootstrap_servers, client_id="test-ml-standin")
    try:
        yield p
    finally:
        await p.close_async()


async def create(
    pool: db.Pool,
    user: str,
    amount: str = "10.00",
    *,
    category: str | None = None,
    merchant: str = "",
    direction: str = "DEBIT",
) -> expense_pb2.Expense:
    draft = ExpenseDraft(
        amount=Decimal(amount),
        currency="GBP",
        direction=direction,
        description="PRET A MANGER 123 LONDON",
        merchant=merchant,
        category=category,
        date=MAY,
    )
    return await expenses.create_expense(pool, user, draft)


async def budget(pool: db.Pool, user: str, category: str, limit: str = "1000") -> None:
    await budgets.update_budget(
        pool, user, MONTH, category, limit=(Decimal(limit), "GBP"), rollover=False
    )


async def spent(pool: db.Pool, user: str, category: str) -> Decimal:
    view = await budgets.get_budget(pool, user, MONTH, category)
    return view.spent


async def row(pool: db.Pool, expense_id: str) -> dict[str, object]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT category, category_source, category_confidence, merchant, model_version,"
            " category_explanation, enrichment_state, version FROM expenses WHERE id = %s",
            (expense_id,),
        )
        found = await cur.fetchone()
    assert found is not None
    names = ("category", "source", "confidence", "merchant", "model", "why", "state", "version")
    return dict(zip(names, found, strict=True))


async def changed_events(pool: db.Pool, expense_id: str) -> list[events_pb2.ExpenseChanged]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT payload FROM outbox WHERE event_type = %s ORDER BY id",
            (events_pb2.ExpenseChanged.DESCRIPTOR.full_name,),
        )
        found = [events_pb2.ExpenseChanged.FromString(p) for (p,) in await cur.fetchall()]
    return [e for e in found if e.expense.id == expense_id]


def enriched(
    expense: expense_pb2.Expense,
    user: str,
    category: str,
    *,
    source: expense_pb2.CategorySource.ValueType = expense_pb2.CATEGORY_SOURCE_MODEL,
    confidence: float = 0.93,
    merchant: str = "Pret A Manger",
    event_id: str | None = None,
) -> events_pb2.ExpenseEnriched:
    return events_pb2.ExpenseEnriched(
        event_id=event_id or str(uuid.uuid4()),
        user_id=user,
        expense_id=expense.id,
        source_event_id=str(uuid.uuid4()),
        merchant=merchant,
        category=category,
        confidence=confidence,
        category_source=source,
        model_version="tfidf-lr-test",
        explanation=f"looks like {category}",
        enrichment_state=expense_pb2.ENRICHMENT_STATE_ENRICHED,
    )


async def send(producer: EventProducer, topic: str, msg: events_pb2.ExpenseEnriched) -> None:
    await producer.produce_async(topic, msg.user_id, msg, event_id=msg.event_id)


async def apply_directly(pool: db.Pool, msg: events_pb2.ExpenseEnriched) -> enrichment.Outcome:
    parsed = enrichment.parse(msg.event_id, msg)
    return await in_transaction(pool, lambda conn: enrichment.apply(conn, parsed))


@asynccontextmanager
async def consuming(
    pool: db.Pool, bootstrap: str, topic: str, group_id: str
) -> AsyncIterator[EnrichmentConsumer]:
    runner = EnrichmentConsumer(
        pool,
        kafka_consumer(bootstrap, group_id=group_id, topic=topic),
        retry_backoff_seconds=0.05,
        max_wait_seconds=0.2,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield runner
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def state_is(pool: db.Pool, expense_id: str, **want: object) -> Callable[[], object]:
    async def check() -> bool:
        current = await row(pool, expense_id)
        return all(current[k] == v for k, v in want.items())

    return check


# ---------------------------------------------------------------------------------------------


async def test_enrichment_sets_category_merchant_and_provenance_and_announces_the_change(
    pool: db.Pool,
    producer: EventProducer,
    kafka_bootstrap_servers: str,
    kafka_topic: str,
    kafka_group_id: str,
) -> None:
    user = user_id("apply")
    await budget(pool, user, "dining")
    expense = await create(pool, user, "4.20")
    msg = enriched(expense, user, "dining", confidence=0.91)
    await send(producer, kafka_topic, msg)
    async with consuming(pool, kafka_bootstrap_servers, kafka_topic, kafka_group_id):
        await wait_until(state_is(pool, expense.id, state="ENRICHED"), "enrichment", within=60)

    assert await row(pool, expense.id) == {
        "category": "dining",
        "source": "MODEL",
        "confidence": Decimal("0.9100"),
        "merchant": "Pret A Manger",
        "model": "tfidf-lr-test",
        "why": "looks like dining",
        "state": "ENRICHED",
        "version": 2,  # the etag changes with the resource
    }
    assert await spent(pool, user, "dining") == Decimal("4.20")
    (changed,) = await changed_events(pool, expense.id)
    assert changed.user_id == user
    assert changed.previous_expense.enrichment_state == expense_pb2.ENRICHMENT_STATE_PENDING
    assert changed.expense.category == "dining"
    assert changed.expense.etag == 'W/"2"'
    assert set(changed.changed_fields.paths) == {
        "merchant",
        "category",
        "category_source",
        "category_confidence",
        "model_version",
        "category_explanation",
        "enrichment_state",
    }


async def test_an_event_delivered_again_after_a_newer_one_is_applied_only_once(
    pool: db.Pool,
    producer: EventProducer,
    kafka_bootstrap_servers: str,
    kafka_topic: str,
    kafka_group_id: str,
) -> None:
    user = user_id("dedupe")
    await budget(pool, user, "groceries")
    await budget(pool, user, "dining")
    expense = await create(pool, user, "10.00")
    sentinel = await create(pool, user, "1.00")
    first = enriched(expense, user, "groceries")
    newer = enriched(expense, user, "dining")
    # At-least-once delivery: `first` arrives again (same event id, same bytes) after `newer`.
    for msg in (first, newer, first, enriched(sentinel, user, "other")):
        await send(producer, kafka_topic, msg)

    async with consuming(pool, kafka_bootstrap_servers, kafka_topic, kafka_group_id):
        # one key, one partition: once the sentinel is applied, the redelivery was handled
        await wait_until(state_is(pool, sentinel.id, state="ENRICHED"), "sentinel", within=60)

    assert (await row(pool, expense.id))["category"] == "dining"
    assert await spent(pool, user, "dining") == Decimal("10.00")
    assert await spent(pool, user, "groceries") == Decimal("0")
    assert len(await changed_events(pool, expense.id)) == 2  # first, then newer; not 3
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM processed_events")
        assert await cur.fetchone() == (3,)


async def test_the_users_category_wins_over_a_later_model_event(
    pool: db.Pool,
    producer: EventProducer,
    kafka_bootstrap_servers: str,
    kafka_topic: str,
    kafka_group_id: str,
) -> None:
    user = user_id("userwins")
    await budget(pool, user, "dining")
    await budget(pool, user, "groceries")
    expense = await create(pool, user, "7.50", category="dining")  # the user's choice
    await send(producer, kafka_topic, enriched(expense, user, "groceries", confidence=0.99))
    async with consuming(pool, kafka_bootstrap_servers, kafka_topic, kafka_group_id):
        await wait_until(state_is(pool, expense.id, merchant="Pret A Manger"), "merchant fill")

    current = await row(pool, expense.id)
    assert current["category"] == "dining"
    assert current["source"] == "USER"
    assert current["confidence"] == Decimal(1)
    assert current["model"] == ""
    assert current["state"] == "ENRICHED"
    assert await spent(pool, user, "dining") == Decimal("7.50")
    assert await spent(pool, user, "groceries") == Decimal("0")


async def test_category_moves_keep_both_budgets_exact_while_users_keep_spending(
    pool: db.Pool,
    producer: EventProducer,
    kafka_bootstrap_servers: str,
    kafka_topic: str,
    kafka_group_id: str,
) -> None:
    user = user_id("moves")
    await budget(pool, user, "groceries", "50")  # small limits: thresholds are crossed too
    await budget(pool, user, "dining", "50")
    rng = random.Random(7)
    pending = [await create(pool, user, f"{rng.randint(100, 2000) / 100:.2f}") for _ in range(40)]
    amounts = {e.id: Decimal(e.amount.units) + Decimal(e.amount.nanos) / 10**9 for e in pending}
    # Wave 1 files everything under groceries; wave 2 moves half of it to dining.
    for e in pending:
        await send(producer, kafka_topic, enriched(e, user, "groceries"))
    moved = pending[::2]
    for e in moved:
        await send(producer, kafka_topic, enriched(e, user, "dining"))
    # Expenses the consumer never sees: categorised and moved by concurrent direct applies.
    extra = [await create(pool, user, f"{rng.randint(100, 2000) / 100:.2f}") for _ in range(8)]
    amounts.update({e.id: Decimal(e.amount.units) + Decimal(e.amount.nanos) / 10**9 for e in extra})
    extra_moved = extra[::2]

    async def categorise(e: expense_pb2.Expense) -> None:
        await apply_directly(pool, enriched(e, user, "groceries"))
        if e in extra_moved:
            await apply_directly(pool, enriched(e, user, "dining"))

    async def user_keeps_spending() -> None:
        for n in range(30):
            await create(pool, user, "3.33", category="dining" if n % 2 else "groceries")

    async with consuming(pool, kafka_bootstrap_servers, kafka_topic, kafka_group_id):
        # meanwhile the API and other writers change the same two budgets
        await asyncio.gather(user_keeps_spending(), *(categorise(e) for e in extra))

        async def settled() -> bool:
            rows = {e.id: await row(pool, e.id) for e in pending}
            return all(r["state"] == "ENRICHED" for r in rows.values()) and all(
                rows[e.id]["category"] == "dining" for e in moved
            )

        await wait_until(settled, "every enrichment and move", within=90)
    moved = moved + extra_moved

    moved_ids = {e.id for e in moved}
    want_dining = sum((amounts[i] for i in moved_ids), Decimal(0)) + Decimal("3.33") * 15
    want_groceries = (
        sum((a for i, a in amounts.items() if i not in moved_ids), Decimal(0))
        + Decimal("3.33") * 15
    )
    assert await spent(pool, user, "dining") == want_dining
    assert await spent(pool, user, "groceries") == want_groceries
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT category, sum(amount) FROM expenses WHERE user_id = %s GROUP BY category",
            (user,),
        )
        sums: dict[str, Decimal] = dict(await cur.fetchall())
    assert sums == {"dining": want_dining, "groceries": want_groceries}


async def test_a_poison_message_goes_to_the_dlq_and_the_next_one_is_still_applied(
    pool: db.Pool,
    producer: EventProducer,
    kafka_bootstrap_servers: str,
    kafka_group_id: str,
) -> None:
    user = user_id("poison")
    expense = await create(pool, user, "2.00")
    poison_id = str(uuid.uuid4())
    await producer.send_raw_async(
        PARSED,
        user.encode(),
        b"\xff\xff\xff not protobuf",
        [
            (HEADER_EVENT_ID, poison_id.encode()),
            (HEADER_EVENT_TYPE, events_pb2.ExpenseEnriched.DESCRIPTOR.full_name.encode()),
            (HEADER_CONTENT_TYPE, CONTENT_TYPE.encode()),
        ],
        event_id=poison_id,
    )
    await send(producer, PARSED, enriched(expense, user, "dining"))

    async with consuming(pool, kafka_bootstrap_servers, PARSED, kafka_group_id):
        await wait_until(state_is(pool, expense.id, category="dining"), "the next message")

    dead = await read_topic(
        kafka_bootstrap_servers,
        dlq_topic(PARSED),
        {user},
        lambda evs: any(e.event_id == poison_id for e in evs),
        settle=0,
    )
    poisoned = [e for e in dead if e.event_id == poison_id]
    assert poisoned, "the poison message should be on expenses.parsed.dlq"
    for e in poisoned:  # the mesh's own expense_svc may have dead-lettered it as well
        assert e.value == b"\xff\xff\xff not protobuf"
        assert e.header("dlq-source-topic") == PARSED
        assert "PermanentError" in (e.header("dlq-error") or "")


async def test_enrichment_of_a_deleted_expense_is_skipped_not_dead_lettered(
    pool: db.Pool,
    producer: EventProducer,
    kafka_bootstrap_servers: str,
    kafka_topic: str,
    kafka_group_id: str,
) -> None:
    user = user_id("deleted")
    gone = await create(pool, user, "5.00")
    await expenses.delete_expense(pool, user, gone.id)
    later = await create(pool, user, "6.00")
    await send(producer, kafka_topic, enriched(gone, user, "dining"))
    await send(producer, kafka_topic, enriched(later, user, "dining"))
    async with consuming(pool, kafka_bootstrap_servers, kafka_topic, kafka_group_id):
        await wait_until(state_is(pool, later.id, category="dining"), "the later expense")
    dead = await read_topic(
        kafka_bootstrap_servers, dlq_topic(kafka_topic), {user}, lambda evs: False, within=3
    )
    assert dead == []


async def test_another_users_enrichment_never_touches_the_expense(pool: db.Pool) -> None:
    owner, intruder = user_id("owner"), user_id("intruder")
    expense = await create(pool, owner, "9.99")
    outcome = await apply_directly(pool, enriched(expense, intruder, "dining"))
    assert outcome is enrichment.Outcome.MISSING
    assert await row(pool, expense.id) == {
        "category": None,
        "source": None,
        "confidence": None,
        "merchant": "",
        "model": "",
        "why": "",
        "state": "PENDING",
        "version": 1,
    }


async def test_a_low_confidence_guess_is_kept_as_a_suggestion_and_counts_in_its_budget(
    pool: db.Pool,
) -> None:
    user = user_id("suggest")
    await budget(pool, user, "shopping")
    expense = await create(pool, user, "19.00")
    msg = enriched(
        expense, user, "shopping", source=expense_pb2.CATEGORY_SOURCE_SUGGESTED, confidence=0.41
    )
    assert await apply_directly(pool, msg) is enrichment.Outcome.APPLIED
    current = await row(pool, expense.id)
    assert (current["category"], current["source"], current["confidence"]) == (
        "shopping",
        "SUGGESTED",
        Decimal("0.4100"),
    )
    assert await spent(pool, user, "shopping") == Decimal("19.00")


async def test_a_failed_enrichment_marks_only_a_pending_expense_failed(pool: db.Pool) -> None:
    user = user_id("failed")
    pending = await create(pool, user, "3.00")
    users_own = await create(pool, user, "4.00", category="dining")
    enriched_before = await create(pool, user, "5.00")
    await apply_directly(pool, enriched(enriched_before, user, "transport"))

    def failed(e: expense_pb2.Expense) -> events_pb2.ExpenseEnriched:
        return events_pb2.ExpenseEnriched(
            event_id=str(uuid.uuid4()),
            user_id=user,
            expense_id=e.id,
            enrichment_state=expense_pb2.ENRICHMENT_STATE_FAILED,
            failure_reason="model unavailable",
        )

    assert await apply_directly(pool, failed(pending)) is enrichment.Outcome.APPLIED
    assert await apply_directly(pool, failed(users_own)) is enrichment.Outcome.APPLIED
    assert await apply_directly(pool, failed(enriched_before)) is enrichment.Outcome.UNCHANGED
    assert (await row(pool, pending.id))["state"] == "FAILED"
    assert (await row(pool, users_own.id))["state"] == "ENRICHED"
    assert (await row(pool, users_own.id))["category"] == "dining"
    assert (await row(pool, enriched_before.id))["state"] == "ENRICHED"
    assert (await row(pool, enriched_before.id))["category"] == "transport"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"event_id": "not-a-uuid"}, "not a UUID"),
        ({"expense_id": "nope"}, "not a UUID"),
        ({"category": ""}, "category is empty"),
        ({"category_source": expense_pb2.CATEGORY_SOURCE_USER}, "category_source"),
        ({"confidence": 1.5}, "between 0 and 1"),
        ({"enrichment_state": expense_pb2.ENRICHMENT_STATE_PENDING}, "enrichment_state"),
    ],
)
def test_malformed_enrichments_are_rejected_as_permanent(
    change: dict[str, object], problem: str
) -> None:
    msg = enriched(expense_pb2.Expense(id=str(uuid.uuid4())), "u1", "dining")
    for field, value in change.items():
        setattr(msg, field, value)
    with pytest.raises(enrichment.BadEnrichment, match=problem):
        enrichment.parse(None, msg)


async def test_an_unknown_category_is_rejected_and_changes_nothing(pool: db.Pool) -> None:
    user = user_id("unknowncat")
    expense = await create(pool, user, "1.50")
    msg = enriched(expense, user, "not_a_category_of_this_user")
    with pytest.raises(enrichment.BadEnrichment, match="not a category"):
        await apply_directly(pool, msg)
    assert (await row(pool, expense.id))["state"] == "PENDING"
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM processed_events")
        assert await cur.fetchone() == (0,)  # rolled back with the rest: may be retried


async def test_a_contended_budget_is_waited_out_not_dead_lettered(
    pool: db.Pool,
    producer: EventProducer,
    kafka_bootstrap_servers: str,
    kafka_topic: str,
    kafka_group_id: str,
) -> None:
    user = user_id("contended")
    await budget(pool, user, "dining")
    expense = await create(pool, user, "8.00")
    refusals = 0

    async def busy(point: str) -> None:  # the budget CAS gives up (ABORTED) twice
        nonlocal refusals
        if point == "spend.read" and refusals < 2:
            refusals += 1
            raise Aborted("budget too busy", reason="BUDGET_CONTENDED")

    await send(producer, kafka_topic, enriched(expense, user, "dining"))
    budgets.RACE_HOOK = busy
    try:
        runner = EnrichmentConsumer(
            pool,
            kafka_consumer(kafka_bootstrap_servers, group_id=kafka_group_id, topic=kafka_topic),
            max_attempts=1,  # the wrapper alone would dead-letter at the first failure
            max_wait_seconds=0.2,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        try:
            await wait_until(state_is(pool, expense.id, category="dining"), "the enrichment")
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
    finally:
        budgets.RACE_HOOK = None
    assert refusals == 2
    assert await spent(pool, user, "dining") == Decimal("8.00")
    dead = await read_topic(
        kafka_bootstrap_servers, dlq_topic(kafka_topic), {user}, lambda evs: False, within=3
    )
    assert dead == []


async def test_old_processed_event_ids_are_forgotten_and_recent_ones_kept(pool: db.Pool) -> None:
    user = user_id("purge")
    old, recent = await create(pool, user, "1.00"), await create(pool, user, "2.00")
    old_event = enriched(old, user, "dining")
    await apply_directly(pool, old_event)
    await apply_directly(pool, enriched(recent, user, "dining"))
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE processed_events SET processed_time = now() - interval '15 days'"
            " WHERE event_id = %s",
            (old_event.event_id,),
        )
    runner = EnrichmentConsumer(pool, kafka_consumer("127.0.0.1:1"))
    assert await runner.purge() == 1
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM processed_events")
        assert await cur.fetchone() == (1,)
