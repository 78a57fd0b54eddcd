"""Reports on a big database: 1,000,000 answers over 365 days and 20 touchpoints.

    python -m bench.reports [--answers 1000000] [--days 365] [--rebuild] [--postgresql URL]

Times, on palaute's own code and schema:
* the rolling scores of every survey broken down by touchpoint over the 30-day window (goal
  < 0.5 s); then, for scale, all that `palaute report --by touchpoint` computes (the 7- and
  30-day windows, each next to the window before it for the trend) and a whole year;
* the daily summary as the team gets it, chart included (goal < 2 s).

The database is generated once with plain SQL inserts into palaute's schema and kept in
bench/results/ (`--rebuild` makes it again). Writes bench/results/reports.json.

With `--postgresql URL` (an empty database) the same history is copied there the way a team
moves (`palaute copy-db`), and the same reports are timed on PostgreSQL instead
(bench/results/reports-postgresql.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import RESULTS, verdict, write_results
from bot.config import parse_config
from bot.team.reports.jobs import period_key, scheduled_at
from bot.team.reports.summary import DAILY, ReportPeriod, SummaryBuilder
from bot.team.scores import rolling_scores, rolling_trends
from storage.store import Store

DAY = 86400.0
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Helsinki")).timestamp()
SURVEY_OF = {f"tp{n:02d}": ("nps", "nps", "csat", "ces", "event")[n % 5] for n in range(1, 21)}
"""20 touchpoints over the built-in surveys."""
STORES = ["Kamppi", "Itis", "Sello", "Jumbo", "Tampere", "Oulu", "Turku", "Online"]
COMMENTS = [
    "Quick and friendly", "The queue was long", "Parking was full", "Great selection",
    "Delivery came a day late", "Staff knew the products", "App kept crashing", "Clean and calm",
]  # fmt: skip


def _questions(survey: str, rng: random.Random) -> list[tuple[str, str, float | None, str | None]]:
    """(question id, kind, number, text) answered in one invitation."""
    if survey == "nps":
        score = max(0, min(10, round(rng.gauss(7.2, 2.4))))
        answers = [("nps", "nps", float(score), None), ("why", "text", None, rng.choice(COMMENTS))]
        if score <= 6:
            answers.append(("fix", "text", None, rng.choice(COMMENTS)))
        return answers
    if survey in ("csat", "ces"):
        top = 5 if survey == "csat" else 7
        score = max(1, min(top, round(rng.gauss(top * 0.78, top * 0.2))))
        return [(survey, survey, float(score), None), ("why", "text", None, rng.choice(COMMENTS))]
    return [
        (q, "rating", float(max(1, min(5, round(rng.gauss(3.9, 0.9))))), None)
        for q in ("before", "during", "after")
    ] + [("change", "text", None, rng.choice(COMMENTS))]


def build_database(path: Path, answers: int, days: int, seed: int = 1) -> dict[str, int]:
    """palaute's schema (its migrations) filled with synthetic history by plain SQL."""
    path.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    async def migrate() -> None:
        store = await Store.open(path)
        await store.close()

    asyncio.run(migrate())
    rng = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("BEGIN")
    contacts = max(1000, answers // 10)
    db.executemany(
        "INSERT INTO contacts (id, channel, address, language, created_at) VALUES (?, ?, ?, ?, ?)",
        (
            (
                n,
                "telegram" if n % 3 else "slack",
                str(100_000 + n),
                "fi" if n % 2 else "en",
                NOW - days * DAY,
            )
            for n in range(1, contacts + 1)
        ),
    )
    counts = {"contacts": contacts, "invitations": 0, "answers": 0}
    touchpoints = list(SURVEY_OF)
    invitation = 0
    touchpoint_rows: list[tuple[Any, ...]] = []
    invitation_rows: list[tuple[Any, ...]] = []
    answer_rows: list[tuple[Any, ...]] = []

    def flush() -> None:
        db.executemany(
            "INSERT INTO touchpoints (id, name, contact_id, occurred_at, properties, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            touchpoint_rows,
        )
        db.executemany(
            "INSERT INTO invitations (id, touchpoint_id, contact_id, survey_id, touchpoint, channel,"
            " state, due_at, sent_at, started_at, completed_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            invitation_rows,
        )
        db.executemany(
            "INSERT INTO answers (invitation_id, survey_id, touchpoint, channel, question_id, kind,"
            " value_num, value_text, skipped, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
            answer_rows,
        )
        touchpoint_rows.clear()
        invitation_rows.clear()
        answer_rows.clear()

    while counts["answers"] < answers:
        invitation += 1
        touchpoint = rng.choice(touchpoints)
        survey = SURVEY_OF[touchpoint]
        contact = rng.randint(1, contacts)
        channel = "telegram" if contact % 3 else "slack"
        sent = NOW - rng.random() * days * DAY
        properties = json.dumps({"store": rng.choice(STORES)})
        touchpoint_rows.append((invitation, touchpoint, contact, sent, properties, sent))
        answered = rng.random() < 0.62
        state = "completed" if answered else "expired"
        done = sent + rng.uniform(60, 7200) if answered else None
        invitation_rows.append(
            (invitation, invitation, contact, survey, touchpoint, channel, state, sent, sent,
             done, done, sent, done or sent)
        )  # fmt: skip
        if answered:
            assert done is not None
            for offset, (question, kind, number, text) in enumerate(_questions(survey, rng)):
                answer_rows.append(
                    (
                        invitation,
                        survey,
                        touchpoint,
                        channel,
                        question,
                        kind,
                        number,
                        text,
                        done + offset,
                    )
                )
                counts["answers"] += 1
        if len(invitation_rows) >= 20_000:
            flush()
    flush()
    counts["invitations"] = invitation
    db.execute("COMMIT")
    # No ANALYZE: palaute never runs it, so the query planner works without statistics here too.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return counts


async def timed(action: Callable[[], Awaitable[Any]], runs: int) -> dict[str, float]:
    """The first (cold) run and the median of `runs` warm ones, in seconds."""
    started = time.perf_counter()
    await action()
    first = time.perf_counter() - started
    warm = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        warm.append(time.perf_counter() - started)
    return {
        "first_s": round(first, 4),
        "median_s": round(statistics.median(warm), 4),
        "max_s": round(max(warm), 4),
    }


async def copy_to_postgresql(path: Path, url: str) -> dict[str, Any]:
    """The SQLite history into PostgreSQL, as `palaute copy-db` moves it, and analysed."""
    from storage.copy import copy_sqlite_to_postgresql
    from storage.postgresql.database import PostgresDatabase

    started = time.perf_counter()
    database = await PostgresDatabase.open(url)
    try:
        copied = await copy_sqlite_to_postgresql(path, database)
        await database.execute("ANALYZE")  # fresh statistics, as autovacuum would gather
    finally:
        await database.close()
    return {
        "rows": sum(table.rows for table in copied),
        "copy_seconds": round(time.perf_counter() - started, 1),
    }


async def measure(path: Path | str, runs: int) -> dict[str, Any]:
    config = parse_config(
        '[team]\nwindows = [7, 30]\nmin_n = 10\ntimezone = "Europe/Helsinki"\n', environ={}
    )
    store = await Store.open(path)
    try:
        surveys = config.surveys
        results: dict[str, Any] = {}

        async def report_by_touchpoint() -> Any:
            # `palaute report --by touchpoint`: each team window (7 and 30 days) with the same
            # window before it, for the trend.
            return [
                await rolling_trends(
                    store, surveys, now=NOW, window=timedelta(days=days), min_n=10, by="touchpoint"
                )
                for days in config.team.windows
            ]

        async def scores_by_touchpoint() -> Any:
            # The goal's measure: every survey's rolling scores, broken down by touchpoint,
            # over the longest team window.
            return await rolling_scores(
                store, surveys, now=NOW, window=timedelta(days=max(config.team.windows)),
                by="touchpoint",
            )  # fmt: skip

        rows = await scores_by_touchpoint()
        results["rolling_scores_30d_by_touchpoint"] = {
            **await timed(scores_by_touchpoint, runs),
            "rows": len(rows),
            "answers_counted": sum(row.n for row in rows),
        }

        async def year_by_touchpoint() -> Any:
            return await rolling_scores(
                store, surveys, now=NOW, window=timedelta(days=365), by="touchpoint"
            )

        reports = await report_by_touchpoint()
        results["report_by_touchpoint_7d_30d"] = {
            **await timed(report_by_touchpoint, runs),
            "rows": sum(len(rows) for rows in reports),
        }
        rows = await year_by_touchpoint()
        results["rolling_scores_365d_by_touchpoint"] = {
            **await timed(year_by_touchpoint, max(3, runs // 2)),
            "rows": len(rows),
            "answers_counted": sum(row.n for row in rows),
        }
        zone = ZoneInfo(config.team.timezone)
        day = datetime.fromtimestamp(NOW, zone).date()
        at = config.team.daily_summary
        assert at is not None
        period = ReportPeriod(
            DAILY, period_key(DAILY, day), day, scheduled_at(day, at, zone).timestamp()
        )
        builder = SummaryBuilder(store, config)
        document, image = await builder.build(period, now=NOW, late=False)
        assert image, "the summary comes with its chart"

        async def summary() -> Any:
            return await builder.build(period, now=NOW, late=False)

        results["daily_summary_with_chart"] = {
            **await timed(summary, max(3, runs // 2)),
            "sections": len(document.sections),
            "chart_bytes": len(image),
        }
        return results
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--postgresql", metavar="URL", help="an empty PostgreSQL database")
    args = parser.parse_args()
    path = RESULTS / f"reports-{args.answers}-{args.days}d.db"
    RESULTS.mkdir(parents=True, exist_ok=True)
    built: dict[str, Any] = {}
    if args.rebuild or not path.exists():
        started = time.perf_counter()
        built = build_database(path, args.answers, args.days)
        built["build_seconds"] = round(time.perf_counter() - started, 1)
    size_mb = path.stat().st_size / 1e6
    copied: dict[str, Any] = {}
    if args.postgresql:
        copied = asyncio.run(copy_to_postgresql(path, args.postgresql))
    timings = asyncio.run(measure(args.postgresql or path, args.runs))
    scores = timings["rolling_scores_30d_by_touchpoint"]["median_s"]
    report = timings["report_by_touchpoint_7d_30d"]["median_s"]
    year = timings["rolling_scores_365d_by_touchpoint"]["median_s"]
    summary = timings["daily_summary_with_chart"]["median_s"]
    data = {
        "answers": args.answers,
        "days": args.days,
        "touchpoints": len(SURVEY_OF),
        "database_mb": round(size_mb, 1),
        "generated": built or "reused",
        "timings": timings,
        "goals": {"rolling_scores_30d_by_touchpoint_s": 0.5, "daily_summary_with_chart_s": 2.0},
        "goals_met": {"scores": scores < 0.5, "summary": summary < 2.0},
        "as_of": datetime.fromtimestamp(NOW, UTC).isoformat(),
    }
    if args.postgresql:
        data["backend"] = "postgresql"
        data["copied"] = copied
    out = write_results("reports-postgresql" if args.postgresql else "reports", data)
    print(
        f"reports{' on PostgreSQL' if args.postgresql else ''}: {args.answers:,} answers/{args.days} d/{len(SURVEY_OF)} touchpoints:"
        f" rolling scores by touchpoint (30 d) {scores * 1000:.0f} ms ({verdict(scores < 0.5)}),"
        f" the whole report (7 d and 30 d, each with its trend) {report * 1000:.0f} ms,"
        f" a whole year {year * 1000:.0f} ms,"
        f" daily summary with chart {summary * 1000:.0f} ms ({verdict(summary < 2.0)}) -> {out}"
    )


if __name__ == "__main__":
    main()
