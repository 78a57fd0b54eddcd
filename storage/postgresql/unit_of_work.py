"""The unit of work over one asyncpg connection (inside a transaction the backend opened)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from storage.postgresql.errors import Target, failure
from storage.postgresql.placeholders import to_numbered
from storage.unit_of_work import Row

DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
"""What asyncpg raises for a failed statement or a lost connection."""


def rows_changed(status: str) -> int:
    """The row count in a command status: `INSERT 0 3`, `UPDATE 2`, `DELETE 0` (0 for `BEGIN`)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresUnitOfWork:
    def __init__(self, connection: asyncpg.Connection, target: Target) -> None:
        self._connection = connection
        self._target = target
        self.open = True
        """False once the transaction it belongs to has ended."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            status = await self._connection.execute(to_numbered(sql), *params)
        except DRIVER_ERRORS as error:
            raise failure(error, self._target) from error
        return rows_changed(status)

    async def execute_script(self, script: str) -> None:
        """Statements in PostgreSQL's own SQL, as they are (a migration): no placeholders."""
        try:
            await self._connection.execute(script)
        except DRIVER_ERRORS as error:
            raise failure(error, self._target) from error

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Many rows into one table at once (COPY): moving a database, not everyday writes."""
        try:
            await self._connection.copy_records_to_table(table, records=rows, columns=columns)
        except DRIVER_ERRORS as error:
            raise failure(error, self._target) from error

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self._connection.executemany(to_numbered(sql), list(rows))
        except DRIVER_ERRORS as error:
            raise failure(error, self._target) from error

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return list(await self._connection.fetch(to_numbered(sql), *params))
        except DRIVER_ERRORS as error:
            raise failure(error, self._target) from error

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        try:
            row: Row | None = await self._connection.fetchrow(to_numbered(sql), *params)
        except DRIVER_ERRORS as error:
            raise failure(error, self._target) from error
        return row

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return await self._connection.fetchval(to_numbered(sql), *params)
        except DRIVER_ERRORS as error:
            raise failure(error, self._target) from error

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        # asyncpg makes a nested transaction a SAVEPOINT, rolled back to when the block raises.
        try:
            step = self._connection.transaction()
            await step.start()
        except DRIVER_ERRORS as error:
            raise failure(error, self._target) from error
        try:
            yield
        except BaseException:
            try:
                await step.rollback()
            except DRIVER_ERRORS as error:
                raise failure(error, self._target) from error
            raise
        try:
            await step.commit()
        except DRIVER_ERRORS as error:
            raise failure(error, self._target) from error
