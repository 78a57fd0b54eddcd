"""The contract between repositories and a database backend (SQLite now, PostgreSQL next).

Repositories write their SQL once, with `?` placeholders and the portable forms both backends
understand (`INSERT … ON CONFLICT … DO NOTHING`, `RETURNING id`); a backend translates the
placeholders if it must. What differs between the two (dates from unix seconds, JSON access,
string aggregation, the catalogue) is asked of `Dialect`, in one place per backend.

`bot/` sees only these types: it opens a `UnitOfWork` with `database.transaction()`, hands it
to the repository methods that must commit together, and never holds a driver's connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class Row(Protocol):
    """A result row: by column name (`row["id"]`) and by position (`row[0]`)."""

    def __getitem__(self, key: str | int) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class UnitOfWork(Protocol):
    """Statements that commit together (or, from `Database.reading()`, reads that see one state).

    Committed when the `async with` block that opened it ends, rolled back if it raises; a
    failure of the database comes out as `storage.database.StorageError` saying what is wrong.
    """

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (`INSERT … RETURNING id`, `SELECT COUNT(*)`), or
        None when there is no row."""
        ...

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A nested step: on error only the step is undone, and the error re-raised."""
        ...


class Dialect(Protocol):
    """The SQL fragments that differ between backends."""

    name: str
    """"sqlite" or "postgresql"."""

    def day_of(self, unix_seconds_sql: str, utc_offset_seconds_sql: str) -> str:
        """An expression for the calendar day (YYYY-MM-DD text) of a unix-seconds column."""
        ...

    def json_text(self, json_sql: str, key: str) -> str:
        """An expression for one top-level key of a JSON text column, as text."""
        ...

    def string_agg(self, expression_sql: str, separator: str) -> str: ...


class DatabaseBackend(Protocol):
    """What `Store` and the repositories are built over: `storage.database.Database` for SQLite,
    the PostgreSQL backend alike."""

    dialect: Dialect
    path: str
    """What the database is, for messages (a file path, or a URL without its password)."""

    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """One write transaction (serialised with other writers where the backend must)."""
        ...

    def reading(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """Reads outside any transaction (reports); a long one never holds up the writers."""
        ...

    def iterate(self, sql: str, params: Sequence[Any] = ()) -> AsyncIterator[Row]:
        """Stream a large result (exports) without holding it all in memory."""
        ...

    async def schema_version(self) -> int: ...

    async def migrate(self, target: int | None = None) -> int: ...

    async def close(self) -> None: ...

