"""Move a team's database from SQLite to PostgreSQL: every table, in one transaction, counted.

The SQLite file is read in one snapshot (a read transaction in WAL mode), so a copy is of one
moment even if something writes meanwhile; but what arrives after that moment would not be in
PostgreSQL, so a file with a live `palaute run` on it (a fresh run lease) is refused. The
PostgreSQL side must be empty, and commits only when each table's count equals the file's.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from storage.database import StorageError, describe_sqlite_error, migrations
from storage.lease import LEASE_SECONDS
from storage.postgresql.database import PostgresDatabase
from storage.postgresql.unit_of_work import PostgresUnitOfWork

TABLES = (
    "contacts", "audiences", "audience_members", "touchpoints", "invitations", "answers",
    "outbox", "inbox", "sent_prompts", "settings", "followups", "followup_messages",
    "followup_replies", "team_reports", "suppressions", "dashboard_accounts",
    "dashboard_sessions", "link_views", "pending_sends", "whatsapp_chats", "whatsapp_messages",
)  # fmt: skip
"""Every table with a team's data, parents before the tables that refer to them. (`run_lease`
and `workers` belong to the processes running on a database, `schema_version` to each one.) A
test holds this list to the tables the migrations make, so that a new table cannot be left
behind."""

BATCH_ROWS = 5000


@dataclass(frozen=True)
class CopiedTable:
    table: str
    rows: int


async def copy_sqlite_to_postgresql(
    sqlite_path: str | Path, target: PostgresDatabase, *, now: float | None = None
) -> list[CopiedTable]:
    """Copy every table of the SQLite file into the (migrated, empty) PostgreSQL database."""
    now = time.time() if now is None else now
    path = str(sqlite_path)
    async with _snapshot(path) as source:
        await _refuse_unready_source(source, path, now)
        copied: list[CopiedTable] = []
        async with target.transaction() as work:
            await _refuse_filled_target(work, target.path)
            for table in TABLES:
                columns = await _columns(source, path, table)
                await _copy_table(source, path, work, table, columns)
                expected = await _count(source, path, table)
                found = await work.fetch_value(f"SELECT COUNT(*) FROM {table}")
                if found != expected:
                    raise StorageError(
                        f"copying {table} gave {found} rows in {target.path}, not the {expected} "
                        f"of {path}: nothing was copied"
                    )
                if "id" in columns:
                    await _continue_ids_after_copied(work, table)
                copied.append(CopiedTable(table, expected))
    return copied


@asynccontextmanager
async def _snapshot(path: str) -> AsyncIterator[aiosqlite.Connection]:
    if not Path(path).is_file():
        raise StorageError(f"there is no SQLite file {path}")
    try:
        connection = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise StorageError(describe_sqlite_error(error, path)) from error
    try:
        await connection.execute("PRAGMA busy_timeout = 5000")
        await connection.execute("BEGIN")  # one snapshot for every table (WAL)
        yield connection
    except sqlite3.Error as error:
        raise StorageError(describe_sqlite_error(error, path)) from error
    finally:
        await connection.close()


async def _rows(source: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    return list(await source.execute_fetchall(sql, params))


async def _refuse_unready_source(source: aiosqlite.Connection, path: str, now: float) -> None:
    tables = {row[0] for row in await _rows(source, "SELECT name FROM sqlite_master")}
    if "schema_version" not in tables:
        raise StorageError(f"{path} is not a palaute database")
    (version,) = (await _rows(source, "SELECT version FROM schema_version"))[0]
    newest = migrations()[-1][0]
    if version != newest:
        advice = "upgrade palaute" if version > newest else "run `palaute migrate` on it first"
        raise StorageError(
            f"{path} has schema version {version}, this palaute's is {newest}: {advice}"
        )
    for pid, host, heartbeat_at in await _rows(
        source, "SELECT pid, host, heartbeat_at FROM run_lease"
    ):
        if now - heartbeat_at < LEASE_SECONDS:
            raise StorageError(
                f"{path} is in use by a palaute run (pid {pid} on {host}): stop it first, so "
                "that nothing it stores during the copy is left behind"
            )


async def _refuse_filled_target(work: PostgresUnitOfWork, where: str) -> None:
    filled = []
    for table in TABLES:
        if await work.fetch_value(f"SELECT EXISTS (SELECT 1 FROM {table})"):
            filled.append(table)
    if filled:
        raise StorageError(
            f"{where} already holds data (in {', '.join(filled[:3])}"
            f"{', …' if len(filled) > 3 else ''}): copy into an empty database"
        )


async def _columns(source: aiosqlite.Connection, path: str, table: str) -> list[str]:
    columns = [row[1] for row in await _rows(source, f"PRAGMA table_info({table})")]
    if not columns:
        raise StorageError(f"{path} has no table {table}")
    return columns


async def _count(source: aiosqlite.Connection, path: str, table: str) -> int:
    return int((await _rows(source, f"SELECT COUNT(*) FROM {table}"))[0][0])


async def _copy_table(
    source: aiosqlite.Connection,
    path: str,
    work: PostgresUnitOfWork,
    table: str,
    columns: list[str],
) -> None:
    names = ", ".join(columns)
    order = " ORDER BY id" if "id" in columns else ""
    async with source.execute(f"SELECT {names} FROM {table}{order}") as cursor:
        while batch := await cursor.fetchmany(BATCH_ROWS):
            await work.copy_rows(table, columns, [tuple(row) for row in batch])


async def _continue_ids_after_copied(work: PostgresUnitOfWork, table: str) -> None:
    """The next id PostgreSQL gives is above every copied one."""
    await work.fetch_value(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false)"
        f" FROM {table}"
    )
