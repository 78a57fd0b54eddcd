"""Shared fixtures: a real SQLite file (and a PostgreSQL database) per test, fake platforms over real HTTP, a palaute app."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import settings

from bot.app import PalauteApp
from bot.config import Config, parse_config
from storage.database import Database
from storage.postgresql.database import PostgresDatabase
from storage.store import Store
from storage.unit_of_work import DatabaseBackend
from tests.any_time import at_any_time
from tests.fakes.slack_api import fake_slack  # noqa: F401  (fixture)
from tests.fakes.telegram_api import fake_telegram  # noqa: F401  (fixture)
from tests.postgres_databases import (  # noqa: F401  (fixtures)
    new_database,
    postgres_server,
    postgres_url,
)

AppFactory = Callable[..., Awaitable[PalauteApp]]

# On a developer's machine hypothesis explores new inputs on every run (and remembers failures
# in .hypothesis/); in CI the same inputs every run, so that a landing never fails by chance.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns when it builds a RetryAfter unless opted in, and this suite makes warnings
    # errors (palaute's Telegram adapter reads either form; test_telegram_delivery checks both).
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "palaute.db"


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, db_path: Path) -> AsyncIterator[DatabaseBackend]:
    """A migrated database behind storage's backend contract, once a SQLite file and once a
    PostgreSQL database: storage tests that take this one (or `store`) hold for both."""
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        async with new_database(server, migrated=True) as url:
            postgresql = await PostgresDatabase.open(url)
            yield postgresql
            await postgresql.close()
        return
    sqlite = await Database.open(db_path)
    yield sqlite
    await sqlite.close()


@pytest.fixture
def running_apps() -> list[PalauteApp]:
    """The apps `app_factory` started and nobody stopped yet: whichever of `app_factory` and
    `database_location` is torn down first stops them, so no app outlives its database."""
    return []


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def database_location(
    request: pytest.FixtureRequest, db_path: Path, running_apps: list[PalauteApp]
) -> AsyncIterator[str]:
    """Where palaute keeps its data: a SQLite file, then a migrated PostgreSQL database (its
    URL). The one hook for tests of whole apps and processes on both backends: a test that
    takes it builds its config with `make_config(toml, database_location)` (or a channel's
    helper) and opens the data with `Store.open(database_location)`, and runs once on each."""
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        async with new_database(server, migrated=True) as url:
            yield url
            await _stop_all(running_apps)
        return
    yield str(db_path)


@pytest_asyncio.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[Store]:
    """For what only SQLite has (its query plans, its file)."""
    opened = await Store.open(db_path)
    yield opened
    await opened.close()


@pytest_asyncio.fixture
async def store(database: DatabaseBackend) -> Store:
    """All repositories over `database` (closed by it)."""
    return Store.over(database)


DATABASE_URL_VARIABLE = "PALAUTE_TEST_DATABASE_URL"


def make_config(toml: str, db_path: Path | str, environ: dict[str, str] | None = None) -> Config:
    """A config from TOML text, with the database in the test's folder and an ephemeral port.

    `db_path` is a SQLite file, or a `postgresql://` URL (`database_location`'s), which goes
    into `[storage] url` through the environment, as a real config takes it."""
    environ = dict(environ or {})
    if str(db_path).startswith("postgresql://"):
        environ[DATABASE_URL_VARIABLE] = str(db_path)
        header = f'[storage]\nurl = "${{{DATABASE_URL_VARIABLE}}}"\n'
    else:
        header = f'[storage]\npath = "{db_path}"\n'
    if "[server]" not in toml:
        header += '[server]\nport = 0\napi_token = "test-api-token"\n'
    return parse_config(at_any_time(header + toml), environ=environ)


@pytest_asyncio.fixture
async def app_factory(db_path: Path, running_apps: list[PalauteApp]) -> AsyncIterator[AppFactory]:
    """Start a palaute app (real storage, scheduler, dispatcher, HTTP server); stopped after the test."""
    started = running_apps

    async def start(config: Config | None = None, **kwargs: object) -> PalauteApp:
        app = PalauteApp(config or make_config("", db_path), **kwargs)  # type: ignore[arg-type]
        await app.start()
        started.append(app)
        return app

    yield start
    await _stop_all(started)


async def _stop_all(apps: list[PalauteApp]) -> None:
    while apps:
        await apps.pop().stop()
