"""Event blast: many recipients triggered at once, sent through a fake Telegram that enforces
Telegram's published limits (30 messages/s overall, 1/s per chat after a short burst), then the
same with every limit off (palaute's raw sending speed, CPU-bound).

    python -m bench.blast [--recipients 10000] [--raw-recipients 10000] [--survey gala|visit]
                          [--only limited|raw]

The recipients are triggered through the trigger API in batches of 1,000, as a shop or CRM
would. The default survey (`gala`, the built-in event survey) opens with a greeting, so each
invitation is two Telegram messages. Writes bench/results/blast.json.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import (
    BenchTelegram,
    own_cpu_seconds,
    palaute_config,
    palaute_process,
    trigger,
    verdict,
    wait_until,
    write_results,
)
from tests.fakes.telegram_api import FakeMessage
from tests.loopback import free_port
from tests.palaute_process import wait_for_http

TELEGRAM_LIMIT = 30.0
FIRST_CHAT = 200_000_000
MESSAGES_PER_INVITATION = {"gala": 2, "visit": 1, "storm": 1}


async def run_blast(
    recipients: int, *, limited: bool, touchpoint: str, workdir: Path
) -> dict[str, Any]:
    fake = BenchTelegram()
    fake.rate_limits_enabled = limited
    expected = MESSAGES_PER_INVITATION[touchpoint]
    per_chat: Counter[int] = Counter()
    arrivals: list[float] = []

    def on_message(message: FakeMessage, arrived: float) -> None:
        per_chat[message.chat_id] += 1
        arrivals.append(arrived)

    fake.on_message = on_message
    await fake.start()
    port = free_port()
    config = palaute_config(workdir, fake, port)
    bot = palaute_process(config, workdir, limits="telegram" if limited else "off")
    chats = [FIRST_CHAT + n for n in range(recipients)]
    for chat in chats:
        fake.user(chat, first_name=f"Guest {chat - FIRST_CHAT}")
    try:
        await bot.start()
        await wait_for_http(port)
        await wait_until(lambda: fake.long_polls_waiting > 0, 30, "palaute to poll")
        cpu_before = bot.stats().cpu_seconds
        fake_cpu_before = own_cpu_seconds()
        started = time.monotonic()
        trigger_seconds = await trigger(port, touchpoint, chats)
        total = recipients * expected
        timeout = 60 + (total / TELEGRAM_LIMIT * 1.5 if limited else total / 50)
        await wait_until(
            lambda: sum(min(n, expected) for n in per_chat.values()) >= total,
            timeout,
            f"{total} messages",
            interval=0.2,
        )
        finished = time.monotonic()
        cpu_after = bot.stats().cpu_seconds
        fake_cpu_after = own_cpu_seconds()
        await asyncio.sleep(2.0)  # a late duplicate would show up now
    except BaseException:
        print(f"the bot's log ends with:\n{bot.tail()}", file=sys.stderr)
        raise
    finally:
        code = await bot.stop()
        await fake.stop()
    peak_rss = bot.final.peak_rss_mb if bot.final else 0.0
    with sqlite3.connect(workdir / "palaute.db") as db:
        outbox = dict(db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    sends = [c for c in fake.calls if c.method == "sendMessage"]
    too_many = sum(1 for c in sends if c.status == 429)
    delivered = sum(per_chat.values())
    lost = sum(1 for chat in chats if per_chat[chat] < expected)
    duplicated = sum(max(0, per_chat[chat] - expected) for chat in chats)
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    rate = (len(arrivals) - 1) / span if span > 0 else 0.0
    return {
        "limited": limited,
        "touchpoint": touchpoint,
        "recipients": recipients,
        "messages_per_invitation": expected,
        "messages_delivered": delivered,
        "trigger_api_seconds": round(trigger_seconds, 2),
        "first_message_after_seconds": round(arrivals[0] - started, 2) if arrivals else None,
        "sending_seconds": round(span, 2),
        "all_delivered_after_seconds": round(finished - started, 2),
        "messages_per_second": round(rate, 2),
        "ratio_of_limit": round(rate / TELEGRAM_LIMIT, 4) if limited else None,
        "http_429": too_many,
        "http_429_after_seconds": [
            round(c.timestamp - started, 2) for c in sends if c.status == 429
        ],
        "lost": lost,
        "duplicated": duplicated,
        "outbox": outbox,
        "api_calls": fake.calls_by_method(),
        "bot_cpu_seconds": round(cpu_after - cpu_before, 2),
        "bot_cpu_ms_per_message": round(1000 * (cpu_after - cpu_before) / max(delivered, 1), 3),
        "fake_cpu_seconds": round(fake_cpu_after - fake_cpu_before, 2),
        "bot_peak_rss_mb": round(peak_rss, 1),
        "bot_exit_code": code,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.blast", description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000, help="for the limited run")
    parser.add_argument("--raw-recipients", type=int, default=10_000, help="for the raw run")
    parser.add_argument("--survey", choices=sorted(MESSAGES_PER_INVITATION), default="gala")
    parser.add_argument("--only", choices=["limited", "raw"])
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    tmp = tempfile.mkdtemp(prefix="palaute-blast-")
    try:
        if args.only != "raw":
            results["limited"] = await run_blast(
                args.recipients, limited=True, touchpoint=args.survey, workdir=Path(tmp, "limited")
            )
        if args.only != "limited":
            results["raw"] = await run_blast(
                args.raw_recipients, limited=False, touchpoint=args.survey, workdir=Path(tmp, "raw")
            )
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    path = write_results("blast" if args.only is None else f"blast-{args.only}", results)
    parts = []
    limited = results.get("limited")
    if limited:
        ok = (
            limited["ratio_of_limit"] >= 0.95
            and limited["http_429"] == 0
            and limited["lost"] == 0
            and limited["duplicated"] == 0
        )
        parts.append(
            f"limited {limited['recipients']} recipients: {limited['messages_per_second']:.1f} msg/s"
            f" = {limited['ratio_of_limit']:.3f} of the limit, {limited['http_429']} 429s,"
            f" {limited['lost']} lost, {limited['duplicated']} duplicated ({verdict(ok)})"
        )
    raw = results.get("raw")
    if raw:
        parts.append(
            f"raw {raw['recipients']} recipients: {raw['messages_per_second']:.0f} msg/s,"
            f" {raw['lost']} lost, {raw['duplicated']} duplicated"
        )
    print(
        f"blast: {'; '.join(parts)} -> {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
    )


if __name__ == "__main__":
    asyncio.run(main())
