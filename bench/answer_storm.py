"""Answer storm: N customers answering a 3-question survey (NPS tap, "why?" text, CSAT tap),
on palaute and on the hand-rolled python-telegram-bot baseline (bench.baseline_ptb), against
the same fake Telegram with its rate limits off (palaute's pacing is lifted too: this measures
CPU, not Telegram's limits).

    python -m bench.answer_storm [--customers 1000] [--moderate-customers 150] [--think 3]
                                 [--only palaute|baseline] [--rounds 1]
    python -m bench.answer_storm --telegram-limits [--limits-customers 100]
    python -m bench.answer_storm --postgresql URL [--only palaute]

* saturation: every customer has the first question; all tap at once and answer each next
  question the moment it arrives. Reported: answers/s (3N answers over the time to the last
  thanks) and the p50/p99 latency from an answer to the next question reaching the fake.
* moderate: each customer thinks an exponentially distributed `--think` seconds (mean) before
  each answer, so answers arrive smoothly at about N/think per second.

Every HTTP call the bot makes is counted per answer. Writes bench/results/answer_storm.json.

`--telegram-limits` runs the storm under Telegram's flood limits instead (the fake at 30
messages a second overall and 1 a second per chat), first with no per-chat burst at all, then
with the fake's default burst, each on palaute and on the baseline paced by PTB's
AIORateLimiter. Besides answers/s and latency it counts the 429s, the 429s to a chat that had
already had one, and the customers whose invitation never arrived. Writes
bench/results/answer_storm_limits.json.

`--postgresql URL` keeps palaute's data in that PostgreSQL database instead of a SQLite file
(emptied before each run: everything in its `public` schema goes). Writes
bench/results/answer_storm-postgresql.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.baseline_ptb import CSAT_TEXT, NPS_TEXT, THANKS_TEXT, WHY_TEXT
from bench.common import (
    BenchTelegram,
    BotProcess,
    empty_postgresql,
    own_cpu_seconds,
    palaute_config,
    palaute_process,
    percentile,
    trigger,
    verdict,
    wait_until,
    write_results,
)
from tests.fakes.telegram_api import FakeMessage, FakeUser
from tests.loopback import free_port
from tests.palaute_process import wait_for_http

FIRST_CHAT = 300_000_000
EXPECTED = (NPS_TEXT, WHY_TEXT, CSAT_TEXT, THANKS_TEXT)
"""What a customer sees after 0, 1, 2 and 3 answers (palaute and the baseline alike)."""
ANSWERS = 3


@dataclass
class Customer:
    user: FakeUser
    answered: int = 0
    seen: int = -1
    """Index in EXPECTED of the newest question this customer received."""
    question: FakeMessage | None = None
    answered_at: float | None = None


@dataclass
class Storm:
    fake: BenchTelegram
    think: float | None
    """Mean think time in seconds; None answers at once (saturation)."""
    rng: random.Random
    customers: dict[int, Customer] = field(default_factory=dict)
    going: bool = False
    latencies: list[float] = field(default_factory=list)
    finished: int = 0
    last_at: float = 0.0
    unexpected: int = 0

    def on_message(self, message: FakeMessage, arrived: float) -> None:
        customer = self.customers.get(message.chat_id)
        if customer is None:
            return
        text = message.text or ""
        stage = customer.answered
        if stage >= len(EXPECTED) or not text.startswith(EXPECTED[stage]) or customer.seen == stage:
            self.unexpected += 1  # a duplicate or a message out of order
            return
        customer.seen = stage
        customer.question = message
        if customer.answered_at is not None:
            self.latencies.append(arrived - customer.answered_at)
            customer.answered_at = None
        if stage == ANSWERS:
            self.finished += 1
            self.last_at = arrived
            return
        if self.going:
            self.schedule(customer)

    def schedule(self, customer: Customer) -> None:
        loop = asyncio.get_running_loop()
        if self.think is None:
            loop.call_soon(self.answer, customer)
        else:
            loop.call_later(self.rng.expovariate(1 / self.think), self.answer, customer)

    @property
    def invited(self) -> int:
        """Customers who got the first question (all of them, unless invitations were lost)."""
        return sum(1 for customer in self.customers.values() if customer.seen >= 0)

    def go(self) -> None:
        self.going = True
        for customer in self.customers.values():
            if customer.seen >= 0:
                self.schedule(customer)

    def answer(self, customer: Customer) -> None:
        question = customer.question
        assert question is not None
        if customer.answered == 0:
            self.fake.push_callback(customer.user, question, question.buttons[9]["callback_data"])
        elif customer.answered == 1:
            self.fake.push_text(customer.user, "Quick delivery, friendly staff 👍")
        else:
            self.fake.push_callback(customer.user, question, question.buttons[-1]["callback_data"])
        customer.answered += 1
        customer.answered_at = time.monotonic()


async def run_storm(
    bot_kind: str,
    customers: int,
    *,
    think: float | None,
    workdir: Path,
    seed: int = 8,
    limited: bool = False,
    chat_burst: int | None = None,
    postgresql: str | None = None,
) -> dict[str, Any]:
    fake = BenchTelegram()
    fake.rate_limits_enabled = limited
    if chat_burst is not None:
        fake.private_chat_burst = chat_burst
    storm = Storm(fake, think, random.Random(seed))
    fake.on_message = storm.on_message
    await fake.start()
    chats = [FIRST_CHAT + n for n in range(customers)]
    for chat in chats:
        storm.customers[chat] = Customer(fake.user(chat, first_name=f"C{chat - FIRST_CHAT}"))
    if bot_kind == "palaute":
        port = free_port()
        limits = "telegram" if limited else "off"
        if postgresql:
            await empty_postgresql(postgresql)
        config = palaute_config(workdir, fake, port, postgresql=postgresql is not None)
        bot = palaute_process(config, workdir, limits=limits, database_url=postgresql)
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        bot = BotProcess(
            "bench.baseline_ptb",
            ["--base-url", fake.base_url, "--data", str(workdir)] + (["--rate-limiter"] if limited else []),
            workdir / "bot.log",
        )  # fmt: skip
    try:
        await bot.start()
        if bot_kind == "palaute":
            await wait_for_http(port)
        await wait_until(lambda: fake.long_polls_waiting > 0, 30, "the bot to poll")
        # Everyone gets the first question: invited by palaute, or /start with the baseline.
        if bot_kind == "palaute":
            await trigger(port, "storm", chats)
        else:
            for customer in storm.customers.values():
                fake.push_text(customer.user, "/start")
        await wait_until(
            lambda: all(c.seen == 0 for c in storm.customers.values()),
            60 + customers / 20,
            "every customer to get the first question",
            interval=0.05,
            give_up=limited,  # under the limits, counted as invitations never sent
        )
        await asyncio.sleep(1.0)  # let the bot finish confirming what it was doing
        calls_before = len(fake.calls)
        cpu_before, fake_cpu_before = bot.stats().cpu_seconds, own_cpu_seconds()
        started = time.monotonic()
        storm.go()
        budget = 120 + customers * ANSWERS / 20 + (think or 0) * 10
        await wait_until(
            lambda: storm.finished == storm.invited,
            budget,
            f"{customers} customers to finish",
            interval=0.05,
            give_up=limited,
        )
        cpu_after, fake_cpu_after = bot.stats().cpu_seconds, own_cpu_seconds()
        await asyncio.sleep(0.5)
    except BaseException:
        print(f"the {bot_kind} bot's log ends with:\n{bot.tail()}", file=sys.stderr)
        raise
    finally:
        code = await bot.stop()
        await fake.stop()
    answers = storm.finished * ANSWERS
    elapsed = storm.last_at - started
    measured = fake.calls[calls_before:]
    refused: dict[int, int] = {}  # chat -> 429s answered to it over the whole run
    refused_by: dict[str, int] = {}  # which of the fake's limits refused them
    for call in fake.calls:
        if call.status == 429 and "chat_id" in call.params:
            chat = int(call.params["chat_id"])
            refused[chat] = refused.get(chat, 0) + 1
            refused_by[str(call.fault)] = refused_by.get(str(call.fault), 0) + 1
    per_method: dict[str, float] = {}
    for call in measured:
        per_method[call.method] = per_method.get(call.method, 0) + 1
    return {
        "bot": bot_kind,
        "database": "postgresql" if postgresql and bot_kind == "palaute" else "sqlite",
        "mode": "saturation" if think is None else f"moderate (think {think:g} s)",
        "telegram_limits": limited,
        "customers": customers,
        "answers": answers,
        "seconds": round(elapsed, 3),
        "answers_per_second": round(answers / elapsed, 1),
        "offered_answers_per_second": None if think is None else round(customers / think, 1),
        "latency_ms": {
            "p50": round(1000 * percentile(storm.latencies, 50), 2),
            "p90": round(1000 * percentile(storm.latencies, 90), 2),
            "p99": round(1000 * percentile(storm.latencies, 99), 2),
            "max": round(1000 * max(storm.latencies), 2),
        },
        "http_calls_per_answer": round(len(measured) / answers, 3),
        "http_calls_per_answer_by_method": {
            method: round(n / answers, 3) for method, n in sorted(per_method.items())
        },
        "http_errors": sum(1 for call in measured if call.status != 200),
        "http_429": sum(1 for call in measured if call.status == 429),
        "http_429_whole_run": sum(refused.values()),
        "http_429_repeated": sum(n - 1 for n in refused.values()),
        "chats_with_429": len(refused),
        "http_429_by_limit": refused_by,
        "finished": storm.finished,
        "invitations_never_sent": customers - storm.invited,
        "tcp_connections": len(fake.client_ports),
        "unexpected_messages": storm.unexpected,
        "bot_cpu_ms_per_answer": round(1000 * (cpu_after - cpu_before) / answers, 3),
        "fake_cpu_ms_per_answer": round(1000 * (fake_cpu_after - fake_cpu_before) / answers, 3),
        "bot_exit_code": code,
    }


def _line(result: dict[str, Any]) -> str:
    latency = result["latency_ms"]
    return (
        f"{result['answers_per_second']:.0f} answers/s, p50 {latency['p50']:.1f} ms,"
        f" p99 {latency['p99']:.1f} ms, {result['http_calls_per_answer']:.2f} calls/answer"
    )


CHAT_BURSTS = {"bursts_off": 0, "bursts_on": None}
"""The fake's per-chat burst: none at all (strictly 1 a second), or its default."""


def _limited_line(result: dict[str, Any]) -> str:
    return (
        f"{result['finished']}/{result['customers']} finished, {_line(result)},"
        f" {result['http_429_whole_run']} x 429 ({result['http_429_repeated']} repeated in a"
        f" chat), {result['invitations_never_sent']} invitations never sent"
    )


async def under_telegram_limits(kinds: list[str], customers: int, *, keep: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="palaute-storm-limits-"))
    results: dict[str, Any] = {}
    try:
        for bursts, chat_burst in CHAT_BURSTS.items():
            for kind in kinds:
                key = f"{kind}_{bursts}"
                result = await run_storm(
                    kind,
                    customers,
                    think=None,
                    workdir=tmp / key,
                    limited=True,
                    chat_burst=chat_burst,
                )
                result["fake_private_chat_burst"] = chat_burst
                print(f"  {key}: {_limited_line(result)}", file=sys.stderr)
                results[key] = result
    finally:
        if keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    summary: dict[str, Any] = {}
    parts = []
    for bursts in CHAT_BURSTS:
        palaute, baseline = results.get(f"palaute_{bursts}"), results.get(f"baseline_{bursts}")
        if not (palaute and baseline):
            continue
        ratio = palaute["answers_per_second"] / baseline["answers_per_second"]
        p99_ratio = palaute["latency_ms"]["p99"] / baseline["latency_ms"]["p99"]
        goals = {
            "throughput": ratio >= 1.0,
            "p99": p99_ratio <= 0.5,
            "all_invited": palaute["invitations_never_sent"] == 0,
            "all_finished": palaute["finished"] == palaute["customers"],
        }
        if bursts == "bursts_off":
            goals["no_repeated_429"] = palaute["http_429_repeated"] == 0
        summary[bursts] = {
            "throughput_ratio_to_baseline": round(ratio, 3),
            "p99_ratio_to_baseline": round(p99_ratio, 3),
            "goals_met": goals,
        }
        parts.append(
            f"{bursts}: answers/s {ratio:.2f}x ({verdict(goals['throughput'])}),"
            f" p99 {p99_ratio:.2f}x ({verdict(goals['p99'])}),"
            f" palaute {palaute['http_429_whole_run']} x 429"
            f" ({palaute['http_429_repeated']} repeated),"
            f" baseline {baseline['http_429_whole_run']} x 429"
        )
    path = write_results("answer_storm_limits", {"summary": summary, **results})
    print(f"answer_storm --telegram-limits: {'; '.join(parts)} -> {path}")


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.answer_storm", description=__doc__)
    parser.add_argument("--customers", type=int, default=1000, help="at saturation")
    parser.add_argument("--moderate-customers", type=int, default=150)
    parser.add_argument("--think", type=float, default=3.0, help="mean think time, seconds")
    parser.add_argument(
        "--limited-customers",
        type=int,
        default=30,
        help="palaute at moderate load under Telegram's limits (0: skip)",
    )
    parser.add_argument(
        "--telegram-limits",
        action="store_true",
        help="only the storm under Telegram's limits, per-chat bursts off and on, both bots",
    )
    parser.add_argument("--limits-customers", type=int, default=100)
    parser.add_argument("--only", choices=["palaute", "baseline"])
    parser.add_argument("--rounds", type=int, default=1, help="repeat and keep each one's best")
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    parser.add_argument(
        "--postgresql", metavar="URL", help="palaute's data in this PostgreSQL database (emptied)"
    )
    args = parser.parse_args()
    kinds = [args.only] if args.only else ["baseline", "palaute"]
    if args.telegram_limits:
        await under_telegram_limits(kinds, args.limits_customers, keep=args.keep)
        return
    tmp = Path(tempfile.mkdtemp(prefix="palaute-storm-"))
    results: dict[str, Any] = {}
    try:
        for round_ in range(args.rounds):
            for kind in kinds:
                for mode, n, think in (
                    ("saturation", args.customers, None),
                    ("moderate", args.moderate_customers, args.think),
                ):
                    key = f"{kind}_{mode}"
                    result = await run_storm(
                        kind, n, think=think, workdir=tmp / f"{key}-{round_}", seed=8 + round_,
                        postgresql=args.postgresql,
                    )  # fmt: skip
                    print(f"  {key} (round {round_ + 1}): {_line(result)}", file=sys.stderr)
                    best = results.get(key)
                    better = (
                        best is None
                        or (mode == "saturation" and result["answers_per_second"] > best["answers_per_second"])
                        or (mode == "moderate" and result["latency_ms"]["p99"] < best["latency_ms"]["p99"])
                    )  # fmt: skip
                    if better:
                        results[key] = result
        if args.limited_customers and "palaute" in kinds:
            result = await run_storm(
                "palaute",
                args.limited_customers,
                think=args.think,
                workdir=tmp / "palaute_limited",
                limited=True,
                postgresql=args.postgresql,
            )
            print(f"  palaute_moderate_limited: {_line(result)}", file=sys.stderr)
            results["palaute_moderate_limited"] = result
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    summary: dict[str, Any] = {}
    parts = []
    palaute, baseline = results.get("palaute_saturation"), results.get("baseline_saturation")
    if palaute and baseline:
        ratio = palaute["answers_per_second"] / baseline["answers_per_second"]
        p99_ratio = palaute["latency_ms"]["p99"] / baseline["latency_ms"]["p99"]
        summary = {
            "throughput_ratio_to_baseline": round(ratio, 3),
            "p99_ratio_to_baseline": round(p99_ratio, 3),
            "throughput_goal_met": ratio >= 1.2,
        }
        parts.append(
            f"saturation: palaute {_line(palaute)}; baseline {_line(baseline)};"
            f" ratio {ratio:.2f}x ({verdict(ratio >= 1.2)}), p99 ratio {p99_ratio:.2f}"
        )
    elif palaute or baseline:
        parts.append(f"saturation: {_line(palaute or baseline)}")  # type: ignore[arg-type]
    moderate = results.get("palaute_moderate")
    if moderate:
        ok = moderate["latency_ms"]["p99"] < 100
        summary["moderate_p99_goal_met"] = ok
        parts.append(
            f"moderate {moderate['offered_answers_per_second']:.0f} answers/s offered: palaute"
            f" p50 {moderate['latency_ms']['p50']:.1f} ms p99 {moderate['latency_ms']['p99']:.1f} ms"
            f" ({verdict(ok)})"
        )
    limited = results.get("palaute_moderate_limited")
    if limited:
        summary["moderate_limited_p99_ms"] = limited["latency_ms"]["p99"]
        parts.append(
            f"under Telegram's limits ({limited['customers']} customers):"
            f" p99 {limited['latency_ms']['p99']:.1f} ms, {limited['http_429']} 429s"
        )
    name = "answer_storm-postgresql" if args.postgresql else "answer_storm"
    path = write_results(name, {"summary": summary, **results})
    print(f"{name}: {'; '.join(parts)} -> {path}")


if __name__ == "__main__":
    asyncio.run(main())
