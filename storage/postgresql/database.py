"""The PostgreSQL backend: an asyncpg pool behind the same contract as the SQLite `Database`.

Within one process, write transactions take turns, as on SQLite: repositories read and then
write in one transaction (a claim, a compare-and-set) and count on no other coroutine of this
process writing in between. Several processes on one database stay correct through the
constraints and row locks in the SQL itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg

from storage.database import StorageError
from storage.postgresql.dialect import PostgresDialect
from storage.postgresql.errors import Target, connect_failure, failure, target_of
from storage.postgresql.migrations import postgresql_migrations
from storage.postgresql.placeholders import to_numbered
from storage.postgresql.unit_of_work import DRIVER_ERRORS, PostgresUnitOfWork
from storage.unit_of_work import Dialect, Row

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10.0
ERASED_TABLES = (
    "contacts", "touchpoints", "invitations", "answers", "outbox", "inbox", "sent_prompts",
    "followups", "followup_messages", "followup_replies", "link_views", "audience_members",
)  # fmt: skip
"""Where `palaute forget` deletes a person's rows (storage/erasure.py)."""
MIGRATION_LOCK = 0x70616C75
"""The advisory lock key two workers starting at once take turns on to migrate ("palu")."""


async def _set_up_connection(connection: asyncpg.Connection) -> None:
    # numeric (AVG of integers, ROUND) as float, as SQLite gives it, not as Decimal.
    await connection.set_type_codec(
        "numeric", encoder=str, decoder=float, schema="pg_catalog", format="text"
    )


CLOSE_TIMEOUT_SECONDS = 10.0


class PostgresDatabase:
    dialect: Dialect = PostgresDialect()

    def __init__(self, pool: asyncpg.Pool, target: Target, url: str) -> None:
        self._pool = pool
        self._target = target
        self._url = url
        self.path = target.label
        """The URL without its password, for messages."""
        self._write_lock = asyncio.Lock()
        self._running: ContextVar[PostgresUnitOfWork | None] = ContextVar(
            f"palaute_transaction_{id(self)}", default=None
        )
        """The transaction the current task has open, whose writes its reads must see (see
        `_current`)."""

    @classmethod
    async def open(
        cls, url: str, *, migrate: bool = True, max_connections: int = 10
    ) -> PostgresDatabase:
        target = target_of(url)
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=max_connections,
                timeout=CONNECT_TIMEOUT_SECONDS,
                init=_set_up_connection,
                server_settings={"application_name": "palaute"},
            )
        except (*DRIVER_ERRORS, TimeoutError) as error:
            raise connect_failure(error, target) from None
        database = cls(pool, target, url)
        try:
            if migrate:
                await database.migrate()
        except BaseException:
            await database.close()
            raise
        return database

    async def close(self) -> None:
        """Close the pool; connections still held after `CLOSE_TIMEOUT_SECONDS` (a read whose
        caller never finished it) are cut, so that stopping palaute never waits forever."""
        try:
            await asyncio.wait_for(self._pool.close(), CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning(
                "PostgreSQL connections were still in use after %.0f s at close; cutting them",
                CLOSE_TIMEOUT_SECONDS,
            )
            self._pool.terminate()

    async def session(self, **server_settings: str) -> asyncpg.Connection:
        """A connection of its own, outside the pool (whose connections are reset, advisory
        locks and all, whenever they go back): for a lock held as long as the session lives."""
        try:
            return await asyncpg.connect(
                self._url,
                timeout=CONNECT_TIMEOUT_SECONDS,
                server_settings={"application_name": "palaute", **server_settings},
            )
        except (*DRIVER_ERRORS, TimeoutError) as error:
            raise connect_failure(error, self._target) from None

    @property
    def target(self) -> Target:
        return self._target

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresUnitOfWork]:
        async with self._write_lock, self._connection() as connection:
            work = PostgresUnitOfWork(connection, self._target)
            running = self._running.set(work)
            try:
                async with connection.transaction():
                    yield work
            except DRIVER_ERRORS as error:  # BEGIN or COMMIT (the statements translate their own)
                raise failure(error, self._target) from error
            finally:
                work.open = False  # a task started inside it may still hold it: it reads anew
                self._running.reset(running)

    @asynccontextmanager
    async def claiming(self) -> AsyncIterator[PostgresUnitOfWork]:
        """A claim: a transaction whose SELECT ends in `dialect.claim_lock` (FOR UPDATE SKIP
        LOCKED), so that two workers never claim one row and neither waits for the other."""
        async with self.transaction() as work:
            yield work

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement committed on its own (with the current task's transaction, when
        it has one open: waiting for it would wait forever)."""
        running = self._current()
        if running is not None:
            return await running.execute(sql, params)
        async with self.transaction() as work:
            return await work.execute(sql, params)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """One read: of what is committed, or inside the current task's transaction (`reading`)."""
        async with self.reading() as work:
            return await work.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self.reading() as work:
            return await work.fetch_one(sql, params)

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        async with self.reading() as work:
            return await work.fetch_value(sql, params)

    async def checkpoint(self) -> bool:
        """After an erasure: VACUUM the tables that held the person, so that the deleted rows'
        old versions are gone from them (no snapshot or query can read them back). Their bytes
        may stay in the server's write-ahead log and backups until those are rotated."""
        async with self._connection() as connection:
            try:
                await connection.execute(f"VACUUM {', '.join(ERASED_TABLES)}")
            except DRIVER_ERRORS as error:
                log.warning("VACUUM after an erasure failed: %s", failure(error, self._target))
                return False
        return True

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[PostgresUnitOfWork]:
        """Reads that see one state (repeatable read), never held up by the writers. In a task
        inside a transaction, that transaction's, so that its reads see its writes (as SQLite's
        do: a repository's read by id right after its insert)."""
        running = self._current()
        if running is not None:
            yield running
            return
        async with self._connection() as connection:
            try:
                async with connection.transaction(isolation="repeatable_read", readonly=True):
                    yield PostgresUnitOfWork(connection, self._target)
            except DRIVER_ERRORS as error:
                raise failure(error, self._target) from error

    async def iterate(self, sql: str, params: Sequence[Any] = ()) -> AsyncGenerator[Row, None]:
        running = self._current()
        if running is not None:
            for row in await running.fetch_all(sql, params):
                yield row
            return
        async with self._connection() as connection:
            try:
                async with connection.transaction(isolation="repeatable_read", readonly=True):
                    async for row in connection.cursor(to_numbered(sql), *params, prefetch=500):
                        yield row
            except DRIVER_ERRORS as error:
                raise failure(error, self._target) from error

    def _current(self) -> PostgresUnitOfWork | None:
        """The current task's open transaction. A task started inside one inherits it, and once
        it has ended reads on its own again."""
        running = self._running.get()
        return running if running is not None and running.open else None

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        try:
            acquired = self._pool.acquire(timeout=CONNECT_TIMEOUT_SECONDS)
            connection = await acquired.__aenter__()
        except (*DRIVER_ERRORS, TimeoutError) as error:
            raise connect_failure(error, self._target) from None
        try:
            yield connection
        finally:
            await acquired.__aexit__(None, None, None)

    async def schema_version(self) -> int:
        async with self.reading() as work:
            return await _schema_version(work)

    async def migrate(self, target: int | None = None) -> int:
        """Apply every migration above the current version (up to `target`); returns the version.

        Each migration commits with its version row; a worker starting at the same time waits
        for the lock and finds the work done.
        """
        known = postgresql_migrations()
        newest = known[-1][0] if known else 0
        current = await self.schema_version()
        await self._refuse_foreign(current)
        if current > newest:
            raise StorageError(
                f"{self.path} has schema version {current}, newer than this palaute knows "
                f"({newest}): upgrade palaute"
            )
        for version, script in known:
            if version <= current or (target is not None and version > target):
                continue
            async with self.transaction() as work:
                await work.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                current = await _schema_version(work)
                if version <= current:
                    continue
                log.info("applying database migration %04d", version)
                await work.execute_script(script)
                await work.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                )
                await work.execute("DELETE FROM schema_version")
                await work.execute(f"INSERT INTO schema_version VALUES ({version})")
                current = version
        return current

    async def _refuse_foreign(self, version: int) -> None:
        """A database that holds other tables and no palaute schema is not palaute's to change."""
        if version:
            return
        async with self.reading() as work:
            tables = [
                row[0]
                for row in await work.fetch_all(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = current_schema() ORDER BY table_name LIMIT 4"
                )
            ]
        if tables:
            shown = ", ".join(tables[:3]) + (", …" if len(tables) > 3 else "")
            raise StorageError(
                f"{self.path} holds tables that are not palaute's ({shown}): give palaute a "
                "database (or schema) of its own"
            )


async def _schema_version(work: PostgresUnitOfWork) -> int:
    if await work.fetch_value("SELECT to_regclass('schema_version')") is None:
        return 0
    version = await work.fetch_value("SELECT version FROM schema_version")
    return int(version) if version is not None else 0
