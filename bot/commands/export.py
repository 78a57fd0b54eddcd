"""`palaute export`: every answer as CSV or JSON lines, one row per answer or per response."""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.commands.progress import progress_bar
from bot.config import Config
from storage.store import Store

ANSWER_COLUMNS = ["answer_id", "answered_at", "survey", "touchpoint", "channel", "invitation_id",
                  "contact_id", "question", "kind", "value", "skipped", "properties"]  # fmt: skip
"""The answers layout: what `palaute import` reads back."""
RESPONSE_COLUMNS = ["invitation_id", "survey", "touchpoint", "channel", "contact_id",
                    "first_answered_at", "last_answered_at", "properties"]  # fmt: skip
CONTACT_COLUMN = "contact"


def add_export_parser(commands: Any, add_config: Callable[[argparse.ArgumentParser], None]) -> None:
    export = commands.add_parser(
        "export",
        help="write every answer as CSV or JSON lines",
        description="Write every answer: one row per answer (what `palaute import` reads), or "
        "one row per response with a column per question.",
    )
    add_config(export)
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument(
        "--layout",
        choices=["answers", "responses"],
        default="answers",
        help="answers: one row per answer (default); responses: one row per response, "
        "a column per question",
    )
    export.add_argument("--survey", help="only this survey")
    export.add_argument(
        "--with-address",
        action="store_true",
        help="add a `contact` column with each contact's address (telegram:…, web:…, ref:…): "
        "personal data, handle with care",
    )
    export.add_argument(
        "--output", "-o", type=Path, help="file to write (default: standard output)"
    )


def _value(row: dict[str, Any]) -> Any:
    value = row["value_text"] if row["value_text"] is not None else row["value_num"]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


def _contact(row: dict[str, Any]) -> str:
    if row["contact_channel"] and row["contact_address"]:
        return f"{row['contact_channel']}:{row['contact_address']}"
    return f"ref:{row['contact_ref']}" if row["contact_ref"] else ""


def _answer_record(row: dict[str, Any], with_address: bool) -> dict[str, Any]:
    record = {
        "answer_id": row["id"],
        "answered_at": _timestamp(row["answered_at"]),
        "survey": row["survey_id"],
        "touchpoint": row["touchpoint"],
        "channel": row["channel"],
        "invitation_id": row["invitation_id"],
        "contact_id": row["contact_id"],
        "question": row["question_id"],
        "kind": row["kind"],
        "value": _value(row),
        "skipped": bool(row["skipped"]),
        "properties": json.loads(row["properties"]),
    }
    if with_address:
        record[CONTACT_COLUMN] = _contact(row)
    return record


def _question_columns(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """A column name per (survey, question): the question id, or `survey.question` where two
    exported surveys share a question id."""
    counts: dict[str, int] = {}
    for _survey, question in pairs:
        counts[question] = counts.get(question, 0) + 1
    return {
        (survey, question): question if counts[question] == 1 else f"{survey}.{question}"
        for survey, question in pairs
    }


async def _responses(
    rows: AsyncIterator[dict[str, Any]],
    columns: dict[tuple[str, str], str],
    with_address: bool,
) -> AsyncIterator[tuple[dict[str, Any], int]]:
    """Rows grouped by invitation (they arrive sorted by it): (response record, answers in it)."""
    record: dict[str, Any] | None = None
    answers = 0
    async for row in rows:
        if record is None or record["invitation_id"] != row["invitation_id"]:
            if record is not None:
                yield record, answers
            record = {
                "invitation_id": row["invitation_id"],
                "survey": row["survey_id"],
                "touchpoint": row["touchpoint"],
                "channel": row["channel"],
                "contact_id": row["contact_id"],
                "first_answered_at": _timestamp(row["answered_at"]),
                "last_answered_at": _timestamp(row["answered_at"]),
                "properties": json.loads(row["properties"]),
            }
            if with_address:
                record[CONTACT_COLUMN] = _contact(row)
            answers = 0
        answers += 1
        record["last_answered_at"] = _timestamp(row["answered_at"])
        column = columns.get((row["survey_id"], row["question_id"]))
        if column is not None:
            record[column] = "" if row["skipped"] else _value(row)
    if record is not None:
        yield record, answers


def _cell(column: str, value: Any) -> Any:
    if column == "properties":
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


async def cmd_export(args: argparse.Namespace, config: Config) -> int:
    if args.survey and args.survey not in config.surveys:
        known = ", ".join(sorted(config.surveys))
        print(
            f'palaute export: error: --survey: unknown survey "{args.survey}" (known: {known})',
            file=sys.stderr,
        )
        return 2
    store = await Store.open(config.storage.location)
    try:
        with _output(args.output) as handle:
            await _write(store, args, handle)
    finally:
        await store.close()
    return 0


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    with path.open("w", newline="", encoding="utf-8") as handle:
        yield handle


async def _write(store: Store, args: argparse.Namespace, handle: TextIO) -> None:
    by_response = args.layout == "responses"
    total = await store.reports.count_answers(args.survey)
    if by_response:
        question_columns = _question_columns(await store.reports.exported_questions(args.survey))
        columns = RESPONSE_COLUMNS + list(question_columns.values())
    else:
        question_columns = {}
        columns = list(ANSWER_COLUMNS)
    if args.with_address:
        columns.insert(columns.index("contact_id") + 1, CONTACT_COLUMN)
    writer = csv.writer(handle) if args.format == "csv" else None
    if writer:
        writer.writerow(columns)

    def write(record: dict[str, Any]) -> None:
        if writer:
            writer.writerow([_cell(column, record.get(column)) for column in columns])
        else:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    with progress_bar(total, "Exporting answers") as bar:
        # aclosing: a reader that stops early (`| head`) must not leave the query open while
        # the database closes.
        async with contextlib.aclosing(
            store.reports.export_rows(survey_id=args.survey, by_response=by_response)
        ) as rows:
            if by_response:
                async for record, answers in _responses(rows, question_columns, args.with_address):
                    write(record)
                    bar.advance(answers)
            else:
                async for row in rows:
                    write(_answer_record(row, args.with_address))
                    bar.advance(1)
