"""finmesh.db and finmesh.stack.postgres against a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from finmesh.config import DatabaseConfig
from finmesh.db import (
    SERVICE_SCHEMAS,
    DatabaseUnavailableError,
    MigrationChecksumError,
    MigrationError,
    migrate,
    migrate_all,
    open_pool,
)
from finmesh.stack.postgres import PostgresServer, is_running, stop_data_dir
from finmesh.stack.procs import free_port

NewDatabase = Callable[..., str]

EXPECTED_TABLES = {
    "expense": {
        "expenses",
        "idempotency_keys",
        "budgets",
        "budget_alerts",
        "outbox",
        "processed_events",
        "user_categories",
        "schema_migrations",
    },
    "ml": {"user_memory", "corrections", "processed_events", "schema_migrations"},
    "insight": {"insights", "processed_events", "schema_migrations"},
}


def tables(url: str, schema: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return {name for (name,) in rows}


async def show_search_path(conn: psycopg.AsyncConnection[Any]) -> str:
    row = await (await conn.execute("SHOW search_path")).fetchone()
    assert row is not None
    return str(row[0])


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


async def test_service_migrations_apply_once_and_second_run_applies_nothing(
    new_database: NewDatabase,
) -> None:
    url = new_database("migrate_twice")

    first = await migrate_all(url)
    second = await migrate_all(url)

    assert set(first) == set(SERVICE_SCHEMAS.values())
    assert all(versions and versions[0] == "0001" for versions in first.values()), first
    assert second == {schema: [] for schema in first}
    # Later migrations add tables; the ones every service has relied on from the start stay.
    for schema, expected in EXPECTED_TABLES.items():
        assert expected <= tables(url, schema), schema
    # Each schema holds exactly the tables its migrations create, nothing from another service.
    assert not tables(url, "expense") & {"user_memory", "corrections", "insights"}
    assert not tables(url, "insight") & {"outbox", "budgets", "user_memory"}


async def test_expense_amounts_are_exact_numeric(migrated_database_url: str) -> None:
    with psycopg.connect(migrated_database_url) as conn:
        conn.execute(
            "INSERT INTO expense.expenses (id, user_id, amount, currency, date)"
            " VALUES (%s, 'u1', %s, 'GBP', '2025-03-01')",
            (uuid.uuid4(), Decimal("0.1") + Decimal("0.2")),
        )
        (total,) = conn.execute("SELECT sum(amount) FROM expense.expenses").fetchone() or (None,)
    assert total == Decimal("0.3")


async def test_concurrent_migrate_calls_apply_each_migration_exactly_once(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    url = new_database("migrate_concurrent")
    migrations = write(
        tmp_path / "migrations",
        {
            "0001_log.sql": "CREATE TABLE log (version text NOT NULL);"
            " INSERT INTO log VALUES ('0001');",
            # the sleep widens the window in which an unlocked runner would apply it twice
            "0002_slow.sql": "SELECT pg_sleep(0.1); INSERT INTO log VALUES ('0002');",
            "0003_more.sql": "INSERT INTO log VALUES ('0003');",
        },
    )

    results = await asyncio.gather(*(migrate(url, "race", migrations) for _ in range(8)))

    assert sorted(v for applied in results for v in applied) == ["0001", "0002", "0003"]
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version FROM race.log ORDER BY version").fetchall()
        recorded = conn.execute("SELECT version FROM race.schema_migrations ORDER BY 1").fetchall()
    assert [v for (v,) in rows] == ["0001", "0002", "0003"]
    assert [v for (v,) in recorded] == ["0001", "0002", "0003"]


async def test_modified_applied_migration_is_refused_and_nothing_new_is_applied(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    url = new_database("migrate_modified")
    migrations = write(tmp_path / "migrations", {"0001_a.sql": "CREATE TABLE a (id int);"})
    assert await migrate(url, "mod", migrations) == ["0001"]

    write(
        migrations,
        {
            "0001_a.sql": "CREATE TABLE a (id bigint);",
            "0002_b.sql": "CREATE TABLE b (id int);",
        },
    )
    with pytest.raises(MigrationChecksumError, match=r"0001_a\.sql"):
        await migrate(url, "mod", migrations)

    assert tables(url, "mod") == {"a", "schema_migrations"}
    assert issubclass(MigrationChecksumError, MigrationError)


async def test_failing_migration_is_rolled_back_and_can_be_fixed(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    url = new_database("migrate_failing")
    migrations = write(
        tmp_path / "migrations",
        {
            "0001_ok.sql": "CREATE TABLE ok (id int);",
            "0002_bad.sql": "CREATE TABLE half (id int); SELECT 1 / 0;",
        },
    )

    with pytest.raises(MigrationError, match=r"0002_bad\.sql"):
        await migrate(url, "fail", migrations)
    assert tables(url, "fail") == {"ok", "schema_migrations"}

    write(migrations, {"0002_bad.sql": "CREATE TABLE half (id int);"})
    assert await migrate(url, "fail", migrations) == ["0002"]
    assert tables(url, "fail") == {"ok", "half", "schema_migrations"}


async def test_misnamed_migration_file_is_rejected(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    url = new_database("migrate_misnamed")
    migrations = write(tmp_path / "migrations", {"1_init.sql": "CREATE TABLE x (id int);"})

    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        await migrate(url, "misnamed", migrations)


async def test_pool_connections_use_the_service_schema(migrated_database_url: str) -> None:
    cfg = DatabaseConfig(url=migrated_database_url, pool_min_size=1, pool_max_size=2)
    pool = await open_pool(cfg, schema="ml")
    try:
        async with pool.connection() as conn:
            search_path = await show_search_path(conn)
            await conn.execute(
                "INSERT INTO user_memory (user_id, merchant_key, category) VALUES (%s, %s, %s)",
                ("u1", "starbucks", "dining"),
            )
            await conn.execute("RESET ALL")
            after_reset = await show_search_path(conn)
    finally:
        await pool.close()

    assert search_path == "ml,public"
    assert after_reset == "ml,public"
    with psycopg.connect(migrated_database_url) as conn:
        row = conn.execute("SELECT category FROM ml.user_memory WHERE user_id = 'u1'").fetchone()
    assert row == ("dining",)


async def test_open_pool_on_unreachable_server_raises_database_unavailable() -> None:
    cfg = DatabaseConfig(
        url=f"postgresql://postgres@127.0.0.1:{free_port()}/finmesh",
        pool_min_size=1,
        connect_timeout_seconds=0.5,
    )
    with pytest.raises(DatabaseUnavailableError):
        await open_pool(cfg, schema="expense")


def test_server_restarts_on_its_existing_data_dir_and_keeps_data(tmp_path: Path) -> None:
    # tmp_path's parents are 0700 when we run as root: start() must make them traversable.
    data_dir = tmp_path / "pg" / "data"
    server = PostgresServer(data_dir, port=free_port(), fsync=False)
    try:
        server.start()
        assert server.is_running()
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('x')")
        server.stop()
        assert not server.is_running()

        server.port = free_port()  # a restart may move to another port
        server.start()
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT v FROM kept").fetchall() == [("x",)]
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
        server.start()  # already running on this port: a no-op
    finally:
        stopped = stop_data_dir(data_dir)
    assert stopped
    assert not is_running(data_dir)
    assert not stop_data_dir(data_dir)


async def test_a_connection_that_died_while_idle_is_replaced_before_checkout(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("finmesh.db.CHECK_IDLE_SECONDS", 0.0)  # check every checkout
    cfg = DatabaseConfig(url=migrated_database_url, pool_min_size=1, pool_max_size=1)
    pool = await open_pool(cfg, schema="expense")
    try:
        async with pool.connection() as conn:
            pid = conn.info.backend_pid
        with psycopg.connect(migrated_database_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        async with pool.connection() as conn:  # the check finds it dead and opens another
            row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
    finally:
        await pool.close()
    assert row is not None
    assert row[0] != pid
