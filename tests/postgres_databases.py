"""PostgreSQL for the tests: one server per session, a fresh database per test.

The server is PALAUTE_TEST_POSTGRES_URL's (`.ci/run` starts one), else a throwaway cluster
started here (tests/postgres_cluster.py) and stopped at the end of the session. Without
PostgreSQL the tests that need it fail, saying what is missing: they never skip.

A test's database is empty (`postgres_url`), or a copy of one migrated once per session
(`new_database(server, migrated=True)`): migrating takes longer than copying.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

from storage.postgresql.database import PostgresDatabase
from tests import postgres_cluster

URL_VARIABLE = "PALAUTE_TEST_POSTGRES_URL"
_numbers = itertools.count(1)
_migrated_templates: dict[str, str] = {}
"""Server URL → the name of its migrated template database, made at the first use."""


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A URL of the server's maintenance database, as a superuser who may create databases."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        yield given
        template = _migrated_templates.pop(given, None)
        if template is not None:  # a server that outlives the session keeps nothing of it
            asyncio.run(_admin(given, f'DROP DATABASE "{template}" WITH (FORCE)'))
        return
    try:
        cluster = postgres_cluster.start()
    except postgres_cluster.ClusterError as error:
        pytest.fail(f"PostgreSQL is needed for this test and cannot be started: {error}")
    try:
        yield cluster.url
    finally:
        postgres_cluster.stop(cluster.folder)


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


async def _admin(server: str, statement: str) -> None:
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _migrated_template(server: str) -> str:
    if server not in _migrated_templates:
        name = f"palaute_template_{os.getpid()}"
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _admin(server, f'CREATE DATABASE "{name}" TEMPLATE template0')
        database = await PostgresDatabase.open(with_database(server, name))
        await database.close()
        _migrated_templates[server] = name
    return _migrated_templates[server]


@asynccontextmanager
async def new_database(server: str, *, migrated: bool = False) -> AsyncIterator[str]:
    """The URL of a database of its own, dropped afterwards."""
    template = await _migrated_template(server) if migrated else "template0"
    name = f"palaute_test_{os.getpid()}_{next(_numbers)}"
    await _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield with_database(server, name)
    finally:
        await _admin(server, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest_asyncio.fixture
async def postgres_url(postgres_server: str) -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    async with new_database(postgres_server) as url:
        yield url
