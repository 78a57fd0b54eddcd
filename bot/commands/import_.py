"""`palaute import FILE`: answers from before palaute (or another palaute) into its scores.

Reads what `palaute export --format csv` writes. Nothing is imported while a row is bad, unless
`--skip-bad`; `--dry-run` says what would be imported; importing a file again adds nothing.
Imported answers count in every score and trend but never alert, follow up or call a webhook.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.clock import SystemClock
from bot.config import Config
from bot.import_file import ImportPlan, lines_of, read_answers
from storage.imports import ImportedResponse
from storage.store import Store

BATCH = 20_000
"""Responses per transaction: a running palaute waits for the write lock at most this long."""
PROGRESS_FROM = 1_000_000
"""Bytes: smaller files are read before a progress bar would show."""
ERRORS_SHOWN = 1000


def add_import_parser(commands: Any, add_config: Callable[[argparse.ArgumentParser], None]) -> None:
    command = commands.add_parser(
        "import",
        help="import past answers from a CSV file (the format `palaute export` writes)",
        description="One row per answer: answered_at, survey, touchpoint, channel, "
        "invitation_id, contact_id, question, kind, value, skipped, properties. Rows with the "
        "same invitation_id are one response; rows without contact_id are anonymous.",
    )
    add_config(command)
    command.add_argument("file", type=Path, help="the CSV file")
    command.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    command.add_argument(
        "--skip-bad", action="store_true", help="import the good rows even if some are bad"
    )


def _progress(total: int, description: str, *, least: int = PROGRESS_FROM) -> Any:
    """A rich progress bar on a terminal for `total` units (bytes, responses); else None."""
    if not sys.stderr.isatty() or total < least:
        return None
    from rich.progress import Progress

    progress = Progress(transient=True)
    progress.start()
    progress.add_task(description, total=total)
    return progress


def _read(path: Path, config: Config, now: float) -> ImportPlan:
    progress = _progress(path.stat().st_size, f"Reading {path.name}")
    try:
        with path.open("rb") as handle:
            advance = None
            if progress is not None:
                task = progress.task_ids[0]
                advance = lambda size: progress.advance(task, size)  # noqa: E731
            return read_answers(
                lines_of(handle, advance), config.surveys, timezone=config.team.timezone, now=now
            )
    finally:
        if progress is not None:
            progress.stop()


async def _store(store: Store, responses: list[ImportedResponse], now: float) -> tuple[int, int]:
    progress = _progress(len(responses), "Importing", least=BATCH + 1)
    added = answers = 0
    try:
        for offset in range(0, len(responses), BATCH):
            batch = responses[offset : offset + BATCH]
            counts = await store.imports.insert(batch, now=now)
            added, answers = added + counts[0], answers + counts[1]
            if progress is not None:
                progress.advance(progress.task_ids[0], len(batch))
    finally:
        if progress is not None:
            progress.stop()
    return added, answers


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


async def cmd_import(args: argparse.Namespace, config: Config) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"palaute import: error: {path}: no such file", file=sys.stderr)
        return 2
    now = SystemClock().now()
    plan = await asyncio.to_thread(_read, path, config, now)
    for error in plan.errors[:ERRORS_SHOWN]:
        print(f"{path}:{error.line}: {error.message}", file=sys.stderr)
    if len(plan.errors) > ERRORS_SHOWN:
        print(f"… and {len(plan.errors) - ERRORS_SHOWN:,} more bad rows", file=sys.stderr)
    if plan.ignored_columns:
        print(f"Ignored column(s): {', '.join(plan.ignored_columns)}", file=sys.stderr)
    if plan.errors and not args.skip_bad:
        print(
            f"palaute import: {_plural(len(plan.errors), 'bad row')} of {plan.rows:,}; nothing "
            "was imported (fix them, or use --skip-bad to import the other rows)",
            file=sys.stderr,
        )
        return 1
    store = await Store.open(config.storage.location)
    try:
        keys = list(plan.responses)
        existing = await store.imports.existing(keys)
        existing |= await store.imports.native(
            [plan.responses[k] for k in keys if k not in existing]
        )
        new = sorted(
            (plan.responses[key] for key in keys if key not in existing),
            key=lambda r: min(a.answered_at for a in r.answers),
        )
        answers = sum(len(r.answers) for r in new)
        there = f"; {_plural(len(existing), 'response')} already here" if existing else ""
        skipped = f"; {_plural(len(plan.errors), 'bad row')} skipped" if plan.errors else ""
        if args.dry_run:
            print(
                f"Would import {_plural(answers, 'answer')} in {_plural(len(new), 'response')}"
                f" from {path}{there}{skipped}. Nothing was written (--dry-run)."
            )
            return 0
        added, stored = await _store(store, new, now)
    finally:
        await store.close()
    print(
        f"Imported {_plural(stored, 'answer')} in {_plural(added, 'response')} from {path}"
        f"{there}{skipped}."
    )
    return 0
