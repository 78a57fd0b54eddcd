"""`palaute demo-data`: fill a database with synthetic answers, then show today's summary."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import SystemClock
from bot.config import Config
from storage.store import Store


def add_demo_parser(commands: Any, add_config: Callable[[argparse.ArgumentParser], None]) -> None:
    demo = commands.add_parser(
        "demo-data",
        help="fill the database with realistic synthetic answers (for trying palaute out)",
        description="Write months of synthetic contacts, answers, comments and follow-ups, so the "
        "dashboard, `palaute report` and the team summary have something to show.",
    )
    add_config(demo)
    demo.add_argument("--days", type=int, default=90, help="how far back (default 90)")
    demo.add_argument("--contacts", type=int, default=500, help="how many contacts (default 500)")
    demo.add_argument("--seed", type=int, help="the same seed writes the same data")
    demo.add_argument(
        "--force", action="store_true", help="add to a database that already has answers"
    )


async def cmd_demo_data(args: argparse.Namespace, config: Config) -> int:
    from bot.demo import describe, fill_demo
    from bot.team.reports.summary import DAILY, ReportPeriod, SummaryBuilder

    if args.days < 1 or args.contacts < 1:
        print("palaute demo-data: error: --days and --contacts must be 1 or more", file=sys.stderr)
        return 2
    store = await Store.open(config.storage.location)
    try:
        existing = await store.reports.count_answers()
        if existing and not args.force:
            print(
                f"palaute demo-data: {config.storage.path} already has {existing} answers; "
                "use another [storage] path, or --force to add demo data to it",
                file=sys.stderr,
            )
            return 1
        now = SystemClock().now()
        stats = await fill_demo(
            store,
            dict(config.surveys),
            now=now,
            days=args.days,
            contacts=args.contacts,
            timezone=config.team.timezone,
            seed=args.seed,
        )
        print(describe(stats, args.days, now))
        today = datetime.fromtimestamp(now, ZoneInfo(config.team.timezone)).date()
        document, _ = await SummaryBuilder(store, config).build(
            ReportPeriod(DAILY, today.isoformat(), today, now), now=now, late=False, chart=False
        )
    finally:
        await store.close()
    print("\nToday's team summary would read:\n")
    print(document.text)
    print(f"\nSee the dashboard at {config.server.base_url}/dashboard after `palaute run`", end="")
    print(
        "."
        if config.server.dashboard_password
        else " (it prints a one-time sign-in link while it listens on this machine only)."
    )
    return 0
