"""`palaute report`: rolling scores on the terminal, as text, JSON or CSV."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import SystemClock
from bot.commands.base import EXIT_CONFIG, AddConfig
from bot.config import Config
from bot.durations import parse_duration
from storage.store import Store


def add_report_parser(commands: Any, add_config: AddConfig) -> None:
    report = commands.add_parser("report", help="print rolling scores")
    add_config(report)
    report.add_argument("--format", choices=["text", "json", "csv"], default="text")
    report.add_argument(
        "--window",
        action="append",
        help='how far back, e.g. "7d", "30d"; repeatable (default: [team] windows)',
    )
    report.add_argument(
        "--through",
        choices=["today", "yesterday"],
        default="today",
        help="the last local day of each window: today so far (default), or yesterday as in "
        "the daily summary",
    )
    report.add_argument("--by", help="break down by touchpoint, channel or property:NAME")
    report.add_argument("--survey", help="only this survey")
    report.add_argument(
        "--comments", type=int, default=5, metavar="N", help="newest comments to show (default 5)"
    )


async def cmd_report(args: argparse.Namespace, config: Config) -> int:
    from datetime import timedelta

    from bot.team.reports import terminal
    from bot.team.scores import live_as_of, rolling_trends, window_periods

    try:
        windows = (
            [parse_duration(w) for w in args.window]
            if args.window
            else [timedelta(days=d) for d in config.team.windows]
        )
    except ValueError as error:
        print(f"palaute report: error: --window: {error}", file=sys.stderr)
        return EXIT_CONFIG
    if any(w.total_seconds() <= 0 for w in windows):
        print("palaute report: error: --window: must be longer than 0", file=sys.stderr)
        return EXIT_CONFIG
    if args.survey and args.survey not in config.surveys:
        known = ", ".join(sorted(config.surveys))
        print(
            f'palaute report: error: --survey: unknown survey "{args.survey}" (known: {known})',
            file=sys.stderr,
        )
        return EXIT_CONFIG
    zone = ZoneInfo(config.team.timezone)
    now = SystemClock().now()
    as_of = live_as_of(now, config.team.timezone) if args.through == "today" else now
    store = await Store.open(config.storage.location)
    try:
        try:
            reports = [
                terminal.WindowReport(
                    window,
                    await rolling_trends(
                        store,
                        config.surveys,
                        now=as_of,
                        window=window,
                        min_n=config.team.min_n,
                        by=args.by,
                        survey_id=args.survey,
                        timezone=config.team.timezone,
                    ),
                )
                for window in windows
            ]
        except ValueError as error:
            print(f"palaute report: error: --by: {error}", file=sys.stderr)
            return EXIT_CONFIG
        longest, _ = window_periods(as_of, max(windows), config.team.timezone)
        comments = (
            await store.reports.comments(
                longest.start, now + 1, survey_id=args.survey, limit=args.comments
            )
            if args.comments > 0
            else []
        )
        failures = await store.outbox.failures(limit=5)
    finally:
        await store.close()
    if args.format == "json":
        terminal.write_json(
            reports,
            comments,
            by=args.by,
            min_n=config.team.min_n,
            generated_at=datetime.fromtimestamp(now, zone),
            out=sys.stdout,
        )
        return 0
    if args.format == "csv":
        terminal.write_csv(reports, sys.stdout)
        return 0
    terminal.write_text(reports, comments, by=args.by, timezone=zone, out=sys.stdout)
    if failures:
        print(f"\n{len(failures)} recent delivery failure(s); see `palaute status`.")
    return 0
