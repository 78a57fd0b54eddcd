"""The one owner of the SQLite connections: pragmas, migrations and transactions."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, cast

import aiosqlite

from storage.addresses import normalize_address
from storage.inline import InlineConnection

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


@asynccontextmanager
async def savepoint(connection: aiosqlite.Connection, name: str = "step") -> AsyncIterator[None]:
    """A nested step of a running transaction: on error only this step is undone (and re-raised)."""
    await connection.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        await connection.execute(f"ROLLBACK TO {name}")
        await connection.execute(f"RELEASE {name}")
        raise
    await connection.execute(f"RELEASE {name}")


class Database:
    """Two connections to one file. Transactions (and reads inside them) run on the event loop's
    own thread (storage.inline: no thread round trips while the write lock is held); other
    reads run in aiosqlite's thread, so that a long report never holds up the event loop or a
    write (WAL lets them run side by side)."""

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
        row = await self.fetchone(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        )
        if row is None:
            return 0
        version = await self.fetchone("SELECT version FROM schema_version")
        return int(version["version"]) if version else 0

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
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
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
                yield cast(aiosqlite.Connection, writer)
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
    async def serialized(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection with no other coroutine writing meanwhile, but no transaction: each
        statement commits on its own. For a read that decides a write (a claim), cheaper than a
        transaction when the read finds nothing to do."""
        async with self._write_lock:
            self._transactions += 1
            try:
                yield cast(aiosqlite.Connection, self._writer)
            except sqlite3.Error as error:
                raise self._failure(error) from error
            finally:
                self._transactions -= 1

    def _reader(self) -> aiosqlite.Connection | InlineConnection:
        # Inside a transaction, reads see its writes; so does every read of a ":memory:" one.
        if self._transactions or self._connection is None:
            return self._writer
        return self._connection

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        try:
            return list(await self._reader().execute_fetchall(sql, params))
        except sqlite3.Error as error:
            raise self._failure(error) from error

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        """The first row of a query that has at most a few (by key, LIMIT 1, an aggregate)."""
        return next(iter(await self.fetchall(sql, params)), None)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement, committed on its own (SQLite's autocommit), never inside another
        coroutine's transaction; returns the number of rows changed."""
        async with self._write_lock:
            try:
                cursor = await self._writer.execute(sql, params)
            except sqlite3.Error as error:
                raise self._failure(error) from error
            return cursor.rowcount

    async def iterate(
        self, sql: str, params: Sequence[Any] = ()
    ) -> AsyncGenerator[aiosqlite.Row, None]:
        async with self._reader().execute(sql, params) as cursor:
            async for row in cursor:
                yield row

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as connection:
            await connection.executemany(sql, rows)

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
        rows = await self.fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
        return [str(row["detail"]) for row in rows]


def _normalized(value: str | None) -> str | None:
    return normalize_address(value) if isinstance(value, str) else value


async def _close(connection: aiosqlite.Connection | None, raw: sqlite3.Connection | None) -> None:
    if connection is not None:
        await connection.close()
    if raw is not None:
        raw.close()
