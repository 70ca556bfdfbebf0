"""The services' shared PostgreSQL layer: connection pools and schema migrations.

Each service owns one schema (``expense``, ``ml``, ``insight``) and never reads another's.
Its pool's connections have ``search_path`` set to that schema, so service SQL uses unqualified
table names. Its ``migrations/`` directory holds ``NNNN_name.sql`` files, applied in order by
:func:`migrate` and recorded in ``<schema>.schema_migrations``.

Errors::

    DatabaseError
    ├── DatabaseUnavailableError   the server cannot be reached (pool did not fill in time)
    └── MigrationError             a migration is malformed or failed; nothing of it was applied
        └── MigrationChecksumError an applied migration's file has changed since
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from finmesh.config import REPO_ROOT, DatabaseConfig

logger = logging.getLogger(__name__)

#: The pool type every service uses.
Pool = AsyncConnectionPool[AsyncConnection[TupleRow]]

#: Service package → the schema it owns.
SERVICE_SCHEMAS: Mapping[str, str] = {
    "expense_svc": "expense",
    "ml_svc": "ml",
    "insight_svc": "insight",
}

_SCHEMA_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_MIGRATION_RE = re.compile(r"(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql")


class DatabaseError(Exception):
    """Base of this module's errors."""


class DatabaseUnavailableError(DatabaseError):
    """The database could not be reached in time."""


class MigrationError(DatabaseError):
    """A migration could not be applied; its transaction was rolled back."""


class MigrationChecksumError(MigrationError):
    """An already-applied migration file was modified; write a new migration instead."""


@dataclass(frozen=True)
class Migration:
    """One ``NNNN_name.sql`` file."""

    version: str
    name: str
    sql: str
    checksum: str
    path: Path


def _check_schema(schema: str) -> None:
    if not _SCHEMA_RE.fullmatch(schema):
        raise DatabaseError(f"invalid schema name {schema!r}: lower-case identifier expected")


# -- pool ------------------------------------------------------------------------------------


#: A pooled connection idle for longer than this is checked before it is handed out.
CHECK_IDLE_SECONDS = 1.0
_returned_at: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()


async def _note_returned(conn: AsyncConnection[Any]) -> None:
    _returned_at[conn] = time.monotonic()


async def _check_if_idle(conn: AsyncConnection[Any]) -> None:
    returned = _returned_at.get(conn)
    if returned is None or time.monotonic() - returned > CHECK_IDLE_SECONDS:
        await AsyncConnectionPool.check_connection(conn)


async def open_pool(cfg: DatabaseConfig, *, schema: str | None = None) -> Pool:
    """Open a connection pool and wait until it holds ``cfg.pool_min_size`` connections.

    With ``schema``, every connection starts with ``search_path = <schema>, public`` (a
    connection-startup option, so it also survives ``RESET ALL``). A connection that has been
    idle in the pool for more than :data:`CHECK_IDLE_SECONDS` is checked (one round trip) before
    checkout; one returned moments ago is handed out as is (a server that died since makes the
    first statement fail with ``OperationalError``, which the services answer as UNAVAILABLE,
    and the pool drops the broken connection). Raises :class:`DatabaseUnavailableError` if the
    pool does not fill within ``cfg.connect_timeout_seconds``.
    """
    if not cfg.url:
        raise DatabaseError("DatabaseConfig.url is empty")
    kwargs: dict[str, str | int] = {
        # libpq rounds connect_timeout to whole seconds and treats 1 as 2.
        "connect_timeout": max(2, math.ceil(cfg.connect_timeout_seconds)),
        "application_name": f"finmesh-{schema}" if schema else "finmesh",
    }
    if schema is not None:
        _check_schema(schema)
        options = str(conninfo_to_dict(cfg.url).get("options") or "")
        kwargs["options"] = f"{options} -c search_path={schema},public".strip()
    pool: Pool = AsyncConnectionPool(
        cfg.url,
        open=False,
        min_size=cfg.pool_min_size,
        max_size=cfg.pool_max_size,
        kwargs=kwargs,
        check=_check_if_idle,
        reset=_note_returned,
        name=f"finmesh-{schema or 'db'}",
    )
    await pool.open()
    try:
        await pool.wait(timeout=cfg.connect_timeout_seconds)
    except PoolTimeout as exc:
        await pool.close()
        raise DatabaseUnavailableError(
            f"database not reachable within {cfg.connect_timeout_seconds}s"
        ) from exc
    return pool


# -- migrations ------------------------------------------------------------------------------


def load_migrations(migrations_dir: Path) -> list[Migration]:
    """The migrations in ``migrations_dir``, ordered by version.

    Every ``*.sql`` file must be named ``NNNN_name.sql`` and versions must be unique.
    """
    migrations: list[Migration] = []
    seen: dict[str, Path] = {}
    for path in sorted(migrations_dir.glob("*.sql")):
        match = _MIGRATION_RE.fullmatch(path.name)
        if match is None:
            raise MigrationError(f"{path}: migration files must be named NNNN_name.sql")
        version = match["version"]
        if version in seen:
            raise MigrationError(f"{path} and {seen[version]} share version {version}")
        seen[version] = path
        raw = path.read_bytes().replace(b"\r\n", b"\n")
        migrations.append(
            Migration(
                version=version,
                name=match["name"],
                sql=raw.decode("utf-8"),
                checksum=hashlib.sha256(raw).hexdigest(),
                path=path,
            )
        )
    return migrations


def migration_lock_key(schema: str) -> int:
    """The ``pg_advisory_xact_lock`` key that serialises migrations of ``schema`` (signed int8)."""
    digest = hashlib.sha256(f"finmesh.migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def migrate(conninfo: str, schema: str, migrations_dir: Path) -> list[str]:
    """Apply the pending migrations of ``schema`` from ``migrations_dir``; return their versions.

    Creates the schema and ``<schema>.schema_migrations`` if missing. Each migration runs in
    its own transaction with ``search_path`` set to the schema, under
    ``pg_advisory_xact_lock(migration_lock_key(schema))``, re-reading what is applied after
    taking the lock: replicas that start together apply every file exactly once, in order.
    Files must not contain transaction control (``BEGIN``/``COMMIT``) or statements that cannot
    run in a transaction (``CREATE INDEX CONCURRENTLY``).

    Raises :class:`MigrationChecksumError` if an applied file has changed, and
    :class:`MigrationError` if a file is misnamed or its SQL fails (that file is rolled back;
    the ones before it stay applied). Versions recorded in the database but missing from the
    directory (a newer release ran first) are left alone.
    """
    _check_schema(schema)
    migrations = await asyncio.to_thread(load_migrations, migrations_dir)
    table = sql.Identifier(schema, "schema_migrations")
    lock_key = migration_lock_key(schema)
    done: list[str] = []
    try:
        conn = await AsyncConnection.connect(conninfo, autocommit=True)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(f"cannot connect to migrate {schema}: {exc}") from exc
    async with conn:
        while True:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
                await _ensure_bookkeeping(conn, schema)
                rows = await (
                    await conn.execute(sql.SQL("SELECT version, checksum FROM {}").format(table))
                ).fetchall()
                applied: dict[str, str] = {version: checksum for version, checksum in rows}
                _verify_checksums(schema, migrations, applied)
                pending = [m for m in migrations if m.version not in applied]
                if not pending:
                    break
                migration = pending[0]
                await conn.execute(
                    sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema))
                )
                try:
                    await conn.execute(migration.sql.encode())
                except psycopg.Error as exc:
                    raise MigrationError(
                        f"migration {migration.path.name} of schema {schema} failed: {exc}"
                    ) from exc
                await conn.execute(
                    sql.SQL("INSERT INTO {} (version, name, checksum) VALUES (%s, %s, %s)").format(
                        table
                    ),
                    (migration.version, migration.name, migration.checksum),
                )
            logger.info("applied migration %s to schema %s", migration.path.name, schema)
            done.append(migration.version)
    return done


def migrate_sync(conninfo: str, schema: str, migrations_dir: Path) -> list[str]:
    """:func:`migrate` for callers without an event loop (CLI, scripts)."""
    return asyncio.run(migrate(conninfo, schema, migrations_dir))


def service_migrations_dir(service: str) -> Path:
    """The ``migrations/`` directory of a service package (``expense_svc`` …)."""
    if service not in SERVICE_SCHEMAS:
        raise DatabaseError(f"unknown service {service!r}")
    return REPO_ROOT / service / "migrations"


async def migrate_all(conninfo: str) -> dict[str, list[str]]:
    """Migrate every service's schema; returns the versions applied per schema."""
    return {
        schema: await migrate(conninfo, schema, service_migrations_dir(service))
        for service, schema in SERVICE_SCHEMAS.items()
    }


async def _ensure_bookkeeping(conn: AsyncConnection[TupleRow], schema: str) -> None:
    # Check before creating: CREATE SCHEMA IF NOT EXISTS still needs the CREATE privilege on
    # the database, which a production role may lack once the schema exists.
    cur = await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    if await cur.fetchone() is None:
        await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    await conn.execute(
        sql.SQL(
            """
            CREATE TABLE IF NOT EXISTS {} (
                version    text PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        ).format(sql.Identifier(schema, "schema_migrations"))
    )


def _verify_checksums(schema: str, migrations: list[Migration], applied: dict[str, str]) -> None:
    changed = [m for m in migrations if m.version in applied and applied[m.version] != m.checksum]
    if changed:
        names = ", ".join(m.path.name for m in changed)
        raise MigrationChecksumError(
            f"applied migrations of schema {schema} were modified: {names}; "
            "restore them and add a new migration instead"
        )
