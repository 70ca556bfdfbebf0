"""The transactional outbox: Kafka events written in the same transaction as the change.

:func:`enqueue` inserts one row into ``outbox`` and notifies the ``outbox`` channel in the same
statement; both take effect only when the caller's transaction commits (a rolled-back change
announces nothing). The relay (:mod:`expense_svc.relay`) publishes the rows in ``id`` order with the
contract's headers (``event-id``, ``event-type``, ``content-type``) and marks them published.
"""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf.message import Message
from psycopg import AsyncConnection

#: The channel the relay LISTENs on.
CHANNEL = "outbox"
#: Prefix of every outbox INSERT: the notification rides in the same statement (one round trip
#: less than a separate NOTIFY). Identical notifications in one transaction are folded into
#: one, delivered on commit.
_WAKE = f"WITH wake AS (SELECT pg_notify('{CHANNEL}', ''))"


async def enqueue(conn: AsyncConnection[Any], topic: str, key: str, message: Message) -> str:
    """Add ``message`` for ``topic`` (record key ``key``) to the outbox; return its event id.

    Call inside an open transaction. If the message has an ``event_id`` field it is the event
    id: left as is when set (deterministic ids, e.g. budget thresholds), filled with a fresh
    UUID when empty. The event type is the message's full name
    (``finance.events.v1.ExpenseRecorded``), the payload its binary serialization.
    """
    descriptor = message.DESCRIPTOR
    if "event_id" in descriptor.fields_by_name:
        event_id = str(getattr(message, "event_id", "")) or str(uuid.uuid4())
        setattr(message, "event_id", event_id)  # noqa: B010  (generated attribute)
    else:
        event_id = str(uuid.uuid4())
    await conn.execute(
        f"{_WAKE} INSERT INTO outbox (event_id, topic, key, event_type, payload)"
        " SELECT %s::uuid, %s, %s, %s, %s FROM wake",
        (event_id, topic, key, descriptor.full_name, message.SerializeToString()),
    )
    return event_id


async def enqueue_many(
    conn: AsyncConnection[Any], topic: str, items: list[tuple[str, Message]]
) -> list[str]:
    """:func:`enqueue` for many ``(key, message)`` pairs in one statement (imports); the rows
    keep the order of ``items``."""
    if not items:
        return []
    event_ids: list[str] = []
    keys: list[str] = []
    types: list[str] = []
    payloads: list[bytes] = []
    for key, message in items:
        event_id = str(getattr(message, "event_id", "")) or str(uuid.uuid4())
        if "event_id" in message.DESCRIPTOR.fields_by_name:
            setattr(message, "event_id", event_id)  # noqa: B010  (generated attribute)
        event_ids.append(event_id)
        keys.append(key)
        types.append(message.DESCRIPTOR.full_name)
        payloads.append(message.SerializeToString())
    # binary arrays (%b): in text format every payload would be hex-escaped and quoted
    await conn.execute(
        f"{_WAKE} INSERT INTO outbox (event_id, topic, key, event_type, payload)"
        " SELECT e::uuid, %s, k, t, p FROM wake, unnest(%b::text[], %b::text[], %b::text[],"
        " %b::bytea[]) WITH ORDINALITY AS u(e, k, t, p, n) ORDER BY n",
        (topic, event_ids, keys, types, payloads),
    )
    return event_ids
