"""The contract between repositories and a database backend (SQLite now, PostgreSQL next).

Repositories write their SQL once, with `?` placeholders and the portable forms both backends
understand (`INSERT … ON CONFLICT … DO NOTHING`, `RETURNING id`); a backend translates the
placeholders if it must. What differs between the two (dates from unix seconds, JSON access,
string aggregation, the catalogue) is asked of `Dialect`, in one place per backend.

`bot/` sees only these types: it opens a `UnitOfWork` with `database.transaction()`, hands it
to the repository methods that must commit together, and never holds a driver's connection.
What only one backend can do (SQLite's claim without a transaction, PostgreSQL's
`FOR UPDATE SKIP LOCKED`) hides behind a repository method (`OutboxRepository.claim`) and
`DatabaseBackend.claiming()`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Sequence
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

    def json_text(self, json_sql: str, key: str, *nested: str) -> str:
        """An expression for the value at `key` (then `nested` keys inside it) of a JSON text
        column, as text: a string as it is, a number in its digits, NULL when absent. Compare
        it with text (`str(invitation_id)`); a JSON `true` is '1' on SQLite, 'true' elsewhere.
        Keys are letters, digits and `_` only (they go into the SQL)."""
        ...

    def json_each(self, json_sql: str, alias: str) -> str:
        """A FROM item (after a comma) of the top-level pairs of a JSON object column, named
        `alias`, with the columns `key` and `value` (read the value as `CAST(alias.value AS
        TEXT)`: SQLite types it as the JSON does). It may name tables joined before it."""
        ...

    def string_agg(
        self, expression_sql: str, separator: str, order_by_sql: str | None = None
    ) -> str:
        """The aggregate joining `expression_sql` with `separator`. Where the backend cannot
        order inside an aggregate (SQLite 3.40) the rows come in the order of the subquery
        they are read from: order that subquery by `order_by_sql` too."""
        ...

    def least(self, first_sql: str, second_sql: str) -> str:
        """The smaller of two values (SQLite's scalar MIN, PostgreSQL's LEAST)."""
        ...

    def contains(self, text_sql: str, part_sql: str) -> str:
        """A condition: `part_sql` occurs in `text_sql` exactly (no wildcards, letter case
        counts)."""
        ...

    def integer_part(self, number_sql: str) -> str:
        """A non-negative number without its fraction, as an integer (CAST rounds on
        PostgreSQL, truncates on SQLite)."""
        ...

    tables_sql: str
    """A query of the names (column `name`) of palaute's tables in the database."""

    bulk_write_setup: tuple[str, ...]
    """Statements that begin a transaction writing a lot (`palaute import`), such as a bigger
    cache; none where the backend needs none."""

    claim_lock: str
    """Appended to the SELECT of a claim (`DatabaseBackend.claiming`): '' on SQLite, whose
    claims are serialised by the process's write lock; ' FOR UPDATE SKIP LOCKED' where rows
    are locked one by one."""


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

    def claiming(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A read that decides a write (a claim of due rows): no other writer claims the same
        rows meanwhile, and the writes commit together when the block ends (rolled back if it
        raises). SQLite: the write lock, with the transaction begun at the first write only,
        so that a claim that finds nothing costs no transaction. Add `dialect.claim_lock` to
        the claim's SELECT."""
        ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement committed on its own (never inside another coroutine's
        transaction); the number of rows it changed."""
        ...

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """One read outside a transaction (as `reading()`; inside a running transaction of
        this process on SQLite, which then sees its writes)."""
        ...

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a read that has at most a few (by key, LIMIT 1, an aggregate)."""
        ...

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def iterate(self, sql: str, params: Sequence[Any] = ()) -> AsyncGenerator[Row, None]:
        """Stream a large result (exports) without holding it all in memory."""
        ...

    async def schema_version(self) -> int: ...

    async def migrate(self, target: int | None = None) -> int: ...

    async def checkpoint(self) -> bool:
        """After an erasure: make the deleted rows' old images gone from disk as well (SQLite
        empties its WAL); False when another reader held that up."""
        ...

    async def close(self) -> None: ...
