"""Importing history: `palaute import` of a 1,000,000-row CSV, as `palaute export` writes it.

    python -m bench.import_history [--rows 1000000]

Writes the file once (bench/results/history-<rows>.csv: 365 days of NPS responses, each an
NPS answer, a "why" and sometimes a "fix"), then times, each as a `palaute import` child
process into a fresh database: `--dry-run` (read and check every row), the import itself
(goal < 60 s), and the same file again (nothing added). Writes bench/results/import_history.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULTS, verdict, write_results

GOAL_SECONDS = 60.0
CPU_SECONDS: list[float] = []
COLUMNS = ["answer_id", "answered_at", "survey", "touchpoint", "channel", "invitation_id",
           "contact_id", "question", "kind", "value", "skipped", "properties"]  # fmt: skip
STORES = ["Kamppi", "Itis", "Sello", "Tampere", "Oulu"]


def write_history(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    end = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    start = end - 365 * 86400
    written = invitation = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        while written < rows:
            invitation += 1
            at = rng.uniform(start, end)
            score = max(0, min(10, round(rng.gauss(7.5, 2.3))))
            contact = "" if rng.random() < 0.3 else str(rng.randrange(1, 50_000))
            properties = json.dumps({"store": rng.choice(STORES)})
            channel = rng.choice(["telegram", "slack", "web"])
            answers = [("nps", "nps", str(score), "False")]
            answers.append(
                ("why", "text", rng.choice(["Quick", "Slow queue", "Nice staff"]), "False")
            )
            if score <= 6:
                answers.append(("fix", "text", "", "True"))
            for question, kind, value, skipped in answers:
                if written == rows:
                    break
                written += 1
                stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
                writer.writerow([written, stamp, "nps", "order_delivered", channel, invitation,
                                 contact, question, kind, value, skipped, properties])  # fmt: skip
                at += rng.uniform(5, 60)


def run_import(config: Path, file: Path, *extra: str) -> tuple[float, str]:
    """(wall seconds, what it printed); CPU seconds are added to CPU_SECONDS."""
    started = time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "import", "--config", str(config), str(file), *extra],
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime)
    return time.perf_counter() - started, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    file = RESULTS / f"history-{args.rows}.csv"
    if not file.exists():
        write_history(file, args.rows)
    with tempfile.TemporaryDirectory() as workdir:
        db = Path(workdir) / "palaute.db"
        config = Path(workdir) / "palaute.toml"
        config.write_text(f'[storage]\npath = "{db}"\n')
        dry_seconds, dry_said = run_import(config, file, "--dry-run")
        seconds, said = run_import(config, file)
        again_seconds, again_said = run_import(config, file)
        with sqlite3.connect(db) as connection:
            stored = connection.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        size = db.stat().st_size
    ok = seconds < GOAL_SECONDS and stored == args.rows
    results = {
        "rows": args.rows,
        "file_mb": round(file.stat().st_size / 1e6, 1),
        "dry_run_s": round(dry_seconds, 1),
        "import_s": round(seconds, 1),
        "rows_per_s": round(args.rows / seconds),
        "cpu_s": [round(c, 1) for c in CPU_SECONDS],
        "load_average": os.getloadavg(),
        "again_s": round(again_seconds, 1),
        "answers_stored": stored,
        "database_mb": round(size / 1e6, 1),
        "said": [dry_said, said, again_said],
        "goal_import_s": GOAL_SECONDS,
        "verdict": verdict(ok),
    }
    path = write_results("import_history", results)
    print(
        f"import of {args.rows:,} rows: {seconds:.1f} s ({verdict(ok)}, goal < {GOAL_SECONDS:.0f} s);"
        f" dry run {dry_seconds:.1f} s; again {again_seconds:.1f} s; {stored:,} answers stored;"
        f" CPU {CPU_SECONDS[1]:.1f} s; load average {os.getloadavg()[0]:.1f}"
        f" -> {path}"
    )


if __name__ == "__main__":
    main()
