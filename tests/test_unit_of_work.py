"""The unit of work and the dialect, against a real database from the `database` fixture (a
SQLite file here; every backend must pass the same tests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from storage.database import StorageError
from storage.outbox import OutboxRepository
from storage.unit_of_work import DatabaseBackend, UnitOfWork

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()


async def _message(
    work: UnitOfWork,
    database: DatabaseBackend,
    payload: dict[str, Any],
    *,
    at: float = NOON,
    address: str = "1",
) -> int:
    return await OutboxRepository(database).enqueue(
        work, channel="telegram", address=address, kind="text", payload=payload, now=at
    )  # fmt: skip


async def test_day_of_is_the_calendar_day_at_an_offset(database: DatabaseBackend) -> None:
    late = datetime(2026, 11, 30, 22, 30, tzinfo=UTC).timestamp()
    async with database.transaction() as work:
        await _message(work, database, {}, at=late)
    day = database.dialect.day_of("not_before", "?")
    assert await database.fetch_value(f"SELECT {day} FROM outbox", (0,)) == "2026-11-30"
    assert await database.fetch_value(f"SELECT {day} FROM outbox", (2 * 3600,)) == "2026-12-01"
    assert await database.fetch_value(f"SELECT {day} FROM outbox", (-23 * 3600,)) == "2026-11-29"


async def test_json_text_reads_a_key_or_a_nested_one_as_text(database: DatabaseBackend) -> None:
    payload = {"name": "Anna's café", "id": 42, "body": {"data": {"invitation_id": 7}}}
    async with database.transaction() as work:
        await _message(work, database, payload)
    json_text = database.dialect.json_text

    async def read(*keys: str) -> Any:
        return await database.fetch_value(f"SELECT {json_text('payload', *keys)} FROM outbox")

    assert await read("name") == "Anna's café"
    assert await read("id") == "42"
    assert await read("body", "data", "invitation_id") == "7"
    assert await read("missing") is None
    assert await read("body", "missing") is None
    # Compared with text, as the contract says.
    found = await database.fetch_value(
        f"SELECT COUNT(*) FROM outbox WHERE {json_text('payload', 'id')} IN (?, ?)", ("41", "42")
    )
    assert found == 1


async def test_json_text_refuses_a_key_that_is_not_a_plain_name(database: DatabaseBackend) -> None:
    with pytest.raises(ValueError, match="must be letters, digits and _"):
        database.dialect.json_text("payload", "a') OR 1=1 --")


async def test_a_json_true_reads_as_one_of_the_two_documented_forms(
    database: DatabaseBackend,
) -> None:
    async with database.transaction() as work:
        await _message(work, database, {"flag": True})
    value = await database.fetch_value(
        f"SELECT {database.dialect.json_text('payload', 'flag')} FROM outbox"
    )
    assert value in ("1", "true")


async def test_json_each_lists_the_pairs_of_an_object(database: DatabaseBackend) -> None:
    async with database.transaction() as work:
        await _message(work, database, {"store": "Kamppi", "table": 12})
        await _message(work, database, {"store": "Sello"}, address="2")
    pairs = database.dialect.json_each("o.payload", "p")
    rows = await database.fetch_all(
        f"SELECT o.address, p.key, CAST(p.value AS TEXT) AS value FROM outbox o, {pairs}"
        " ORDER BY o.address, p.key"
    )
    assert [tuple(row) for row in rows] == [
        ("1", "store", "Kamppi"), ("1", "table", "12"), ("2", "store", "Sello"),
    ]  # fmt: skip


async def test_string_agg_joins_in_the_order_of_its_subquery(database: DatabaseBackend) -> None:
    async with database.transaction() as work:
        for address in ("b", "c'", "a"):
            await _message(work, database, {}, address=address)
    joined = database.dialect.string_agg("address", "\n", "id")
    value = await database.fetch_value(
        f"SELECT {joined} FROM (SELECT id, address FROM outbox ORDER BY id) AS ordered"
    )
    assert value == "b\nc'\na"
    empty = await database.fetch_value(
        f"SELECT {joined} FROM (SELECT id, address FROM outbox WHERE id < 0 ORDER BY id) AS none"
    )
    assert empty is None


async def test_least_is_the_smaller_of_two_values(database: DatabaseBackend) -> None:
    async with database.transaction() as work:
        await _message(work, database, {}, at=100.0)
    least = database.dialect.least("not_before", "?")
    assert await database.fetch_value(f"SELECT {least} FROM outbox", (50.0,)) == 50.0
    assert await database.fetch_value(f"SELECT {least} FROM outbox", (150.0,)) == 100.0


async def test_the_catalogue_lists_palaute_tables(database: DatabaseBackend) -> None:
    names = {row[0] for row in await database.fetch_all(database.dialect.tables_sql)}
    assert {"contacts", "invitations", "answers", "outbox", "inbox", "schema_version"} <= names
    assert not any(name.startswith(("sqlite_", "pg_")) for name in names)
    assert await database.schema_version() > 0


async def test_the_bulk_write_setup_runs_in_a_transaction(database: DatabaseBackend) -> None:
    async with database.transaction() as work:
        for statement in database.dialect.bulk_write_setup:
            await work.execute(statement)
        await _message(work, database, {})
    assert await database.fetch_value("SELECT COUNT(*) FROM outbox") == 1


async def test_execute_counts_changed_rows_and_returning_gives_the_id(
    database: DatabaseBackend,
) -> None:
    async with database.transaction() as work:
        first = await _message(work, database, {})
        second = await _message(work, database, {})
        assert second > first
        assert await work.execute("UPDATE outbox SET attempts = 1") == 2
        assert await work.execute("UPDATE outbox SET attempts = 2 WHERE id = ?", (first,)) == 1
        assert await work.fetch_one("SELECT * FROM outbox WHERE id = -1") is None
        assert await work.fetch_value("SELECT id FROM outbox WHERE id = -1") is None
    assert await database.execute("DELETE FROM outbox WHERE id = ?", (second,)) == 1


async def test_a_failed_step_is_undone_alone_and_a_failed_transaction_whole(
    database: DatabaseBackend,
) -> None:
    async with database.transaction() as work:
        await _message(work, database, {"kept": 1})
        with pytest.raises(RuntimeError):
            async with work.savepoint():
                await _message(work, database, {"undone": 1}, address="2")
                async with work.savepoint():
                    await work.execute("UPDATE outbox SET attempts = 9")
                raise RuntimeError("listener bug")
        await work.execute_many(
            "UPDATE outbox SET attempts = ? WHERE address = ?", [(3, "1"), (4, "2")]
        )
    rows = await database.fetch_all("SELECT address, attempts, payload FROM outbox")
    assert [(r[0], r[1], json.loads(r[2])) for r in rows] == [("1", 3, {"kept": 1})]

    with pytest.raises(RuntimeError):
        async with database.transaction() as work:
            await _message(work, database, {}, address="3")
            raise RuntimeError("boom")
    assert await database.fetch_value("SELECT COUNT(*) FROM outbox") == 1


async def test_a_statement_the_database_refuses_is_a_storage_error(
    database: DatabaseBackend,
) -> None:
    with pytest.raises(StorageError):
        async with database.transaction() as work:
            await work.execute("INSERT INTO no_such_table VALUES (1)")
    with pytest.raises(StorageError):
        await database.fetch_all("SELECT * FROM no_such_table")
    with pytest.raises(StorageError):
        async with database.reading() as work:
            await work.fetch_all("SELECT * FROM no_such_table")
    async with database.transaction() as work:  # nothing was left open
        await _message(work, database, {})


async def test_a_claim_commits_its_writes_together_or_none(database: DatabaseBackend) -> None:
    async with database.transaction() as work:
        message_id = await _message(work, database, {})
    async with database.claiming() as work:
        rows = await work.fetch_all(
            "SELECT id FROM outbox WHERE state = 'pending'" + database.dialect.claim_lock
        )
        assert [row[0] for row in rows] == [message_id]
        await work.execute("UPDATE outbox SET state = 'sending' WHERE id = ?", (message_id,))
        await work.execute("UPDATE outbox SET attempts = 1 WHERE id = ?", (message_id,))
    assert tuple(await database.fetch_one("SELECT state, attempts FROM outbox") or ()) == (
        "sending", 1,
    )  # fmt: skip
    with pytest.raises(RuntimeError):
        async with database.claiming() as work:
            await work.execute("UPDATE outbox SET state = 'sent'")
            raise RuntimeError("crash between the two writes")
    assert await database.fetch_value("SELECT state FROM outbox") == "sending"
    async with database.claiming() as work:  # one that finds nothing
        assert await work.fetch_all("SELECT id FROM outbox WHERE state = 'pending'") == []
    async with database.reading() as work:
        assert await work.fetch_value("SELECT COUNT(*) FROM outbox") == 1


async def test_contains_finds_a_part_exactly(database: DatabaseBackend) -> None:
    async with database.transaction() as work:
        await _message(work, database, {"text": "50% off_today"})
    contains = database.dialect.contains

    async def found(part: str) -> bool:
        count = await database.fetch_value(
            f"SELECT COUNT(*) FROM outbox WHERE {contains('payload', '?')}", (part,)
        )
        return bool(count)

    assert await found("50% off_")
    assert not await found("50%_off")  # no wildcards
    assert not await found("OFF")  # letter case counts
    assert not await found("absent")


async def test_integer_part_drops_the_fraction(database: DatabaseBackend) -> None:
    async with database.transaction() as work:
        await _message(work, database, {}, at=1_790_000_899.9)
    seconds = database.dialect.integer_part("not_before")
    bucket = database.dialect.integer_part("not_before / ?")
    assert await database.fetch_value(f"SELECT {seconds} FROM outbox") == 1_790_000_899
    assert await database.fetch_value(f"SELECT {bucket} * ? FROM outbox", (900, 900)) == (
        1_790_000_100
    )
