"""Group commit: the requests of one key (a user) that arrive while that key's previous
transaction is in flight are committed together, in one transaction.

A transaction costs its round trips, a WAL flush and, for a budget everyone writes, its turn
on the budget row, whatever it carries. Under load most of a create's cost is that overhead,
not the row it inserts; a batch pays it once (``make bench``: hot single-budget creates). With
at most one batch in flight per key in a process, one user's concurrent creates never contend
for their budget rows within a replica; the advisory lock and the version CAS
(:mod:`expense_svc.budgets`) still keep ``spent`` exact against everything else that writes
concurrently: other replicas, updates, deletes, enrichment, budget edits.

* A lone request is a batch of one and starts at once: no timer, no added latency.
* Under load (at least :attr:`Batcher.linger_siblings` other requests in flight, of any key),
  a batch waits :attr:`Batcher.linger_seconds` (a few milliseconds) before it is cut, so that
  the requests arriving meanwhile share it: PostgreSQL's ``commit_delay``/``commit_siblings``
  for our transactions. A busy server's event loop hands requests to their handlers a few at
  a time, so without it one user's batches stayed at 1-3 requests, each paying a whole
  transaction (A/B in one session, 4 users x 8 in flight: 389 -> 529-622 creates/s direct,
  302 -> 436 through Envoy).
* A batch takes at most :attr:`Batcher.max_batch` requests, in arrival order, and never two
  with the same ``conflict_key`` (two creates with one idempotency key must see each other
  committed); a held-back request goes into the next batch.
* When a batch fails, nothing of it was committed (one transaction), and its requests are run
  again one by one, so each caller gets its own result or its own error, exactly as if there
  were no batching: one unknown category or reused idempotency key fails only its request.
* A caller that gives up (cancelled, deadline) before its batch starts is dropped from the
  queue; once its batch has started, the batch goes on without it (as a transaction already
  sent to PostgreSQL would).
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import prometheus_client

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
R = TypeVar("R")

#: Enough to amortise a transaction's cost; small enough that one batch's transaction stays
#: short (its locks are held until it commits).
MAX_BATCH = 64
#: How long a batch waits for company when the server is busy, and what counts as busy.
LINGER_SECONDS = 0.004
LINGER_SIBLINGS = 4

BATCH_SIZE = prometheus_client.Histogram(
    "finmesh_expense_batch_size",
    "Requests committed together in one group-commit batch",
    ["batcher"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


@dataclass
class _Pending(Generic[T, R]):
    item: T
    future: asyncio.Future[R]


class Batcher(Generic[K, T, R]):
    """Runs ``run(key, items) -> results`` (one result per item, in order; one transaction)
    over batches of the items submitted for one key, at most one batch per key at a time."""

    def __init__(
        self,
        run: Callable[[K, Sequence[T]], Awaitable[Sequence[R]]],
        *,
        name: str,
        conflict_key: Callable[[T], Hashable | None] = lambda item: None,
        max_batch: int = MAX_BATCH,
        linger_seconds: float = LINGER_SECONDS,
        linger_siblings: int = LINGER_SIBLINGS,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.max_batch = max_batch
        self.linger_seconds = linger_seconds
        self.linger_siblings = linger_siblings
        #: Requests submitted and not yet answered, of every key.
        self.in_flight = 0
        self._sizes = BATCH_SIZE.labels(name)
        self._run = run
        self._conflict_key = conflict_key
        self._queues: dict[K, collections.deque[_Pending[T, R]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, key: K, item: T) -> R:
        """``item``'s result, once the batch it went into has committed."""
        loop = asyncio.get_running_loop()
        pending: _Pending[T, R] = _Pending(item, loop.create_future())
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = collections.deque()
            # a context of its own: the batch serves many requests, not the first one's
            task = loop.create_task(self._drain(key, queue), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.append(pending)
        self.in_flight += 1
        try:
            return await pending.future
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        """Wait until every batch queued so far has run (its requests answered). Call once
        no more requests come (the server has stopped), before closing what ``run`` uses:
        a batch whose callers were cancelled at shutdown still commits or rolls back whole,
        instead of failing half-way on a closed pool."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _drain(self, key: K, queue: collections.deque[_Pending[T, R]]) -> None:
        try:
            while queue:
                if self._busy(queue):
                    await asyncio.sleep(self.linger_seconds)
                batch = self._take(queue)
                if batch:
                    self._sizes.observe(len(batch))
                    await self._commit(key, batch)
        finally:
            # No await between the loop's last check and here: a request submitted from now
            # on finds no queue and starts a new drain.
            del self._queues[key]
            for pending in queue:  # only when cancelled (the server is stopping)
                pending.future.cancel()

    def _busy(self, queue: collections.deque[_Pending[T, R]]) -> bool:
        """Whether the next batch of ``queue`` should linger: room left in it, and enough
        other requests in flight that more of this key's are likely on their way."""
        return (
            self.linger_seconds > 0
            and len(queue) < self.max_batch
            and self.in_flight - len(queue) >= self.linger_siblings
        )

    def _take(self, queue: collections.deque[_Pending[T, R]]) -> list[_Pending[T, R]]:
        batch: list[_Pending[T, R]] = []
        held: list[_Pending[T, R]] = []
        seen: set[Hashable] = set()
        while queue and len(batch) < self.max_batch:
            pending = queue.popleft()
            if pending.future.done():  # the caller gave up
                continue
            conflict = self._conflict_key(pending.item)
            if conflict is not None:
                if conflict in seen:
                    held.append(pending)
                    continue
                seen.add(conflict)
            batch.append(pending)
        queue.extendleft(reversed(held))
        return batch

    async def _commit(self, key: K, batch: list[_Pending[T, R]]) -> None:
        try:
            try:
                results = await self._run(key, [p.item for p in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0], exc)
                    return
                log.debug("a batch of %d failed (%s); running its requests alone", len(batch), exc)
                for pending in batch:
                    if not pending.future.done():
                        await self._commit(key, [pending])
                return
            for pending, result in zip(batch, results, strict=True):
                if not pending.future.done():
                    pending.future.set_result(result)
        except BaseException:
            for pending in batch:
                pending.future.cancel()
            raise


def _fail(pending: _Pending[T, R], exc: Exception) -> None:
    if not pending.future.done():
        pending.future.set_exception(exc)
