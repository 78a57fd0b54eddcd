"""The `palaute` command: parses the command line, loads the config, runs one command
(bot/commands/) and turns its failures into one line and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from bot.commands import (
    check,
    copy_db,
    demo_data,
    export,
    forget,
    import_,
    link,
    migrate,
    report,
    run,
    status,
    trigger,
    user,
)
from bot.commands.base import EXIT_CONFIG, EXIT_FAILURE, AddParser, Command, add_config
from bot.config import ConfigError, load_config
from storage.database import StorageError

REGISTRATIONS: list[tuple[str, AddParser, Command]] = [
    ("run", run.add_run_parser, run.cmd_run),
    ("check", check.add_check_parser, check.cmd_check),
    ("migrate", migrate.add_migrate_parser, migrate.cmd_migrate),
    ("trigger", trigger.add_trigger_parser, trigger.cmd_trigger),
    ("report", report.add_report_parser, report.cmd_report),
    ("export", export.add_export_parser, export.cmd_export),
    ("forget", forget.add_forget_parser, forget.cmd_forget),
    ("status", status.add_status_parser, status.cmd_status),
    ("link", link.add_link_parser, link.cmd_link),
    ("demo-data", demo_data.add_demo_parser, demo_data.cmd_demo_data),
    ("import", import_.add_import_parser, import_.cmd_import),
    ("user", user.add_user_parser, user.cmd_user),
    ("copy-db", copy_db.add_copy_db_parser, copy_db.cmd_copy_db),
]
"""In the order `palaute --help` lists them."""
COMMANDS: dict[str, Command] = {name: command for name, _, command in REGISTRATIONS}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="palaute",
        description="Collect customer feedback (NPS, CSAT, CES) in Telegram, Slack and web links.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for _, add_parser, _ in REGISTRATIONS:
        add_parser(commands, add_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # `check` describes a config even where its secrets are not in this environment.
        config = load_config(args.config, secrets_required=args.command != "check")
    except ConfigError as error:
        for line in error.lines:
            print(line, file=sys.stderr)
        problems = len(error.lines)
        print(
            f"palaute: the config has {problems} problem{'s' if problems != 1 else ''}; nothing was started.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if args.command != "run":
        logging.basicConfig(level=logging.WARNING)
    try:
        return asyncio.run(COMMANDS[args.command](args, config))
    except StorageError as error:
        print(f"palaute: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`palaute export | head`): stop quietly, as the Python docs
        # advise, pointing stdout at devnull so that the interpreter's final flush cannot fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE


if __name__ == "__main__":
    raise SystemExit(main())
