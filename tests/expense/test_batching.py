"""Group commit of concurrent creates (:mod:`expense_svc.batching`).

The batcher alone (no database): batches form from what arrives while a key's batch is in
flight, one batch per key at a time, idempotency keys never share a batch, a failed batch is
retried request by request, callers that gave up are dropped; under load a batch lingers for
the requests on their way, a lone request never does. Then through the real
PostgreSQL: batched creates of two replicas keep every budget exact and raise each threshold
once, naming the expense that crossed it; without the CAS the same storm loses updates (the
batcher serialises one user's creates only within a replica); one bad request in a batch fails
alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Iterator, Sequence
from decimal import Decimal

import pytest

from expense_svc import budgets, expenses
from expense_svc.batching import Batcher
from expense_svc.convert import ExpenseDraft
from expense_svc.idempotency import IdempotencyKey
from expense_svc.money import to_decimal
from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh.db import Pool
from finmesh.errors import InvalidArgument

MONTH = "2026-05"


class Recorder:
    """A ``run`` for the batcher that records its batches and how many ran at once."""

    def __init__(self, *, fail_on: str | None = None, delay: float = 0.01) -> None:
        self.batches: list[tuple[str, list[str]]] = []
        self.running: dict[str, int] = {}
        self.max_running: dict[str, int] = {}
        self.max_total = 0  # batches of any keys running at once
        self.fail_on = fail_on
        self.delay = delay
        self.started = asyncio.Event()  # set whenever a batch starts

    async def __call__(self, key: str, items: Sequence[str]) -> list[str]:
        self.batches.append((key, list(items)))
        self.running[key] = self.running.get(key, 0) + 1
        self.max_running[key] = max(self.max_running.get(key, 0), self.running[key])
        self.max_total = max(self.max_total, sum(self.running.values()))
        self.started.set()
        try:
            await asyncio.sleep(self.delay)
            if self.fail_on is not None and self.fail_on in items:
                raise InvalidArgument(f"bad item {self.fail_on}")
            return [f"done {item}" for item in items]
        finally:
            self.running[key] -= 1


async def test_a_lone_request_runs_at_once_and_later_ones_share_the_next_batch() -> None:
    run = Recorder()
    batcher: Batcher[str, str, str] = Batcher(run, name="test")
    first = asyncio.ensure_future(batcher.submit("u", "a"))
    await asyncio.sleep(0)  # "a" is in flight alone
    rest = [asyncio.ensure_future(batcher.submit("u", x)) for x in "bcdef"]
    results = await asyncio.gather(first, *rest)
    assert results == [f"done {x}" for x in "abcdef"]
    assert run.batches == [("u", ["a"]), ("u", list("bcdef"))]
    assert run.max_running == {"u": 1}


async def test_keys_batch_apart_and_run_in_parallel() -> None:
    run = Recorder()
    batcher: Batcher[str, str, str] = Batcher(run, name="test")
    await asyncio.gather(*(batcher.submit(k, f"{k}{i}") for i in range(3) for k in ("u", "v")))
    assert {k for k, _ in run.batches} == {"u", "v"}
    assert all(item.startswith(key) for key, items in run.batches for item in items)
    assert run.max_total == 2  # a "u" batch and a "v" batch ran at the same time
    assert run.max_running == {"u": 1, "v": 1}


async def test_a_batch_never_exceeds_max_batch() -> None:
    run = Recorder()
    batcher: Batcher[str, str, str] = Batcher(run, name="test", max_batch=4)
    await asyncio.gather(*(batcher.submit("u", str(i)) for i in range(11)))
    assert [len(items) for _, items in run.batches] == [4, 4, 3]
    assert [i for _, items in run.batches for i in items] == [str(i) for i in range(11)]


async def test_requests_with_one_conflict_key_never_share_a_batch() -> None:
    run = Recorder()
    batcher: Batcher[str, str, str] = Batcher(run, name="test", conflict_key=lambda item: item[0])
    items = ["k1", "k2", "j1", "k3", "x1"]
    results = await asyncio.gather(*(batcher.submit("u", i) for i in items))
    assert results == [f"done {i}" for i in items]
    for _, batch in run.batches:
        assert len({i[0] for i in batch}) == len(batch)
    assert run.batches[0][1] == ["k1", "j1", "x1"]  # k2 and k3 held back, in order
    assert [b for _, b in run.batches[1:]] == [["k2"], ["k3"]]


async def test_a_failed_batch_is_retried_request_by_request() -> None:
    run = Recorder(fail_on="bad")
    batcher: Batcher[str, str, str] = Batcher(run, name="test")
    results = await asyncio.gather(
        *(batcher.submit("u", i) for i in ("a", "bad", "c")), return_exceptions=True
    )
    assert results[0] == "done a" and results[2] == "done c"
    assert isinstance(results[1], InvalidArgument)
    assert run.batches == [("u", ["a", "bad", "c"]), ("u", ["a"]), ("u", ["bad"]), ("u", ["c"])]


async def test_a_caller_that_gave_up_before_its_batch_is_dropped() -> None:
    run = Recorder(delay=0.05)
    batcher: Batcher[str, str, str] = Batcher(run, name="test")
    first = asyncio.ensure_future(batcher.submit("u", "a"))
    await asyncio.sleep(0)
    gone = asyncio.ensure_future(batcher.submit("u", "gone"))
    kept = asyncio.ensure_future(batcher.submit("u", "kept"))
    await asyncio.sleep(0)
    gone.cancel()
    assert await first == "done a" and await kept == "done kept"
    assert run.batches == [("u", ["a"]), ("u", ["kept"])]
    # the key's queue is gone once drained: a later request starts a batch of its own
    assert await batcher.submit("u", "later") == "done later"
    assert run.batches[-1] == ("u", ["later"])


async def test_aclose_waits_for_the_batches_in_flight_even_when_their_callers_left() -> None:
    run = Recorder(delay=0.05)
    batcher: Batcher[str, str, str] = Batcher(run, name="test")
    calls = [asyncio.ensure_future(batcher.submit(u, f"{u}{n}")) for u in "uv" for n in range(3)]
    while sum(run.running.values()) < 2:  # until both keys' first batches are running
        run.started.clear()
        await run.started.wait()
    for call in calls:
        call.cancel()  # as the server does to its calls when the grace period ends
    await asyncio.wait_for(batcher.aclose(), 5)
    assert not any(run.running.values())
    ran = sorted(item for _key, items in run.batches for item in items)
    assert ran[:1] == ["u0"] and "v0" in ran  # the batches under way ran to their end
    assert not batcher._tasks


# -- through PostgreSQL ------------------------------------------------------------------------


@pytest.fixture
def widened_race() -> Iterator[None]:
    """A pause between reading and writing a budget's ``spent`` (so a missing CAS shows);
    the production switches restored afterwards."""

    async def widen(point: str) -> None:
        await asyncio.sleep(0.003)

    budgets.RACE_HOOK = widen
    yield
    budgets.USE_CAS = True
    budgets.RACE_HOOK = None


def _replicas(pool: Pool, n: int) -> list[Batcher[str, expenses.NewExpense, expense_pb2.Expense]]:
    """What ``n`` expense_svc replicas would run: a batcher each, one database."""
    return [
        Batcher(
            lambda user, news: expenses.create_expenses(pool, user, news),
            name="test-replica",
            conflict_key=lambda new: new.idem.key if new.idem is not None else None,
        )
        for _ in range(n)
    ]


def _draft(amount: Decimal, category: str | None = "groceries", day: int = 14) -> ExpenseDraft:
    return ExpenseDraft(
        amount=amount,
        currency="GBP",
        direction="DEBIT",
        description="batched",
        merchant="",
        category=category,
        date=dt.date(2026, 5, day),
    )


async def _storm(pool: Pool, user: str, creates: int = 200) -> Decimal:
    """``creates`` concurrent creates into one budget (limit 100) through two replicas;
    returns their total."""
    await budgets.update_budget(
        pool, user, MONTH, "groceries", limit=(Decimal(100), "GBP"), rollover=False
    )
    rng = random.Random(3)
    amounts = [Decimal(rng.randint(50, 150)) / 100 for _ in range(creates)]
    replicas = _replicas(pool, 2)
    await asyncio.gather(
        *(
            replicas[i % 2].submit(user, expenses.NewExpense(_draft(a)))
            for i, a in enumerate(amounts)
        )
    )
    return sum(amounts, Decimal(0))


async def test_batched_creates_of_two_replicas_keep_the_budget_exact(
    expense_pool: Pool, widened_race: None
) -> None:
    user = "batch-storm"
    total = await _storm(expense_pool, user)
    assert (await budgets.get_budget(expense_pool, user, MONTH, "groceries")).spent == total
    async with expense_pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*), count(DISTINCT create_time) FROM expenses WHERE user_id = %s",
            (user,),
        )
        row = await cur.fetchone()
        assert row is not None
        count, transactions = row
        assert count == 200
        assert transactions < 100, "the creates were not batched"
        cur = await conn.execute(
            "SELECT payload FROM outbox WHERE topic = 'insights.events' AND key = %s", (user,)
        )
        payloads = [bytes(r[0]) for r in await cur.fetchall()]
    alerts = [events_pb2.InsightRaised.FromString(p).budget_threshold_crossed for p in payloads]
    assert sorted(a.threshold_percent for a in alerts) == [50, 80, 100]
    # each names the expense whose amount took spent across the threshold
    for alert in alerts:
        got = await expenses.get_expense(expense_pool, user, alert.expense_id)
        spent_after = to_decimal(alert.spent)
        before = spent_after - to_decimal(got.amount)
        assert before < alert.threshold_percent <= spent_after  # limit 100: percent = pounds


async def test_without_the_cas_batched_replicas_lose_updates(
    expense_pool: Pool, widened_race: None
) -> None:
    budgets.USE_CAS = False
    user = "batch-storm-no-cas"
    total = await _storm(expense_pool, user)
    spent = (await budgets.get_budget(expense_pool, user, MONTH, "groceries")).spent
    assert spent != total, "no update was lost without the CAS: the test cannot see it"


async def test_one_bad_request_in_a_batch_fails_alone(expense_pool: Pool) -> None:
    user = "batch-one-bad"
    (replica,) = _replicas(expense_pool, 1)
    key = IdempotencyKey(key="k-1", method="CreateExpense", request_hash=b"one")
    first = asyncio.ensure_future(replica.submit(user, expenses.NewExpense(_draft(Decimal(1)))))
    await asyncio.sleep(0)
    news = [
        expenses.NewExpense(_draft(Decimal(2))),
        expenses.NewExpense(_draft(Decimal(3), category="no-such-category")),
        expenses.NewExpense(_draft(Decimal(4)), idem=key),
        expenses.NewExpense(_draft(Decimal(4)), idem=key),  # same key: the next batch, replay
    ]
    results = await asyncio.gather(
        first, *(replica.submit(user, n) for n in news), return_exceptions=True
    )
    assert isinstance(results[2], InvalidArgument)
    assert "no-such-category" in results[2].message
    ok = [r for i, r in enumerate(results) if i != 2]
    assert all(isinstance(r, expense_pb2.Expense) for r in ok)
    assert results[3] == results[4]  # the replay is the original expense
    async with expense_pool.connection() as conn:
        cur = await conn.execute(
            "SELECT amount FROM expenses WHERE user_id = %s ORDER BY amount", (user,)
        )
        assert [r[0] for r in await cur.fetchall()] == [1, 2, 4]


async def test_under_load_a_batch_lingers_for_the_requests_on_their_way() -> None:
    run = Recorder()
    hold = asyncio.Event()

    async def run_held(key: str, items: Sequence[str]) -> list[str]:
        if key == "busy":  # another user's requests, in flight until released
            await hold.wait()
        return await run(key, items)

    batcher: Batcher[str, str, str] = Batcher(
        run_held, name="test", linger_seconds=0.3, linger_siblings=2
    )
    busy = [asyncio.ensure_future(batcher.submit("busy", x)) for x in ("b1", "b2")]
    await asyncio.sleep(0.05)
    first = asyncio.ensure_future(batcher.submit("u", "a"))
    await asyncio.sleep(0.1)  # within the linger: "a" has not gone alone
    rest = [asyncio.ensure_future(batcher.submit("u", x)) for x in "bc"]
    assert await asyncio.gather(first, *rest) == ["done a", "done b", "done c"]
    assert ("u", ["a", "b", "c"]) in run.batches
    hold.set()
    await asyncio.gather(*busy)


async def test_without_load_a_lone_request_never_lingers() -> None:
    run = Recorder()
    # a linger far longer than the test may take: it must not apply to a lone request
    batcher: Batcher[str, str, str] = Batcher(
        run, name="test", linger_seconds=60, linger_siblings=1
    )
    assert await asyncio.wait_for(batcher.submit("u", "a"), 10) == "done a"
    assert run.batches == [("u", ["a"])]
