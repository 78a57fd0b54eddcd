"""The PostgreSQL backend against a real server: migrations, the unit of work, clear errors."""

from __future__ import annotations

import asyncio
import contextvars
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from storage.addresses import normalize_address
from storage.copy import TABLES as COPIED_TABLES
from storage.database import Database, StorageError, migrations
from storage.postgresql.database import PostgresDatabase
from storage.postgresql.migrations import postgresql_migrations
from storage.postgresql.placeholders import PlaceholderError, to_numbered
from tests.postgres_databases import with_database

PALAUTE_TABLES = {
    "contacts", "audiences", "audience_members", "touchpoints", "invitations", "answers",
    "outbox", "inbox", "sent_prompts", "settings", "followups", "followup_messages",
    "team_reports", "followup_replies", "suppressions", "run_lease", "dashboard_sessions",
    "link_views", "pending_sends", "dashboard_accounts", "schema_version", "whatsapp_chats",
    "whatsapp_messages", "workers",
}  # fmt: skip


async def test_the_tables_named_here_and_copied_are_every_table_sqlite_has(
    tmp_path: Path,
) -> None:
    sqlite = await Database.open(tmp_path / "palaute.db")
    try:
        rows = await sqlite.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    finally:
        await sqlite.close()
    tables = {row["name"] for row in rows}
    assert tables == PALAUTE_TABLES
    assert set(COPIED_TABLES) == tables - {"run_lease", "workers", "schema_version"}


def test_both_backends_have_the_same_migration_numbers() -> None:
    assert [n for n, _ in postgresql_migrations()] == [n for n, _ in migrations()]


@pytest.mark.parametrize("start", [version for version, _ in postgresql_migrations()])
async def test_migrations_apply_from_every_earlier_version(postgres_url: str, start: int) -> None:
    database = await PostgresDatabase.open(postgres_url, migrate=False)
    assert await database.schema_version() == 0
    assert await database.migrate(target=start) == start
    assert await database.schema_version() == start
    await database.close()
    database = await PostgresDatabase.open(postgres_url)
    try:
        assert await database.schema_version() == postgresql_migrations()[-1][0]
        async with database.reading() as work:
            rows = await work.fetch_all(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            )
        assert {row["table_name"] for row in rows} == PALAUTE_TABLES
    finally:
        await database.close()


async def test_the_postgresql_schema_has_every_sqlite_column(
    postgres_url: str, tmp_path: Path
) -> None:
    """The two schemas never drift: the same tables with the same columns."""
    sqlite = await Database.open(tmp_path / "palaute.db")
    postgres = await PostgresDatabase.open(postgres_url)
    try:
        expected: set[tuple[str, str]] = set()
        for table in PALAUTE_TABLES:
            for column in await sqlite.fetch_all(f"PRAGMA table_info({table})"):
                expected.add((table, column["name"]))
        async with postgres.reading() as work:
            rows = await work.fetch_all(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema()"
            )
        assert {(row["table_name"], row["column_name"]) for row in rows} == expected
    finally:
        await sqlite.close()
        await postgres.close()


async def test_migrating_twice_changes_nothing(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url)
    try:
        newest = postgresql_migrations()[-1][0]
        assert await database.migrate() == newest
    finally:
        await database.close()
    database = await PostgresDatabase.open(postgres_url)
    await database.close()


async def test_a_newer_database_is_refused_clearly(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url)
    async with database.transaction() as work:
        await work.execute("UPDATE schema_version SET version = 999")
    await database.close()
    with pytest.raises(StorageError, match="schema version 999, newer than this palaute knows"):
        await PostgresDatabase.open(postgres_url)


async def test_a_database_of_another_application_is_left_alone(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url, migrate=False)
    async with database.transaction() as work:
        await work.execute("CREATE TABLE invoices (id BIGINT PRIMARY KEY)")
    await database.close()
    with pytest.raises(StorageError, match=r"holds tables that are not palaute's \(invoices\)"):
        await PostgresDatabase.open(postgres_url)
    database = await PostgresDatabase.open(postgres_url, migrate=False)
    try:
        assert await database.schema_version() == 0
    finally:
        await database.close()


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, f"{parts.username}:{password}@{host}", parts.path, "", ""))


async def test_a_wrong_password_is_named_without_showing_it(postgres_url: str) -> None:
    wrong = "wrong-password-1234"
    with pytest.raises(StorageError) as raised:
        await PostgresDatabase.open(_with_password(postgres_url, wrong))
    message = str(raised.value)
    assert "refused the password of user" in message
    assert wrong not in message
    assert raised.value.__cause__ is None and raised.value.__context__ is not None


async def test_a_missing_database_is_named(postgres_server: str) -> None:
    password = urlsplit(postgres_server).password
    url = with_database(postgres_server, "no_such_palaute_db")
    with pytest.raises(StorageError, match="the database no_such_palaute_db does not exist") as e:
        await PostgresDatabase.open(url)
    assert password and password not in str(e.value)


async def test_a_server_that_is_not_there(postgres_server: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: the connection is refused
        url = f"postgresql://palaute:hunter2secret@127.0.0.1:{port}/palaute"
        with pytest.raises(StorageError, match=f"cannot connect to the PostgreSQL server at 127.0.0.1:{port}") as e:  # fmt: skip
            await PostgresDatabase.open(url)
    assert "hunter2secret" not in str(e.value)


async def test_the_unit_of_work_reads_writes_and_counts(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url)
    try:
        assert database.path.startswith("postgresql://") and "@" in database.path
        assert urlsplit(postgres_url).password not in database.path
        async with database.transaction() as work:
            first = await work.fetch_value(
                "INSERT INTO settings (key, value) VALUES (?, ?) RETURNING key", ("a?", "it's ?")
            )
            await work.execute_many(
                "INSERT INTO settings (key, value) VALUES (?, ?)", [("b", "2"), ("c", "3")]
            )
            changed = await work.execute(
                "UPDATE settings SET value = value || '?' WHERE key IN (?, ?)", ("b", "c")
            )
            again = await work.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?1) ON CONFLICT (key) DO NOTHING",
                ("b",),
            )
        assert (first, changed, again) == ("a?", 2, 0)
        async with database.reading() as work:
            row = await work.fetch_one("SELECT key, value FROM settings WHERE key = ?", ("a?",))
            rows = await work.fetch_all("SELECT key, value FROM settings ORDER BY key")
            missing = await work.fetch_value("SELECT value FROM settings WHERE key = 'none'")
        assert row is not None and row["value"] == row[1] == "it's ?"
        assert list(row.keys()) == ["key", "value"]
        assert [(r[0], r["value"]) for r in rows] == [("a?", "it's ?"), ("b", "2?"), ("c", "3?")]
        assert missing is None
        assert [r["key"] async for r in database.iterate("SELECT key FROM settings WHERE key > ? ORDER BY key", ("a",))] == ["a?", "b", "c"]  # fmt: skip
    finally:
        await database.close()


async def test_a_failed_transaction_leaves_nothing_and_says_why(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url)
    try:
        with pytest.raises(StorageError, match=r"database error on postgresql://.*duplicate key"):
            async with database.transaction() as work:
                await work.execute("INSERT INTO settings (key, value) VALUES ('x', '1')")
                await work.execute("INSERT INTO settings (key, value) VALUES ('x', '2')")
        async with database.reading() as work:
            assert await work.fetch_value("SELECT COUNT(*) FROM settings") == 0
    finally:
        await database.close()


async def test_a_savepoint_undoes_only_its_step(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url)
    try:
        async with database.transaction() as work:
            await work.execute("INSERT INTO settings (key, value) VALUES ('kept', '1')")
            with pytest.raises(StorageError, match="duplicate key"):
                async with work.savepoint():
                    await work.execute("INSERT INTO settings (key, value) VALUES ('step', '1')")
                    await work.execute("INSERT INTO settings (key, value) VALUES ('kept', '2')")
            async with work.savepoint():
                await work.execute("INSERT INTO settings (key, value) VALUES ('after', '1')")
        async with database.reading() as work:
            keys = [row["key"] for row in await work.fetch_all("SELECT key FROM settings ORDER BY key")]  # fmt: skip
        assert keys == ["after", "kept"]
    finally:
        await database.close()


async def test_reading_cannot_write(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url)
    try:
        with pytest.raises(StorageError, match="read-only"):
            async with database.reading() as work:
                await work.execute("INSERT INTO settings (key, value) VALUES ('x', '1')")
    finally:
        await database.close()


async def test_averages_come_back_as_floats_as_on_sqlite(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url)
    try:
        async with database.reading() as work:
            average = await work.fetch_value("SELECT AVG(x) FROM (VALUES (9), (10)) AS t (x)")
        assert average == 9.5 and isinstance(average, float)
    finally:
        await database.close()


async def test_dialect_fragments(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url)
    dialect = database.dialect
    try:
        async with database.reading() as work:
            day = await work.fetch_value(
                f"SELECT {dialect.day_of('?', '?')}",
                (1_789_928_000.0, 6 * 3600),  # 18:13 UTC, 00:13 next day
            )
            value = await work.fetch_value(
                f"SELECT {dialect.json_text('?', 'body', 'store')}",
                ('{"body": {"store": "Kamppi"}, "n": 1}',),
            )
            number = await work.fetch_value(f"SELECT {dialect.json_text('?', 'n')}", ('{"n": 1}',))
            pairs = await work.fetch_all(
                f"SELECT p.key, CAST(p.value AS TEXT) AS value FROM {dialect.json_each('?', 'p')}"
                " ORDER BY p.key",
                ('{"store": "Kamppi", "n": 7}',),
            )
            whole = await work.fetch_value(
                f"SELECT {dialect.integer_part('t / ?')} FROM (VALUES (7.9)) AS t (t)", (1,)
            )
            found = await work.fetch_value(f"SELECT {dialect.contains('?', '?')}", ("a%b", "%b"))
            least = await work.fetch_value(
                f"SELECT {dialect.least('due_at', '?')} FROM (VALUES (5.0)) AS t (due_at)", (3,)
            )
            joined = await work.fetch_value(
                f"SELECT {dialect.string_agg('x', ', ', 'x DESC')} FROM (VALUES (1), (2)) AS t (x)"
            )
            tables = {row["name"] for row in await work.fetch_all(dialect.tables_sql)}
        assert (dialect.name, day, value, number, least) == (
            "postgresql", "2026-09-21", "Kamppi", "1", 3.0
        )  # fmt: skip
        assert [(row["key"], row["value"]) for row in pairs] == [("n", "7"), ("store", "Kamppi")]
        assert joined == "2, 1"
        assert (whole, found) == (7, True)
        assert tables == PALAUTE_TABLES
        with pytest.raises(ValueError, match='JSON key "it\'s" must be letters'):
            dialect.json_text("payload", "it's")
    finally:
        await database.close()


ADDRESSES = [
    "Anna@Example.com", " anna@example.com\t", "anna@exa\u200bmple.com", "ＡＮＮＡ＠example.com",
    "\ufeff123456789", "U024BE7LH", "ÄITI@ESIMERKKI.FI", "\u00a0 -100123 \u2003",
    "soft\u00adhyphen", "\u202eevil", "",
]  # fmt: skip


async def test_addresses_are_normalised_in_sql_as_in_python(postgres_url: str) -> None:
    """contacts.matching finds an address however it was stored, with the same function."""
    database = await PostgresDatabase.open(postgres_url)
    try:
        async with database.reading() as work:
            found = [
                await work.fetch_value("SELECT palaute_normalized(?)", (a,)) for a in ADDRESSES
            ]
        assert found == [normalize_address(address) for address in ADDRESSES]
    finally:
        await database.close()


async def test_dashboard_account_names_ignore_case(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url)
    try:
        async with database.transaction() as work:
            await work.execute(
                "INSERT INTO dashboard_accounts (name, password_hash, role, created_at)"
                " VALUES ('Aino', 'x', 'admin', 0)"
            )
            found = await work.fetch_value("SELECT name FROM dashboard_accounts WHERE name = ?", ("aINO",))  # fmt: skip
        assert found == "Aino"
        async with database.reading() as work:
            same = await work.fetch_value("SELECT 'AINO' = ? COLLATE NOCASE", ("aino",))
        assert same is True
        with pytest.raises(StorageError, match="duplicate key"):
            async with database.transaction() as work:
                await work.execute(
                    "INSERT INTO dashboard_accounts (name, password_hash, role, created_at)"
                    " VALUES ('AINO', 'y', 'viewer', 0)"
                )
    finally:
        await database.close()


def test_placeholders_outside_text_are_numbered() -> None:
    assert to_numbered("SELECT ? , '?', \"a?\" -- ?\n, ?") == "SELECT $1 , '?', \"a?\" -- ?\n, $2"
    assert to_numbered("a = ?2 AND (b = ?1 OR c = ?1) AND d = ?") == "a = $2 AND (b = $1 OR c = $1) AND d = $3"  # fmt: skip
    assert to_numbered("x = 'it''s ?' AND y = ? /* ? */") == "x = 'it''s ?' AND y = $1 /* ? */"
    with pytest.raises(PlaceholderError, match="quote is not closed"):
        to_numbered("SELECT 'open ?")


async def test_statements_outside_a_transaction(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url)
    try:
        assert await database.execute("INSERT INTO settings VALUES ('a', '1'), ('b', '2')") == 2
        assert (
            await database.execute("UPDATE settings SET value = ? WHERE key = ?", ("3", "a")) == 1
        )
        assert await database.fetch_value("SELECT value FROM settings WHERE key = ?", ("a",)) == "3"
        row = await database.fetch_one("SELECT COUNT(*) AS n FROM settings")
        assert row is not None and row["n"] == 2
        assert [r["key"] for r in await database.fetch_all("SELECT key FROM settings ORDER BY key")] == ["a", "b"]  # fmt: skip
        await database.execute("DELETE FROM settings")
        assert await database.checkpoint()
    finally:
        await database.close()


async def test_reads_in_a_transaction_see_its_writes_and_no_one_else_does(
    postgres_url: str,
) -> None:
    """A repository reads by id right after its insert (as on SQLite); another task, outside
    the transaction, sees only what is committed."""
    database = await PostgresDatabase.open(postgres_url)
    try:
        async with database.transaction() as work:
            await work.execute("INSERT INTO settings VALUES ('mine', '1')")
            inside = await database.fetch_value("SELECT value FROM settings WHERE key = 'mine'")
            async with database.reading() as reads:
                also_inside = await reads.fetch_value("SELECT COUNT(*) FROM settings")
            streamed = [row[0] async for row in database.iterate("SELECT key FROM settings")]
            outside = await asyncio.create_task(
                _count_in_another_task(database), context=contextvars.Context()
            )
        assert (inside, also_inside, streamed, outside) == ("1", 1, ["mine"], 0)
        assert await database.fetch_value("SELECT COUNT(*) FROM settings") == 1
    finally:
        await database.close()


async def _count_in_another_task(database: PostgresDatabase) -> int:
    return int(await database.fetch_value("SELECT COUNT(*) FROM settings"))


async def test_a_task_started_in_a_transaction_reads_anew_after_it(postgres_url: str) -> None:
    database = await PostgresDatabase.open(postgres_url)
    try:
        later = asyncio.Event()

        async def count_later() -> int:
            await later.wait()
            return int(await database.fetch_value("SELECT COUNT(*) FROM settings"))

        async with database.transaction() as work:
            await work.execute("INSERT INTO settings VALUES ('a', '1')")
            counting = asyncio.create_task(count_later())  # inherits the transaction's context
        later.set()
        assert await counting == 1
    finally:
        await database.close()
