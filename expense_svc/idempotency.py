"""Idempotent creation (AIP-155): a request id, stored in the same transaction as its effect.

Within the caller's transaction, :func:`claim` inserts ``(user, key)`` with the hash of the
canonical request. The primary key does the rest:

* no row yet: the insert succeeds, the caller does the work and calls :func:`store` with the
  response bytes before committing;
* a committed row with the same hash: the stored response is returned for replay, byte for
  byte; with another hash (or another method): INVALID_ARGUMENT ``IDEMPOTENCY_KEY_REUSED``;
* a row being written by a transaction still in flight: the insert waits for it (PostgreSQL
  blocks on the conflicting key) and then sees the committed row, or takes over if that
  transaction rolled back. If the wait exceeds :data:`WAIT_SECONDS`, ABORTED (409, retry).

Keys are scoped per user: two users may use the same key independently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, errors

from finmesh.errors import Aborted, InvalidArgument

WAIT_SECONDS = 10


@dataclass(frozen=True)
class IdempotencyKey:
    """A request's idempotency key and the hash of its canonical payload."""

    key: str
    method: str
    request_hash: bytes


async def claim(conn: AsyncConnection[Any], user_id: str, idem: IdempotencyKey) -> bytes | None:
    """Claim ``idem.key`` for this transaction. ``None``: claimed, go ahead (and call
    :func:`store`). Bytes: the original response to replay."""
    await conn.execute("SELECT set_config('lock_timeout', %s, true)", (f"{WAIT_SECONDS}s",))
    try:
        cur = await conn.execute(
            "INSERT INTO idempotency_keys (user_id, key, method, request_hash)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (user_id, key) DO NOTHING RETURNING 1",
            (user_id, idem.key, idem.method, idem.request_hash),
        )
    except errors.LockNotAvailable as exc:
        raise Aborted(
            "a request with this idempotency key is still in progress; retry",
            reason="IDEMPOTENCY_KEY_IN_FLIGHT",
        ) from exc
    await conn.execute("SELECT set_config('lock_timeout', '0', true)")
    if await cur.fetchone() is not None:
        return None
    found, response = await _lookup(conn, user_id, idem)
    if not found:  # pragma: no cover - the key was deleted between the two statements
        raise Aborted("idempotency key changed concurrently; retry", reason="ABORTED")
    if response is None:
        raise Aborted(
            "a request with this idempotency key is still in progress; retry",
            reason="IDEMPOTENCY_KEY_IN_FLIGHT",
        )
    return response


async def stored(conn: AsyncConnection[Any], user_id: str, idem: IdempotencyKey) -> bytes | None:
    """The response already stored for this key and request, without claiming anything:
    ``None`` when the key is unused or its request still in flight. Same key, other request:
    INVALID_ARGUMENT ``IDEMPOTENCY_KEY_REUSED``."""
    _, response = await _lookup(conn, user_id, idem)
    return response


async def _lookup(
    conn: AsyncConnection[Any], user_id: str, idem: IdempotencyKey
) -> tuple[bool, bytes | None]:
    """Whether the key has a row, and its stored response (``None`` while in flight).
    Raises when the row belongs to a different request."""
    cur = await conn.execute(
        "SELECT method, request_hash, response FROM idempotency_keys"
        " WHERE user_id = %s AND key = %s",
        (user_id, idem.key),
    )
    row = await cur.fetchone()
    if row is None:
        return False, None
    method, request_hash, response = row
    if method != idem.method or bytes(request_hash) != idem.request_hash:
        raise InvalidArgument(
            "this idempotency key was already used for a different request",
            violations=[("request_id", "already used with a different payload")],
            reason="IDEMPOTENCY_KEY_REUSED",
        )
    return True, None if response is None else bytes(response)


async def store(
    conn: AsyncConnection[Any],
    user_id: str,
    idem: IdempotencyKey,
    response: bytes,
    expense_id: str | None = None,
) -> None:
    """Record the response of the claimed key (same transaction as the effect)."""
    await conn.execute(
        "UPDATE idempotency_keys SET response = %s, expense_id = %s"
        " WHERE user_id = %s AND key = %s",
        (response, expense_id, user_id, idem.key),
    )
