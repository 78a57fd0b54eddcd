"""aiosqlite's connection interface over a sqlite3 connection used on the event loop's thread.

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
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

_FIRST_WAIT = 0.002
_LONGEST_WAIT = 0.05


def is_busy(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def description(self) -> Any:
        return self._cursor.description

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def close(self) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._cursor.close()


class _Call:
    """What `execute` returns: awaited, the cursor; used with `async with`, closed after."""

    def __init__(self, run: Callable[[], Any]) -> None:
        self._run = run
        self._cursor: InlineCursor | None = None

    def __await__(self) -> Generator[Any, None, InlineCursor]:
        return self._start().__await__()

    async def _start(self) -> InlineCursor:
        result: InlineCursor = await self._run()
        return result

    async def __aenter__(self) -> InlineCursor:
        self._cursor = await self._start()
        return self._cursor

    async def __aexit__(self, *exc_info: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class InlineConnection:
    """The subset of `aiosqlite.Connection` palaute's repositories use, run synchronously."""

    def __init__(self, connection: sqlite3.Connection, *, busy_timeout: float) -> None:
        self._conn = connection
        self.busy_timeout = busy_timeout

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes

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

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> _Call:
        async def run() -> InlineCursor:
            return InlineCursor(await self._patiently(lambda: self._conn.execute(sql, parameters)))

        return _Call(run)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> _Call:
        rows = list(parameters)

        async def run() -> InlineCursor:
            return InlineCursor(await self._patiently(lambda: self._conn.executemany(sql, rows)))

        return _Call(run)

    async def execute_fetchall(
        self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()
    ) -> list[Any]:
        return await self._patiently(lambda: self._conn.execute(sql, parameters).fetchall())

    async def executescript(self, script: str) -> None:
        await self._patiently(lambda: self._conn.executescript(script))

    async def close(self) -> None:
        self._conn.close()
