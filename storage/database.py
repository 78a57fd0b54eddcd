"""The SQLite backend (`storage.unit_of_work.DatabaseBackend`): the one owner of the SQLite
connections, their pragmas, migrations and transactions."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from storage.addresses import normalize_address
from storage.inline import InlineConnection
from storage.sqlite_dialect import SQLITE
from storage.unit_of_work import Dialect, Row, UnitOfWork

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


class StorageError(RuntimeError):
    """The database cannot be used (locked, read-only, full, corrupt); the message says which."""


def migrations() -> list[tuple[int, str]]:
    """Numbered SQL migrations shipped with the package, in order."""
    found: list[tuple[int, str]] = []
    for entry in resources.files("storage.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def describe_sqlite_error(error: sqlite3.Error, path: str) -> str:
    text = str(error)
    if "locked" in text or "busy" in text:
        return f"the database {path} is locked by another process"
    if "readonly" in text or "read-only" in text:
        return f"the database {path} is read-only"
    if "disk is full" in text or "full" in text:
        return f"the disk holding {path} is full"
    if "unable to open" in text:
        return f"cannot open the database {path} (does its folder exist and is it writable?)"
    if "not a database" in text or "malformed" in text:
        return f"{path} is not a palaute database or is damaged"
    return f"database error on {path}: {text}"


class _ThreadedWork:
    """A `UnitOfWork` of reads over aiosqlite's connection (its own thread): `reading()`."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._connection.execute(sql, params) as cursor:
            return cursor.rowcount

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._connection.executemany(sql, rows)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._connection.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return next(iter(await self.fetch_all(sql, params)), None)

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        raise TypeError("a savepoint needs a transaction: use Database.transaction()")


class _ClaimWork:
    """`Database.claiming()`: statements on the writer under the write lock; reads commit on
    their own, and the first statement that is not a SELECT begins the transaction that the
    block's end commits. A claim that finds nothing to do begins none."""

    def __init__(self, writer: InlineConnection) -> None:
        self._writer = writer
        self.begun = False

    async def _begin(self) -> None:
        if not self.begun:
            await self._writer.execute("BEGIN IMMEDIATE")
            self.begun = True

    async def _before(self, sql: str) -> None:
        if sql.lstrip()[:6].upper() != "SELECT":
            await self._begin()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        await self._before(sql)
        return await self._writer.execute(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._before(sql)
        await self._writer.execute_many(sql, rows)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        await self._before(sql)
        return await self._writer.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return next(iter(await self.fetch_all(sql, params)), None)

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        return self._savepoint()

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        await self._begin()
        async with self._writer.savepoint():
            yield


class Database:
    """Two connections to one file. Transactions (and reads inside them) run on the event loop's
    own thread (storage.inline: no thread round trips while the write lock is held); other
    reads run in aiosqlite's thread, so that a long report never holds up the event loop or a
    write (WAL lets them run side by side)."""

    dialect: Dialect = SQLITE

    def __init__(
        self, connection: aiosqlite.Connection | None, writer: InlineConnection, path: str
    ) -> None:
        self._connection = connection
        """aiosqlite, for reads outside transactions; None for ":memory:" (one connection)."""
        self._writer = writer
        self.path = path
        self._write_lock = asyncio.Lock()
        self._transactions = 0

    @classmethod
    async def open(cls, path: str | Path, *, migrate: bool = True) -> Database:
        path = str(path)
        connection: aiosqlite.Connection | None = None
        raw: sqlite3.Connection | None = None
        try:
            raw = sqlite3.connect(path, isolation_level=None)
            raw.row_factory = sqlite3.Row
            # No busy timeout here: InlineConnection waits for other processes asynchronously.
            raw.execute("PRAGMA busy_timeout = 0")
            raw.execute("PRAGMA foreign_keys = ON")
            # Deleted and overwritten content is zeroed, not left in free space: an erased
            # person's comment must not be readable in the file's bytes (storage.erasure).
            raw.execute("PRAGMA secure_delete = ON")
            raw.create_function("palaute_normalized", 1, _normalized, deterministic=True)
            if path != ":memory:":
                raw.execute("PRAGMA journal_mode = WAL")
            raw.execute("PRAGMA synchronous = NORMAL")
            writer = InlineConnection(raw, busy_timeout=BUSY_TIMEOUT_MS / 1000)
            if path != ":memory:":
                connection = await aiosqlite.connect(path, isolation_level=None)
                connection.row_factory = aiosqlite.Row
                await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                await connection.execute("PRAGMA foreign_keys = ON")
                await connection.execute("PRAGMA secure_delete = ON")
            database = cls(connection, writer, path)
            if migrate:
                await database.migrate()
        except sqlite3.Error as error:
            await _close(connection, raw)
            raise StorageError(describe_sqlite_error(error, path)) from error
        except BaseException:
            await _close(connection, raw)
            raise
        return database

    async def close(self) -> None:
        await _close(self._connection, None)
        await self._writer.close()

    async def schema_version(self) -> int:
        tables = {row[0] for row in await self.fetch_all(self.dialect.tables_sql)}
        if "schema_version" not in tables:
            return 0
        version = await self.fetch_value("SELECT version FROM schema_version")
        return int(version) if version is not None else 0

    async def migrate(self, target: int | None = None) -> int:
        """Apply every migration above the current version (up to `target`); returns the version."""
        current = await self.schema_version()
        known = migrations()
        newest = known[-1][0] if known else 0
        if current > newest:
            raise StorageError(
                f"{self.path} has schema version {current}, newer than this palaute knows "
                f"({newest}): upgrade palaute"
            )
        for version, script in known:
            if version <= current or (target is not None and version > target):
                continue
            log.info("applying database migration %04d", version)
            async with self._write_lock:
                # executescript commits on its own; the version row goes in the same script.
                await self._writer.executescript(
                    "BEGIN IMMEDIATE;\n"
                    + script
                    + "\nCREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
                    + f"\nDELETE FROM schema_version;\nINSERT INTO schema_version VALUES ({version});"
                    + "\nCOMMIT;"
                )
            current = version
        return current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """One write transaction at a time; committed when the block ends, rolled back on error.

        SQLite's errors come out as `StorageError`s that say what is wrong (locked by another
        process, disk full, read-only), after the transaction was rolled back.
        """
        async with self._write_lock:
            writer = self._writer
            try:
                await writer.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise self._failure(error) from error
            self._transactions += 1
            try:
                yield writer
                await writer.execute("COMMIT")
            except BaseException as error:
                # Also after a failed COMMIT (disk full): the next BEGIN must not find it open.
                await self._roll_back()
                if isinstance(error, sqlite3.Error):
                    raise self._failure(error) from error
                raise
            finally:
                self._transactions -= 1

    async def _roll_back(self) -> None:
        if not self._writer.in_transaction:  # SQLite may have rolled back already (disk full)
            return
        try:
            await self._writer.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("rolling back a failed transaction on %s failed", self.path)

    def _failure(self, error: sqlite3.Error) -> StorageError:
        failure = StorageError(describe_sqlite_error(error, self.path))
        log.debug("SQLite: %s", error)
        return failure

    @asynccontextmanager
    async def claiming(self) -> AsyncIterator[UnitOfWork]:
        """No other coroutine writes meanwhile, and reads need no transaction: for a read that
        decides a write (a claim), cheaper than a transaction when it finds nothing to do. The
        writes (from the first one on) commit together when the block ends."""
        async with self._write_lock:
            work = _ClaimWork(self._writer)
            self._transactions += 1
            try:
                yield work
                if work.begun:
                    await self._writer.execute("COMMIT")
            except BaseException as error:
                await self._roll_back()
                if isinstance(error, sqlite3.Error):
                    raise self._failure(error) from error
                raise
            finally:
                self._transactions -= 1

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[UnitOfWork]:
        """Reads in aiosqlite's thread (the writer's inside a running transaction, whose
        writes they then see, and for ":memory:")."""
        reader = self._reader()
        try:
            yield reader if isinstance(reader, InlineConnection) else _ThreadedWork(reader)
        except sqlite3.Error as error:
            raise self._failure(error) from error

    def _reader(self) -> aiosqlite.Connection | InlineConnection:
        # Inside a transaction, reads see its writes; so does every read of a ":memory:" one.
        if self._transactions or self._connection is None:
            return self._writer
        return self._connection

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            reader = self._reader()
            if isinstance(reader, InlineConnection):
                return await reader.fetch_all(sql, params)
            return list(await reader.execute_fetchall(sql, params))
        except sqlite3.Error as error:
            raise self._failure(error) from error

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query that has at most a few (by key, LIMIT 1, an aggregate)."""
        return next(iter(await self.fetch_all(sql, params)), None)

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement, committed on its own (SQLite's autocommit), never inside another
        coroutine's transaction; returns the number of rows changed."""
        async with self._write_lock:
            try:
                return await self._writer.execute(sql, params)
            except sqlite3.Error as error:
                raise self._failure(error) from error

    async def iterate(self, sql: str, params: Sequence[Any] = ()) -> AsyncGenerator[Row, None]:
        reader = self._reader()
        if isinstance(reader, InlineConnection):
            rows = reader.iterate(sql, params)
            async for row in rows:
                yield row
            return
        async with reader.execute(sql, params) as cursor:
            async for row in cursor:
                yield row

    async def checkpoint(self, attempts: int = 40) -> bool:
        """Copy the WAL into the database file and empty it (`wal_checkpoint(TRUNCATE)`), so that
        the old page images it holds (rows just erased) are gone from disk too. A reader in
        another process can hold it up for a moment; False when it still could not finish."""
        if self._connection is None:
            return True
        for _attempt in range(attempts):
            async with self._write_lock:
                try:
                    rows = await self._connection.execute_fetchall(
                        "PRAGMA wal_checkpoint(TRUNCATE)"
                    )
                except sqlite3.Error as error:
                    raise self._failure(error) from error
            busy = next(iter(rows))[0]
            if not busy:
                return True
            await asyncio.sleep(0.05)
        return False

    async def query_plan(self, sql: str, params: Sequence[Any] = ()) -> list[str]:
        rows = await self.fetch_all(f"EXPLAIN QUERY PLAN {sql}", params)
        return [str(row["detail"]) for row in rows]


def _normalized(value: str | None) -> str | None:
    return normalize_address(value) if isinstance(value, str) else value


async def _close(connection: aiosqlite.Connection | None, raw: sqlite3.Connection | None) -> None:
    if connection is not None:
        await connection.close()
    if raw is not None:
        raw.close()
