"""One unit of work = one transaction, retried when PostgreSQL says a retry will succeed.

Deadlocks and serialization failures are retried a few times with jitter (the transaction was
rolled back, nothing happened); the database being unreachable is UNAVAILABLE (503).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from finmesh.errors import Aborted, Unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Conn = AsyncConnection[Any]
Pool = AsyncConnectionPool[Any]

ATTEMPTS = 5


async def in_transaction(pool: Pool, fn: Callable[[Conn], Awaitable[T]]) -> T:
    """Run ``fn(conn)`` in a transaction on a pooled connection; commit when it returns."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with pool.connection() as conn, conn.transaction():
                return await fn(conn)
        except (errors.DeadlockDetected, errors.SerializationFailure) as exc:
            if attempt == ATTEMPTS:
                raise Aborted(
                    "the change conflicted with concurrent changes; retry",
                    reason="CONCURRENT_CHANGE",
                ) from exc
            log.info("transaction conflict (%s); retry %d", type(exc).__name__, attempt)
            await asyncio.sleep(random.uniform(0.001, 0.01) * attempt)
        except PoolTimeout as exc:
            raise Unavailable("the database is busy; retry later") from exc
        except psycopg.OperationalError as exc:
            raise Unavailable("the database is unavailable; retry later") from exc
    raise AssertionError("unreachable")
