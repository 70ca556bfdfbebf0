"""The Kafka consumer that keeps insight_svc's projection and insights up to date.

One consumer group (``insight_svc``; replicas share the work by partition) reads:

* ``expenses.raw``: ``ExpenseRecorded``/``ExpenseChanged``/``ExpenseDeleted`` → the projection.
  Each event is deduplicated on its event id (``processed_events``, in the same transaction as
  its effect) and applied only if its snapshot is newer than the stored one (the expense's
  ``update_time``; a deletion's ``occur_time``), so redelivered, duplicated and out-of-order
  events converge to the latest state.
* ``expenses.parsed``: ``ExpenseEnriched`` → ml_svc's merchant and category, used while
  expense_svc has not applied them (never over a user's own category); newest wins.
* ``insights.events``: ``InsightRaised`` → a stored insight, one per user and dedupe key (a
  unique constraint), however often the event arrives.

After expense events, the detectors look at each expense (unusual spending, duplicate charge)
and at its payee's series (new recurring payment, price rise). What they find is *produced* to
``insights.events`` as ``InsightRaised`` with a deterministic event id, waited for, and only
then is the source offset stored. The same consumer stores those events, and every replica's
watch feed streams them (watch.py). Detection runs again when an event is redelivered (even
if the projection had already applied it) so a crash between commit and produce loses nothing;
keys already stored are not produced again.

Events are handled in batches of up to 200 in one transaction (a batch that fails is retried
event by event, so only a poison event is dead-lettered), and the detectors run once
per batch and user, over the expenses the batch touched that are dated within the last
:data:`DETECTION_WINDOW_DAYS` days, reading each category's history and each payee's series
(bounded) once. A 10,000-line statement import is therefore a few hundred queries, not tens of
thousands.

Other event types on these topics are skipped. An event that cannot be decoded or applied goes
to ``<topic>.dlq`` (``finmesh.kafka.EventConsumer``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

from google.protobuf import timestamp_pb2
from google.protobuf.message import DecodeError, Message

from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh import db
from finmesh.kafka import Event, EventProducer, PermanentError
from insight_svc import detect, insights, recurring, repository
from insight_svc.model import DEBIT, Txn, to_money, utc_today

log = logging.getLogger(__name__)

RAW_TOPIC = "expenses.raw"
PARSED_TOPIC = "expenses.parsed"
INSIGHTS_TOPIC = "insights.events"
TOPICS = (RAW_TOPIC, PARSED_TOPIC, INSIGHTS_TOPIC)
CONSUMER = "insight_svc.projection"
#: Only expenses dated this recently are run through the detectors.
DETECTION_WINDOW_DAYS = 120
#: How far back a payee's series is read for recurring and duplicate detection, and at most
#: how many of its most recent expenses.
SERIES_HISTORY_DAYS = 3 * 366
SERIES_MAX_ROWS = 400

_RECORDED = events_pb2.ExpenseRecorded.DESCRIPTOR.full_name
_CHANGED = events_pb2.ExpenseChanged.DESCRIPTOR.full_name
_DELETED = events_pb2.ExpenseDeleted.DESCRIPTOR.full_name
_ENRICHED = events_pb2.ExpenseEnriched.DESCRIPTOR.full_name
_RAISED = events_pb2.InsightRaised.DESCRIPTOR.full_name


def _time(ts: timestamp_pb2.Timestamp) -> dt.datetime | None:
    return ts.ToDatetime(dt.UTC) if ts.seconds or ts.nanos else None


def _user(event: Event, message: Message) -> str:
    user_id: str = getattr(message, "user_id", "")
    if not user_id:
        raise PermanentError(f"{event.event_type} {event.event_id} names no user")
    if event.key is not None and event.key != user_id:
        raise PermanentError(
            f"{event.event_type} {event.event_id}: record key {event.key!r} is not its user"
        )
    return user_id


def _target(event: Event) -> tuple[str, str] | None:
    """(user, expense id) an event writes, if it writes one; None for anything else
    (including undecodable events, which fail later with a proper error)."""
    try:
        if event.event_type == _RECORDED:
            r = events_pb2.ExpenseRecorded.FromString(event.value)
            return (r.user_id, r.expense.id)
        if event.event_type == _CHANGED:
            c = events_pb2.ExpenseChanged.FromString(event.value)
            return (c.user_id, c.expense.id)
        if event.event_type == _DELETED:
            d = events_pb2.ExpenseDeleted.FromString(event.value)
            return (d.user_id, d.expense_id or d.expense.id)
        if event.event_type == _ENRICHED:
            n = events_pb2.ExpenseEnriched.FromString(event.value)
            return (n.user_id, n.expense_id)
    except DecodeError:
        return None
    return None


class Projector:
    """Applies events (``handle`` one, ``handle_batch`` many) and runs the detectors."""

    def __init__(
        self,
        pool: db.Pool,
        producer: EventProducer,
        *,
        today: Callable[[], dt.date] = utc_today,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._today = today

    async def handle(self, event: Event) -> None:
        await self.handle_batch([event])

    async def handle_batch(self, events: Sequence[Event]) -> None:
        """Apply every event in one transaction, then run the detectors once per user over
        what changed. The per-expense locks of the whole batch are taken first, in key order,
        so two replicas working on overlapping expenses (a snapshot on one, its enrichment on
        the other) wait for each other instead of deadlocking."""
        touched: dict[str, set[str]] = defaultdict(set)
        async with self._pool.connection() as conn, conn.transaction():
            await repository.lock_expenses(conn, [t for e in events if (t := _target(e))])
            for event in events:
                await self._apply_event(conn, event, touched)
        for user_id, expense_ids in touched.items():
            await self.detect(user_id, expense_ids)

    async def _apply_event(
        self, conn: repository.Conn, event: Event, touched: dict[str, set[str]]
    ) -> None:
        kind = event.event_type
        if kind in (_RECORDED, _CHANGED):
            msg: events_pb2.ExpenseRecorded | events_pb2.ExpenseChanged = (
                event.decode(events_pb2.ExpenseRecorded)
                if kind == _RECORDED
                else event.decode(events_pb2.ExpenseChanged)
            )
            user_id = _user(event, msg)
            version = _time(msg.expense.update_time) or _time(msg.occur_time)
            if version is None:
                raise PermanentError(f"{kind} {event.event_id} carries no time")
            await self._apply(conn, event, user_id, msg.expense, version, deleted=False)
            touched[user_id].add(msg.expense.id)
        elif kind == _DELETED:
            deleted = event.decode(events_pb2.ExpenseDeleted)
            user_id = _user(event, deleted)
            expense = expense_pb2.Expense()
            expense.CopyFrom(deleted.expense)
            expense.id = deleted.expense_id or expense.id
            version = _time(deleted.occur_time) or _time(expense.update_time)
            if version is None:
                raise PermanentError(f"{kind} {event.event_id} carries no time")
            await self._apply(conn, event, user_id, expense, version, deleted=True)
        elif kind == _ENRICHED:
            enriched = event.decode(events_pb2.ExpenseEnriched)
            user_id = _user(event, enriched)
            await self._enrich(conn, event, user_id, enriched)
            touched[user_id].add(enriched.expense_id)
        elif kind == _RAISED:
            raised = event.decode(events_pb2.InsightRaised)
            await self._store_insight(conn, event, raised)
        else:
            log.debug("skipping %s on %s", kind, event.topic)

    async def _apply(
        self,
        conn: repository.Conn,
        event: Event,
        user_id: str,
        expense: expense_pb2.Expense,
        version: dt.datetime,
        *,
        deleted: bool,
    ) -> None:
        event_id = event.event_id or f"{event.topic}:{event.partition}:{event.offset}"
        try:
            # A redelivered event changes nothing (detection still runs, see the module doc).
            if await repository.mark_processed(conn, event_id, CONSUMER):
                if deleted and not expense.HasField("date"):
                    await repository.mark_deleted(conn, user_id, expense.id, version, locked=True)
                else:
                    await repository.apply_expense(
                        conn, user_id, expense, version, deleted=deleted, locked=True
                    )
        except repository.BadExpenseEvent as exc:
            raise PermanentError(str(exc)) from exc

    async def _enrich(
        self,
        conn: repository.Conn,
        event: Event,
        user_id: str,
        enriched: events_pb2.ExpenseEnriched,
    ) -> None:
        if not enriched.expense_id:
            raise PermanentError(f"ExpenseEnriched {event.event_id} names no expense")
        occur = _time(enriched.occur_time) or dt.datetime.now(dt.UTC)
        enr = repository.Enrichment(enriched.merchant, enriched.category, enriched.enrichment_state)
        event_id = (
            event.event_id or enriched.event_id or f"{event.topic}:{event.partition}:{event.offset}"
        )
        if await repository.mark_processed(conn, event_id, CONSUMER):
            await repository.apply_enrichment(
                conn, user_id, enriched.expense_id, enr, occur, event_id, locked=True
            )

    async def _store_insight(
        self, conn: repository.Conn, event: Event, raised: events_pb2.InsightRaised
    ) -> None:
        _user(event, raised)
        try:
            stored = insights.to_insight(raised)
        except insights.BadInsightEvent as exc:
            raise PermanentError(f"InsightRaised {event.event_id}: {exc}") from exc
        if await repository.insert_insight(conn, stored, raised.event_id or event.event_id or ""):
            log.info("stored insight %s (%s)", stored.dedupe_key, stored.type_name)

    # -- detection ---------------------------------------------------------------------------

    async def detect(
        self, user_id: str, expense_ids: set[str] | Sequence[str]
    ) -> list[events_pb2.InsightRaised]:
        """Run the detectors for some of a user's expenses; produce (and wait for) the new
        insights. Only expenses dated within :data:`DETECTION_WINDOW_DAYS` of today are
        looked at: alerts about old history (an imported statement from years ago) are not
        actionable. Each category's history and each payee's series are read once."""
        now = dt.datetime.now(dt.UTC)
        today = self._today()
        since = today - dt.timedelta(days=DETECTION_WINDOW_DAYS)
        found: list[events_pb2.InsightRaised] = []
        async with self._pool.connection() as conn:
            recent = [
                t
                for t in await repository.txns_by_ids(conn, user_id, sorted(expense_ids))
                if t.date >= since
            ]
            by_category: dict[tuple[str, str], list[Txn]] = defaultdict(list)
            by_key: dict[str, list[Txn]] = defaultdict(list)
            for t in recent:
                if t.is_debit and t.category:
                    by_category[(t.category, t.currency)].append(t)
                if t.key:
                    by_key[t.key].append(t)
            for (category, currency), group in sorted(by_category.items()):
                history = await repository.txns_in_category(
                    conn,
                    user_id,
                    category,
                    currency,
                    min(t.date for t in group) - dt.timedelta(days=detect.BASELINE_DAYS),
                    max(t.date for t in group),
                )
                for t in group:
                    base = detect.unusual(t, history)
                    if base is not None:
                        found.append(
                            insights.unusual_spend(
                                user_id,
                                now,
                                expense_id=t.id,
                                day=t.date,
                                category=t.category,
                                merchant=t.merchant,
                                amount=to_money(t.amount, t.currency),
                                typical=to_money(base.median, t.currency),
                            )
                        )
            for key, group in sorted(by_key.items()):
                same = await repository.txns_by_key(
                    conn,
                    user_id,
                    key,
                    since=today - dt.timedelta(days=SERIES_HISTORY_DAYS),
                    limit=SERIES_MAX_ROWS,
                )
                found += self._payee_insights(user_id, now, today, group, same)
            keys = [insights.dedupe_key(r) for r in found]
            existing = await repository.existing_keys(conn, user_id, keys)
        new: dict[str, events_pb2.InsightRaised] = {}
        for r, k in zip(found, keys, strict=True):
            if k not in existing:
                new.setdefault(k, r)
        if new:
            await asyncio.gather(
                *(
                    self._producer.produce_and_wait(INSIGHTS_TOPIC, user_id, r, event_id=r.event_id)
                    for r in new.values()
                )
            )
        return list(new.values())

    def _payee_insights(
        self,
        user_id: str,
        now: dt.datetime,
        today: dt.date,
        changed: Sequence[Txn],
        same: list[Txn],
    ) -> list[events_pb2.InsightRaised]:
        found: list[events_pb2.InsightRaised] = []
        for t in changed:
            dups = detect.duplicates(t, same)
            if dups:
                found.append(
                    insights.duplicate_charge(
                        user_id,
                        now,
                        expense_ids=[d.id for d in dups],
                        day=dups[-1].date,
                        category=t.category,
                        merchant=t.merchant or t.key.title(),
                        amount=to_money(t.amount, t.currency),
                    )
                )
        for s in recurring.detect(user_id, same, today):
            if s.direction != DEBIT or s.status is recurring.Status.STOPPED:
                continue
            found.append(insights.new_subscription(user_id, now, s))
            change = s.price_change
            if change is not None and change.new_amount > change.previous_amount:
                found.append(insights.price_rise(user_id, now, s))
        return found
