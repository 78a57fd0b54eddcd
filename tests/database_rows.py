"""Raw rows from whichever database a test runs on (SQLite or PostgreSQL), for the assertions
that look past the repositories, and waiting until such rows appear."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from storage.store import Store


async def rows(store: Store, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
    """`sql` (with `?` placeholders, as the repositories write it) as plain tuples."""
    return [tuple(row) for row in await store.database.fetch_all(sql, params)]


async def until_rows(
    store: Store,
    sql: str,
    holds: Callable[[list[tuple[object, ...]]], bool],
    params: Sequence[object] = (),
    *,
    timeout: float = 5.0,
    what: str = "rows",
) -> list[tuple[object, ...]]:
    """The rows of `sql` once `holds` says they are what the test waits for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not holds(found := await rows(store, sql, params)):
        if loop.time() > deadline:
            raise AssertionError(f"{what}: still {found} after {timeout}s")
        await asyncio.sleep(0.02)
    return found
