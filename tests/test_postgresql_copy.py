"""`palaute copy-db`: a team's SQLite file moved to PostgreSQL whole, or not at all."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from storage.copy import TABLES
from storage.postgresql.database import PostgresDatabase

NOW = time.time()


def _config(tmp_path: Path, database: Path) -> str:
    path = tmp_path / "palaute.toml"
    path.write_text(f'[storage]\npath = "{database}"\nurl = "${{DATABASE_URL}}"\n')
    return str(path)


@pytest.fixture
def team_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite file with answers, follow-ups and a row in every other table."""
    database = tmp_path / "palaute.db"
    config = tmp_path / "sqlite.toml"
    config.write_text(f'[storage]\npath = "{database}"\n')
    assert main(["demo-data", "--days", "5", "--contacts", "60", "--seed", "7",
                 "--config", str(config)]) == 0  # fmt: skip
    connection = sqlite3.connect(database)
    with connection:
        connection.executescript(f"""
            INSERT INTO audiences (id, name, title, created_at) VALUES (7, 'vip', 'VIP', {NOW});
            INSERT INTO audience_members SELECT 7, id, 'import', {NOW} FROM contacts LIMIT 5;
            UPDATE contacts SET opted_out_at = {NOW}, opt_out_reason = 'said stop' WHERE id = 3;
            INSERT INTO outbox (channel, address, kind, payload, invitation_id, not_before,
                                created_at) SELECT 'telegram', '42', 'prompt', '{{"q": "nps"}}', id,
                                {NOW}, {NOW} FROM invitations LIMIT 3;
            INSERT INTO inbox (channel, external_id, payload, received_at)
                VALUES ('telegram', '991', '{{"update_id": 991}}', {NOW});
            INSERT INTO sent_prompts SELECT id, 'nps', 'm-' || id FROM invitations LIMIT 2;
            INSERT INTO followup_messages SELECT id, 'slack', 'C1', 'ts-' || id FROM followups;
            INSERT INTO followup_replies (followup_id, direction, author, text, created_at)
                SELECT id, 'to_customer', 'Aino', 'Sorry! We''ll fix it ?', {NOW} FROM followups;
            INSERT INTO team_reports VALUES ('daily', '2026-11-29', {NOW}, 0);
            INSERT INTO suppressions VALUES ('ab' || hex(randomblob(30)), {NOW});
            INSERT INTO dashboard_accounts VALUES ('Aino', 'scrypt$x', 'admin', {NOW}, NULL);
            INSERT INTO dashboard_sessions VALUES ('h1', {NOW}, {NOW + 3600}, 'Aino');
            INSERT INTO link_views VALUES ('k1', 'nps', 'web', 'web', '{{}}', {NOW});
            INSERT INTO pending_sends VALUES ('t1', 'slack', 'U1', '{{}}', {NOW}, NULL, NULL);
            INSERT INTO whatsapp_chats VALUES ('+358401234567', {NOW}, NULL, NULL);
            INSERT INTO whatsapp_messages
                VALUES ('wamid.1', '+358401234567', 'text', {NOW}, 'read', {NOW}, NULL, NULL, NULL);
            INSERT INTO run_lease VALUES (1, 'old', 1, 'gone-host', {NOW - 3600}, {NOW - 3600});
        """)
    connection.close()
    monkeypatch.chdir(tmp_path)
    return database


def _sqlite_rows(database: Path, table: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(database)
    try:
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
        names = ", ".join(columns)
        return sorted(connection.execute(f"SELECT {names} FROM {table}"), key=repr)
    finally:
        connection.close()


async def _postgres_rows(url: str, table: str, columns: int) -> list[tuple[Any, ...]]:
    database = await PostgresDatabase.open(url, migrate=False)
    try:
        async with database.reading() as work:
            rows = await work.fetch_all(f"SELECT * FROM {table}")
    finally:
        await database.close()
    return sorted((tuple(row) for row in rows), key=repr)


async def test_every_row_of_every_table_arrives(
    team_file: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    config = _config(tmp_path, team_file)
    code = await _in_thread(["copy-db", "--from", str(team_file), "--config", config])
    out = capsys.readouterr().out
    assert code == 0, out
    # demo-data's history ends now: how many answers it holds depends on the hour.
    answers = len(_sqlite_rows(team_file, "answers"))
    assert f"  answers: {answers}\n" in out and "  contacts: 60\n" in out
    assert out.endswith("every count verified.\n")
    for table in TABLES:
        expected = _sqlite_rows(team_file, table)
        assert expected, f"the test file has no {table} row"
        assert await _postgres_rows(postgres_url, table, len(expected[0])) == expected, table
    # What PostgreSQL numbers next comes after the copied ids.
    database = await PostgresDatabase.open(postgres_url)
    try:
        async with database.transaction() as work:
            new_id = await work.fetch_value(
                "INSERT INTO contacts (channel, address, created_at) VALUES ('slack', 'U9', ?)"
                " RETURNING id",
                (NOW,),
            )
    finally:
        await database.close()
    assert new_id == max(row[0] for row in _sqlite_rows(team_file, "contacts")) + 1


async def test_a_filled_database_is_not_copied_into(
    team_file: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    config = _config(tmp_path, team_file)
    assert await _in_thread(["copy-db", "--from", str(team_file), "--config", config]) == 0
    capsys.readouterr()
    assert await _in_thread(["copy-db", "--from", str(team_file), "--config", config]) == 1
    err = capsys.readouterr().err
    assert (
        "already holds data (in contacts, audiences, audience_members, …): copy into an empty"
        in err
    )
    assert len(await _postgres_rows(postgres_url, "contacts", 0)) == 60


async def test_a_file_in_use_by_a_running_palaute_is_refused(
    team_file: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    connection = sqlite3.connect(team_file)
    with connection:
        connection.execute("UPDATE run_lease SET heartbeat_at = ?, pid = 4242", (time.time(),))
    connection.close()
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    config = _config(tmp_path, team_file)
    assert await _in_thread(["copy-db", "--from", str(team_file), "--config", config]) == 1
    err = capsys.readouterr().err
    assert f"palaute: {team_file} is in use by a palaute run (pid 4242 on gone-host)" in err
    assert await _postgres_rows(postgres_url, "answers", 0) == []


async def test_a_missing_file_is_named_and_not_made(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    missing = tmp_path / "nope.db"
    config = _config(tmp_path, missing)
    assert await _in_thread(["copy-db", "--from", str(missing), "--config", config]) == 1
    assert capsys.readouterr().err == f"palaute: there is no SQLite file {missing}\n"
    assert not missing.exists()


async def _in_thread(argv: list[str]) -> int:
    """The CLI runs its own event loop; the test's fixtures are async, so it runs beside it."""
    import asyncio

    return await asyncio.to_thread(main, argv)
