"""PostgreSQL for the tests: one server per session, a fresh empty database per test.

The server is PALAUTE_TEST_POSTGRES_URL's (`.ci/run` starts one), else a throwaway cluster
started here (tests/postgres_cluster.py) and stopped at the end of the session. Without
PostgreSQL the tests that need it fail, saying what is missing: they never skip.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

from tests import postgres_cluster

URL_VARIABLE = "PALAUTE_TEST_POSTGRES_URL"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A URL of the server's maintenance database, as a superuser who may create databases."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        yield given
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


@pytest_asyncio.fixture
async def postgres_url(postgres_server: str) -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    name = f"palaute_test_{os.getpid()}_{next(_numbers)}"
    admin = await asyncpg.connect(postgres_server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    finally:
        await admin.close()
    yield with_database(postgres_server, name)
    admin = await asyncpg.connect(postgres_server)
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()
