"""`palaute import`: an export comes back unchanged, once, and bad rows are named by line."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.team.scores import rolling_trends
from storage.store import Store
from tests.report_data import SURVEYS, generate

HEADER = "answered_at,survey,touchpoint,channel,invitation_id,contact_id,question,kind,value,skipped,properties\n"


def _config(tmp_path: Path, db: Path | str, name: str) -> Path:
    config = tmp_path / f"{name}.toml"
    # A PostgreSQL URL as a literal: these tests run the CLI in this process, without its own
    # environment (a real config reads it from one: [storage] url = "${DATABASE_URL}").
    storage = f'url = "{db}"' if str(db).startswith("postgresql://") else f'path = "{db}"'
    config.write_text(f'[storage]\n{storage}\n[team]\nmin_n = 5\ntimezone = "Europe/Helsinki"\n')
    return config


async def _run(argv: list[str]) -> int:
    return await asyncio.to_thread(main, argv)


def _export_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _content(rows: list[dict[str, str]]) -> Counter[tuple[str, ...]]:
    """Rows without the ids one database gives and another does not, grouped by response."""
    by_invitation: dict[str, list[tuple[str, ...]]] = {}
    for row in rows:
        by_invitation.setdefault(row["invitation_id"], []).append(
            (row["answered_at"], row["survey"], row["touchpoint"], row["channel"],
             row["question"], row["kind"], row["value"], row["skipped"], row["properties"],
             "anonymous" if not row["contact_id"] else "contact")
        )  # fmt: skip
    return Counter(tuple(sorted(group)) for group in by_invitation.values())  # type: ignore[arg-type]


async def _answers(db: Path | str) -> int:
    store = await Store.open(db)
    try:
        return await store.reports.count_answers()
    finally:
        await store.close()


async def test_an_export_imports_back_unchanged_and_only_once(
    tmp_path: Path, database_location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """From a SQLite file into a new SQLite file, and into PostgreSQL."""
    source_db, target_db = tmp_path / "source.db", database_location
    now = time.time()
    store = await Store.open(source_db)
    await generate(store, seed=5, now=now - 4 * 86400, count=150, days=40)  # answers up to now
    await store.close()
    source, target = _config(tmp_path, source_db, "source"), _config(tmp_path, target_db, "target")
    exported = tmp_path / "answers.csv"
    assert (
        await _run(["export", "--config", str(source), "--format", "csv", "-o", str(exported)]) == 0
    )
    capsys.readouterr()

    assert await _run(["import", "--config", str(target), str(exported), "--dry-run"]) == 0
    assert "Would import" in capsys.readouterr().out and await _answers(target_db) == 0

    assert await _run(["import", "--config", str(target), str(exported)]) == 0
    said = capsys.readouterr().out
    total = len(_export_rows(exported.read_text()))
    assert f"Imported {total:,} answers" in said

    assert await _run(["export", "--config", str(target), "--format", "csv"]) == 0
    again = _export_rows(capsys.readouterr().out)
    assert _content(again) == _content(_export_rows(exported.read_text()))

    # The same scores, trends and n as in the database they came from.
    trends: dict[Path | str, list[object]] = {}
    for db in (source_db, target_db):
        store = await Store.open(db)
        trends[db] = [
            (r.survey, q.question_id, q.current.n, q.current.value, q.trend)
            for r in await rolling_trends(
                store, SURVEYS, now=now, window=timedelta(days=30), min_n=5,
                timezone="Europe/Helsinki",
            )
            for q in r.questions
        ]  # fmt: skip
        await store.close()
    assert trends[source_db] == trends[target_db] and trends[source_db]

    assert await _run(["import", "--config", str(target), str(exported)]) == 0
    said = capsys.readouterr().out
    assert "Imported 0 answers in 0 responses" in said and "already here" in said
    assert await _answers(target_db) == total

    # An export imported into the database it came from changes nothing either.
    assert await _run(["import", "--config", str(source), str(exported)]) == 0
    assert "Imported 0 answers in 0 responses" in capsys.readouterr().out
    assert await _answers(source_db) == total


async def test_every_bad_row_is_named_and_nothing_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "palaute.db"
    config = _config(tmp_path, db, "palaute")
    file = tmp_path / "history.csv"
    file.write_text(
        HEADER
        + "2024-03-01T10:00:00+02:00,nps,visit,web,1,,nps,nps,9,False,{}\n"  # line 2: good
        + "2024-03-01T10:00:30+02:00,nps,visit,web,1,,why,text,Quick,False,{}\n"  # 3: good
        + "2024-03-01 11:00,nps,visit,web,,,nps,nps,11,False,{}\n"  # 4: out of range
        + "yesterday,nps,visit,web,,,nps,nps,5,False,{}\n"  # 5: not a time
        + "2024-03-02T10:00:00,surveyx,visit,web,,,nps,nps,5,False,{}\n"  # 6: no such survey
        + "2024-03-02T10:00:00,csat,visit,web,,,csat,nps,5,False,{}\n"  # 7: wrong kind
        + "2024-03-02T10:00:00,nps,visit,web,1,,fix,text,More staff,False,{}\n"  # 8: good
        + "2024-03-02T10:00:00,csat,visit,web,1,,csat,csat,4,False,{}\n"  # 9: other survey, inv 1
        + '2024-03-02T10:00:00,csat,visit,web,,,csat,csat,4,False,"[1]"\n'  # 10: properties
        + "2099-01-01T10:00:00,csat,visit,web,,,csat,csat,4,False,{}\n"  # 11: future
        + "2024-03-03T10:00:00,csat,visit,web,,,csat,csat,4,False,{}\n"  # 12: good, anonymous
    )
    assert await _run(["import", "--config", str(config), str(file)]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors[:-1] == [
        f"{file}:4: value: 11 is outside 0–10 for nps",
        f"{file}:5: answered_at: 'yesterday' is not a date and time (ISO 8601)",
        f"{file}:6: survey: 'surveyx' is not a survey of this config",
        f"{file}:7: kind: 'nps', but csat.csat is csat",
        f"{file}:9: survey: differs from line 2 of invitation 1",
        f"{file}:10: properties: must be a JSON object of names and plain values",
        f"{file}:11: answered_at: 2099-01-01T10:00:00 is in the future",
    ]
    assert "7 bad rows of 11; nothing was imported" in errors[-1]
    assert await _answers(db) == 0

    assert await _run(["import", "--config", str(config), str(file), "--skip-bad"]) == 0
    said = capsys.readouterr().out
    assert "Imported 4 answers in 2 responses" in said and "7 bad rows skipped" in said
    store = await Store.open(db)
    try:
        rows = await store.database.fetch_all(
            "SELECT i.contact_id, i.sent_at, COUNT(a.id) AS n FROM invitations i"
            " JOIN answers a ON a.invitation_id = i.id GROUP BY i.id ORDER BY i.id"
        )
        # One response of three answers (invitation 1), one anonymous answer of its own; never
        # "sent" by palaute, so no response rate counts them.
        assert [(r["contact_id"], r["sent_at"], r["n"]) for r in rows] == [
            (None, None, 3),
            (None, None, 1),
        ]
    finally:
        await store.close()


async def test_imported_detractors_count_but_never_alert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "whsec_dGVzdA==")
    db = tmp_path / "palaute.db"
    config = tmp_path / "palaute.toml"
    config.write_text(
        f'[storage]\npath = "{db}"\n[team]\nmin_n = 5\ntimezone = "Europe/Helsinki"\n'
        '[[webhooks]]\nurl = "https://hooks.example.com/palaute"\n'
        'events = ["response.completed", "response.detractor"]\nsecret = "${HOOK_SECRET}"\n'
    )
    file = tmp_path / "history.csv"
    now = time.time()
    from datetime import datetime

    when = datetime.fromtimestamp(now - 3 * 86400).astimezone().isoformat(timespec="seconds")
    file.write_text(
        HEADER
        + "".join(f"{when},nps,visit,telegram,{i},c{i},nps,nps,2,False,{{}}\n" for i in range(6))
    )
    assert await _run(["import", "--config", str(config), str(file)]) == 0
    capsys.readouterr()
    store = await Store.open(db)
    try:
        [row] = await rolling_trends(
            store, SURVEYS, now=now, window=timedelta(days=7), min_n=5, timezone="Europe/Helsinki"
        )
        assert row.current.n == 6 and row.current.nps == -100
        for table in ("followups", "outbox"):
            [count] = await store.database.fetch_all(f"SELECT COUNT(*) AS n FROM {table}")
            assert count["n"] == 0, table
        contacts = await store.database.fetch_all("SELECT DISTINCT channel FROM contacts")
        assert [c["channel"] for c in contacts] == ["import"]  # nobody palaute could message
    finally:
        await store.close()
