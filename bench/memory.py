"""Memory: 10,000 conversations in flight at once, and palaute's peak resident memory.

    python -m bench.memory [--conversations 10000]

Every customer gets a 3-question survey, answers the first question at once and then thinks
about "why?": all conversations are open at the same moment, each with its inbox rows, outbox
rows, rate-limit bucket and Telegram message state. palaute runs with its pacing lifted so that
this takes minutes, not Telegram's 30 messages a second. Peak RSS (VmHWM) is read from /proc.
Writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.answer_storm import EXPECTED
from bench.common import (
    BenchTelegram,
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

FIRST_CHAT = 400_000_000
GOAL_MB = 200


async def run(conversations: int, workdir: Path) -> dict[str, Any]:
    fake = BenchTelegram()
    fake.rate_limits_enabled = False  # palaute runs with its pacing off (limits="off")
    first_questions: set[int] = set()
    second_questions: set[int] = set()
    users = {}

    def on_message(message: FakeMessage, _arrived: float) -> None:
        text = message.text or ""
        chat = message.chat_id
        if text.startswith(EXPECTED[0]) and chat not in first_questions:
            first_questions.add(chat)
            data = message.buttons[9]["callback_data"]
            asyncio.get_running_loop().call_soon(fake.push_callback, users[chat], message, data)
        elif text.startswith(EXPECTED[1]):
            second_questions.add(chat)

    fake.on_message = on_message
    await fake.start()
    chats = [FIRST_CHAT + n for n in range(conversations)]
    for chat in chats:
        users[chat] = fake.user(chat, first_name=f"M{chat - FIRST_CHAT}")
    port = free_port()
    bot = palaute_process(palaute_config(workdir, fake, port), workdir, limits="off")
    samples: list[float] = []
    try:
        await bot.start()
        await wait_for_http(port)
        await wait_until(lambda: fake.long_polls_waiting > 0, 30, "palaute to poll")
        idle = bot.stats()
        started = time.monotonic()

        async def sample() -> None:
            while True:
                samples.append(bot.stats().rss_mb)
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())
        await trigger(port, "storm", chats)
        await wait_until(
            lambda: len(second_questions) >= conversations,
            120 + conversations / 10,
            f"{conversations} conversations waiting for their second answer",
            interval=0.25,
        )
        opened = time.monotonic() - started
        await asyncio.sleep(2.0)  # settled: everything in flight is now just waiting
        stats = bot.stats()
        sampler.cancel()
    except BaseException:
        print(f"palaute's log ends with:\n{bot.tail()}", file=sys.stderr)
        raise
    finally:
        await bot.stop()
        await fake.stop()
    return {
        "conversations": conversations,
        "seconds_to_open_all": round(opened, 1),
        "idle_rss_mb": round(idle.rss_mb, 1),
        "rss_with_all_open_mb": round(stats.rss_mb, 1),
        "peak_rss_mb": round(stats.peak_rss_mb, 1),
        "rss_samples_max_mb": round(max(samples, default=0.0), 1),
        "bot_cpu_seconds": round(stats.cpu_seconds - idle.cpu_seconds, 1),
        "database_mb": round((workdir / "palaute.db").stat().st_size / 1e6, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="palaute-memory-"))
    try:
        result = await run(args.conversations, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    ok = result["peak_rss_mb"] < GOAL_MB
    path = write_results("memory", {**result, "goal_mb": GOAL_MB, "goal_met": ok})
    print(
        f"memory: {result['conversations']:,} conversations in flight: peak RSS"
        f" {result['peak_rss_mb']:.0f} MB ({verdict(ok)}; idle {result['idle_rss_mb']:.0f} MB,"
        f" {result['rss_with_all_open_mb']:.0f} MB with all open) -> {path}"
    )


if __name__ == "__main__":
    asyncio.run(main())
