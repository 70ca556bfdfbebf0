"""Applying ml_svc's enrichment (``ExpenseEnriched`` on ``expenses.parsed``) to an expense.

No Kafka and no gRPC here: :func:`parse` validates an event, :func:`apply` makes its effect in
the caller's transaction. :mod:`expense_svc.consumer` feeds them from Kafka.

The rules, in order:

1. **Once per event.** The event id goes into ``processed_events`` in the same transaction as
   the effect; an event seen before changes nothing (delivery is at least once, and a later
   event may already have changed the expense: re-applying an old one would undo it).
2. **Unknown expense → skipped.** It may have been deleted since it was recorded; an expense
   of another user is never touched (the event's ``user_id`` must own it). The event is still
   recorded as processed.
3. **A failed enrichment** (``ENRICHMENT_STATE_FAILED``) marks a ``PENDING`` expense
   ``FAILED`` (``ENRICHED`` if the user already chose its category: ``expense.proto`` counts
   that as enriched) and changes nothing else; an expense enriched before stays as it is.
4. **The user's category wins.** When ``category_source`` is ``USER`` the category, its
   source, confidence, model version and explanation stay as the user left them; only an empty
   merchant is filled. The model's differing opinion is not stored: the schema has no column
   for it and ``Expense`` has no field to show it.
5. **Otherwise the event's category is applied** with its source (``MODEL``, ``RULE`` or
   ``SUGGESTED`` for a below-threshold guess kept for review), confidence, model version and
   explanation. A suggestion is stored in ``category`` like the others and counts towards the
   budget of that category: ``spent`` is by definition the sum of the debits whose category is
   the budget's, whoever chose it.
6. **Merchant**: filled when the expense has none; a merchant already set (typed by the user
   or from an earlier enrichment) is kept.
7. **Budgets**: when the category of a debit changes, the amount leaves the old category's
   budget and enters the new one (:func:`expense_svc.budgets.apply_spend_change`, under the
   month's advisory lock) in the same transaction.
8. **Watchers**: any change bumps ``version`` (so the etag changes) and ``update_time``, sets
   ``ENRICHED``, and puts an ``ExpenseChanged`` (the expense before and after, the changed
   fields) on ``expenses.raw`` through the outbox, as ``events.proto`` says expense_svc does
   for applied enrichment. It does not change the description, so ml_svc does not re-enrich.

Not done: ignoring enrichments of a superseded snapshot (``source_event_id``). That needs the
expense to remember the event id of its latest ``ExpenseRecorded``/``ExpenseChanged``
(a column such as ``enrichment_event_id``); until then, ml_svc's per-user partition order
means a newer snapshot's enrichment arrives after an older one's, and rule 1 stops a
redelivered old one from undoing a newer one.
"""

from __future__ import annotations

import enum
import logging
import math
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from google.protobuf import field_mask_pb2
from psycopg import AsyncConnection

from expense_svc import budgets, outbox
from expense_svc.convert import (
    EXPENSE_COLUMNS,
    MERCHANT_MAX_CHARS,
    ExpenseRow,
    expense_to_proto,
    row_to_expense_row,
)
from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh.taxonomy import CATEGORY_IDS

log = logging.getLogger(__name__)

#: ``processed_events.consumer`` of this consumer.
CONSUMER = "expense_svc.enrichment"
RAW_TOPIC = "expenses.raw"
EXPLANATION_MAX_CHARS = 500
MODEL_VERSION_MAX_CHARS = 100

_SOURCES: dict[int, str] = {
    expense_pb2.CATEGORY_SOURCE_MODEL: "MODEL",
    expense_pb2.CATEGORY_SOURCE_RULE: "RULE",
    expense_pb2.CATEGORY_SOURCE_SUGGESTED: "SUGGESTED",
}
#: The Expense fields an enrichment may change, for ``ExpenseChanged.changed_fields``.
_FIELDS = (
    "merchant",
    "category",
    "category_source",
    "category_confidence",
    "model_version",
    "category_explanation",
    "enrichment_state",
)

Conn = AsyncConnection[Any]


class BadEnrichment(ValueError):
    """The event can never be applied (malformed, or names an impossible category)."""


class Outcome(enum.Enum):
    APPLIED = "applied"  # the expense changed
    UNCHANGED = "unchanged"  # nothing to change (e.g. the same category again)
    DUPLICATE = "duplicate"  # this event was processed before
    MISSING = "missing"  # no such expense of this user (deleted)


@dataclass(frozen=True)
class Enrichment:
    """A validated ``ExpenseEnriched``."""

    event_id: uuid.UUID
    user_id: str
    expense_id: uuid.UUID
    failed: bool
    merchant: str
    category: str
    category_source: str  # MODEL | RULE | SUGGESTED (empty when failed)
    confidence: Decimal
    model_version: str
    explanation: str


def parse(event_id: str | None, msg: events_pb2.ExpenseEnriched) -> Enrichment:
    """Validate ``msg``; ``event_id`` is the ``event-id`` header (``msg.event_id`` if None).

    Raises :class:`BadEnrichment` for anything that retrying cannot fix.
    """
    raw_id = event_id or msg.event_id
    try:
        eid = uuid.UUID(raw_id)
    except ValueError:
        raise BadEnrichment(f"event id {raw_id[:60]!r} is not a UUID") from None
    try:
        expense_id = uuid.UUID(msg.expense_id)
    except ValueError:
        raise BadEnrichment(f"expense_id {msg.expense_id[:60]!r} is not a UUID") from None
    if not msg.user_id:
        raise BadEnrichment("user_id is empty")
    if msg.enrichment_state == expense_pb2.ENRICHMENT_STATE_FAILED:
        return Enrichment(eid, msg.user_id, expense_id, True, "", "", "", Decimal(0), "", "")
    if msg.enrichment_state != expense_pb2.ENRICHMENT_STATE_ENRICHED:
        raise BadEnrichment(
            f"enrichment_state {msg.enrichment_state} is neither ENRICHED nor FAILED"
        )
    source = _SOURCES.get(msg.category_source)
    if source is None:
        raise BadEnrichment(
            f"category_source {msg.category_source} is not MODEL, RULE or SUGGESTED"
        )
    if not msg.category:
        raise BadEnrichment("category is empty")
    confidence = float(msg.confidence)
    if math.isnan(confidence) or not 0.0 <= confidence <= 1.0:
        raise BadEnrichment(f"confidence {confidence} is not between 0 and 1")
    if "\x00" in msg.merchant + msg.explanation + msg.model_version + msg.category:
        raise BadEnrichment("text fields must not contain NUL characters")
    return Enrichment(
        event_id=eid,
        user_id=msg.user_id,
        expense_id=expense_id,
        failed=False,
        merchant=msg.merchant.strip()[:MERCHANT_MAX_CHARS],
        category=msg.category,
        category_source=source,
        # a float32 on the wire: four decimals is all numeric(5, 4) keeps
        confidence=Decimal(f"{confidence:.4f}"),
        model_version=msg.model_version[:MODEL_VERSION_MAX_CHARS],
        explanation=msg.explanation[:EXPLANATION_MAX_CHARS],
    )


async def apply(conn: Conn, e: Enrichment) -> Outcome:
    """Apply ``e`` inside the caller's open transaction (see the module's rules)."""
    cur = await conn.execute(
        "INSERT INTO processed_events (event_id, consumer) VALUES (%s, %s)"
        " ON CONFLICT (event_id) DO NOTHING",
        (e.event_id, CONSUMER),
    )
    if cur.rowcount == 0:
        return Outcome.DUPLICATE
    cur = await conn.execute(
        f"SELECT {EXPENSE_COLUMNS} FROM expenses WHERE id = %s AND user_id = %s FOR UPDATE",
        (e.expense_id, e.user_id),
    )
    fetched = await cur.fetchone()
    if fetched is None:
        log.info("enrichment %s: expense %s is gone; skipped", e.event_id, e.expense_id)
        return Outcome.MISSING
    old = row_to_expense_row(fetched)
    new = await _target(conn, old, e)
    if new == old:
        return Outcome.UNCHANGED
    cur = await conn.execute(
        "UPDATE expenses SET merchant = %s, category = %s, category_source = %s,"
        " category_confidence = %s, model_version = %s, category_explanation = %s,"
        " enrichment_state = %s, version = version + 1, update_time = now()"
        f" WHERE id = %s RETURNING {EXPENSE_COLUMNS}",
        (
            new.merchant,
            new.category,
            new.category_source,
            new.category_confidence,
            new.model_version,
            new.category_explanation,
            new.enrichment_state,
            e.expense_id,
        ),
    )
    updated = await cur.fetchone()
    assert updated is not None
    row = row_to_expense_row(updated)
    before, after = expense_to_proto(old), expense_to_proto(row)
    event = events_pb2.ExpenseChanged(
        user_id=row.user_id,
        expense=after,
        previous_expense=before,
        changed_fields=field_mask_pb2.FieldMask(
            paths=[f for f in _FIELDS if getattr(before, f) != getattr(after, f)]
        ),
        locale=row.locale,
    )
    event.occur_time.GetCurrentTime()
    await outbox.enqueue(conn, RAW_TOPIC, row.user_id, event)
    await _move_budget(conn, old, row)  # last: the budget row stays locked only until COMMIT
    return Outcome.APPLIED


async def purge_processed(conn: Conn, older_than_seconds: float) -> int:
    """Forget this consumer's processed event ids older than ``older_than_seconds``; returns
    how many. Keep them longer than Kafka could redeliver an event (topic retention)."""
    cur = await conn.execute(
        "DELETE FROM processed_events"
        " WHERE consumer = %s AND processed_time < now() - make_interval(secs => %s)",
        (CONSUMER, older_than_seconds),
    )
    return cur.rowcount


async def _target(conn: Conn, old: ExpenseRow, e: Enrichment) -> ExpenseRow:
    """What the expense becomes."""
    if e.failed:
        if old.enrichment_state != "PENDING":
            return old
        # A category the user chose counts as enriched (expense.proto); else it failed.
        return replace(
            old, enrichment_state="ENRICHED" if old.category_source == "USER" else "FAILED"
        )
    merchant = old.merchant or e.merchant
    if old.category_source == "USER":
        return replace(old, merchant=merchant, enrichment_state="ENRICHED")
    if not await _category_exists(conn, old.user_id, e.category):
        raise BadEnrichment(f"category {e.category[:70]!r} is not a category of this user")
    return replace(
        old,
        merchant=merchant,
        category=e.category,
        category_source=e.category_source,
        category_confidence=e.confidence,
        model_version=e.model_version,
        category_explanation=e.explanation,
        enrichment_state="ENRICHED",
    )


async def _category_exists(conn: Conn, user_id: str, category: str) -> bool:
    if category in CATEGORY_IDS:
        return True
    cur = await conn.execute(
        "SELECT 1 FROM user_categories WHERE user_id = %s AND id = %s", (user_id, category)
    )
    return await cur.fetchone() is not None


async def _move_budget(conn: Conn, old: ExpenseRow, new: ExpenseRow) -> None:
    """Move a debit's amount from the old category's budget to the new one's."""
    if old.category == new.category or new.direction != "DEBIT":
        return
    month = budgets.month_of(new.date)
    await budgets.lock_months(conn, new.user_id, [month])
    changes = [(old.category, -old.amount), (new.category, new.amount)]
    # in category order, as every writer does: two opposite moves never deadlock
    for category, delta in sorted(changes, key=lambda c: c[0] or ""):
        await budgets.apply_spend_change(
            conn,
            user_id=new.user_id,
            month=month,
            currency=new.currency,
            category=category,
            deltas=[(new.id, delta)],
        )
