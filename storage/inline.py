"""A unit of work over a sqlite3 connection used on the event loop's thread.

palaute's writes are small (an answer, a few outbox rows) and SQLite runs one in tens of
microseconds, while a trip to aiosqlite's thread costs a wake-up, a GIL hand-over and an event
loop iteration each way: under load a transaction of ten statements held the write lock for
milliseconds, and that lock, not SQLite, capped how many answers palaute could take a second
(bench/README.md). So transactions run here, on the loop's thread, in one go. Waiting for a
lock held by another process never blocks the loop: the connection has no busy timeout of its
own, and a statement SQLite reports busy is retried after an `asyncio.sleep`, up to a deadline.
Long reads (reports) still run in aiosqlite's thread, on a connection of their own.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_FIRST_WAIT = 0.002
_LONGEST_WAIT = 0.05


def is_busy(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class InlineConnection:
    """A sqlite3 connection used on the event loop's thread, as a `UnitOfWork`: what
    `Database.transaction()` hands out (the transaction itself is begun and ended there)."""

    def __init__(self, connection: sqlite3.Connection, *, busy_timeout: float) -> None:
        self._conn = connection
        self.busy_timeout = busy_timeout

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    async def _patiently(self, operation: Callable[[], T]) -> T:
        """Run `operation`; while another process holds the database, wait without blocking."""
        try:
            return operation()
        except sqlite3.OperationalError as error:
            # Inside a transaction palaute already holds the write lock: busy is an error there.
            if not is_busy(error) or self._conn.in_transaction:
                raise
        deadline = time.monotonic() + self.busy_timeout
        wait = _FIRST_WAIT
        while True:
            await asyncio.sleep(wait)
            try:
                return operation()
            except sqlite3.OperationalError as error:
                if not is_busy(error) or time.monotonic() + wait > deadline:
                    raise
            wait = min(wait * 2, _LONGEST_WAIT)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._patiently(lambda: self._conn.execute(sql, params).rowcount)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        listed = list(rows)
        await self._patiently(lambda: self._conn.executemany(sql, listed))

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self._patiently(lambda: self._conn.execute(sql, params).fetchall())

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        # Every row read: a statement left unfinished (INSERT … RETURNING) would stay open.
        rows = await self._patiently(lambda: self._conn.execute(sql, params).fetchall())
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._patiently(lambda: self._conn.execute(sql, params).fetchall())
        return rows[0][0] if rows else None

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested step of the running transaction: on error only it is undone (re-raised)."""
        # Savepoints of one name nest: ROLLBACK TO and RELEASE take the innermost.
        await self.execute("SAVEPOINT step")
        try:
            yield
        except BaseException:
            await self.execute("ROLLBACK TO step")
            await self.execute("RELEASE step")
            raise
        await self.execute("RELEASE step")

    async def iterate(self, sql: str, params: Sequence[Any] = ()) -> AsyncIterator[Any]:
        cursor = await self._patiently(lambda: self._conn.execute(sql, params))
        try:
            for row in cursor:
                yield row
        finally:
            cursor.close()

    async def executescript(self, script: str) -> None:
        await self._patiently(lambda: self._conn.executescript(script))

    async def close(self) -> None:
        self._conn.close()
