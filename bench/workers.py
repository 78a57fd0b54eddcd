"""Several workers on one PostgreSQL: N `palaute run` processes with the same config (only the
port differs), Telegram in webhook mode, the limits off on both sides, so the figures measure
what N workers push, not Telegram's pace.

    python -m bench.workers --postgresql URL [--workers 1,2,4] [--recipients 2000]
                            [--customers 300]

For each N, on an emptied database (everything in its `public` schema goes):
* blast: `--recipients` chats are triggered through the trigger API, batches spread over the
  workers in turn (a load balancer's round robin); messages/s from the first trigger to the
  last invitation reaching the fake Telegram.
* answers: each of the first `--customers` of them answers the 3-question survey at once,
  every answer the moment its question arrives; the updates go to the workers' webhooks in
  turn, up to 40 at a time (Telegram's default `max_connections`). answers/s to the last thanks.

Also reported: duplicates (a message a customer got twice), each worker's CPU, and the
workers that refused to start (a palaute without several-worker support refuses a second
`palaute run` on one database: then only N = 1 is measured). Writes
bench/results/workers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.answer_storm import ANSWERS, FIRST_CHAT, Customer, Storm
from bench.common import (
    BenchTelegram,
    BotProcess,
    empty_postgresql,
    machine,
    palaute_config,
    palaute_process,
    trigger,
    wait_until,
    write_results,
)
from tests.fakes.telegram_api import FakeMessage
from tests.loopback import free_port
from tests.palaute_process import wait_for_http

WEBHOOK_SECRET = "bench-webhook-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_CONNECTIONS = 40
"""Telegram's default for a webhook: at most this many updates in flight at once."""


class WebhookRelay:
    """Telegram and the load balancer in one: every update the customers push is posted to the
    next worker's /telegram/webhook (a failed post goes to the next one, as nginx's
    proxy_next_upstream does)."""

    def __init__(self, fake: BenchTelegram, ports: list[int]) -> None:
        self.fake = fake
        self.ports = ports
        self._turn = itertools.cycle(range(len(ports)))
        """Set again by `start`, once the running workers are known."""
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.posted = 0
        self.failed = 0
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._turn = itertools.cycle(range(len(self.ports)))
        self._session = aiohttp.ClientSession(headers={SECRET_HEADER: WEBHOOK_SECRET})
        self._task = asyncio.create_task(self._relay())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._session is not None:
            await self._session.close()

    async def _relay(self) -> None:
        pending: set[asyncio.Task[None]] = set()
        while True:
            updates = self.fake._pending_updates  # what getUpdates would hand out
            if not updates:
                await asyncio.sleep(0.001)
                continue
            batch, updates[:] = list(updates), []
            for update in batch:
                await self._slots.acquire()
                task = asyncio.create_task(self._post(update))
                pending.add(task)
                task.add_done_callback(pending.discard)

    async def _post(self, update: dict[str, Any]) -> None:
        assert self._session is not None
        try:
            for _ in range(len(self.ports)):
                port = self.ports[next(self._turn)]
                try:
                    async with self._session.post(
                        f"http://127.0.0.1:{port}/telegram/webhook", json=update
                    ) as response:
                        if response.status == 200:
                            self.posted += 1
                            return
                except aiohttp.ClientError:
                    pass
            self.failed += 1
        finally:
            self._slots.release()


async def run_workers(
    count: int, url: str, recipients: int, customers: int, workdir: Path
) -> dict[str, Any]:
    await empty_postgresql(url)
    fake = BenchTelegram()
    fake.rate_limits_enabled = False
    storm = Storm(fake, None, random.Random(8))
    received: dict[int, int] = {}
    """Chat -> the messages it got: one invitation each, more only as answers come in."""

    def on_message(message: FakeMessage, arrived: float) -> None:
        received[message.chat_id] = received.get(message.chat_id, 0) + 1
        storm.on_message(message, arrived)

    fake.on_message = on_message
    await fake.start()
    chats = [FIRST_CHAT + n for n in range(recipients)]
    for chat in chats:
        user = fake.user(chat, first_name=f"C{chat - FIRST_CHAT}")
        if len(storm.customers) < customers:
            storm.customers[chat] = Customer(user)
    ports = [free_port() for _ in range(count)]
    bots: list[BotProcess] = []
    for n, port in enumerate(ports, start=1):
        config = palaute_config(workdir / f"worker-{n}", fake, port, postgresql=True)
        _to_webhook_mode(config)
        bots.append(
            palaute_process(config, workdir, limits="off", database_url=url, name=f"worker-{n}")
        )
    relay = WebhookRelay(fake, ports)
    refused: list[str] = []
    result: dict[str, Any] = {"workers": count}
    try:
        for bot, port in zip(bots, ports, strict=True):
            await bot.start()
            try:
                await wait_for_http(port)
            except Exception:  # a worker that refused to start: say why, go on
                refused.append(bot.tail(3))
        running = [
            p
            for p, b in zip(ports, bots, strict=True)
            if b.process and b.process.returncode is None
        ]
        result["workers_running"] = len(running)
        result["refused"] = refused
        if not running:
            raise RuntimeError(f"no worker started: {refused}")
        relay.ports = running
        await relay.start()
        cpu_before = {
            b.pid: b.stats().cpu_seconds for b in bots if b.process and b.process.returncode is None
        }

        started = time.monotonic()
        batch = 250
        batches = [chats[i : i + batch] for i in range(0, len(chats), batch)]
        await asyncio.gather(
            *(trigger(running[i % len(running)], "storm", b) for i, b in enumerate(batches))
        )
        await wait_until(
            lambda: len(received) >= recipients, 60 + recipients / 10, "every invitation"
        )
        blast_seconds = time.monotonic() - started
        await asyncio.sleep(0.5)  # a duplicate still on its way
        sent = sum(received.values())
        result["blast"] = {
            "recipients": recipients,
            "messages": sent,
            "seconds": round(blast_seconds, 3),
            "messages_per_second": round(sent / blast_seconds, 1),
            "duplicates": sent - recipients,
        }

        await asyncio.sleep(0.5)
        started = time.monotonic()
        storm.go()
        await wait_until(
            lambda: storm.finished == storm.invited, 120 + customers * ANSWERS / 5,
            f"{customers} customers to finish", interval=0.05,
        )  # fmt: skip
        answers = storm.finished * ANSWERS
        elapsed = storm.last_at - started
        result["answers"] = {
            "customers": customers,
            "answers": answers,
            "seconds": round(elapsed, 3),
            "answers_per_second": round(answers / elapsed, 1),
            "unexpected_messages": storm.unexpected,
            "webhook_posts": relay.posted,
            "webhook_failures": relay.failed,
        }
        result["worker_cpu_seconds"] = [
            round(b.stats().cpu_seconds - cpu_before[b.pid], 2)
            for b in bots
            if b.process and b.process.returncode is None
        ]
    except BaseException:
        for bot in bots:
            print(f"{bot.log_path.name} ends with:\n{bot.tail()}", file=sys.stderr)
        raise
    finally:
        await relay.stop()
        for bot in bots:
            if bot.process is not None:
                await bot.stop()
        await fake.stop()
    return result


def _to_webhook_mode(config: Path) -> None:
    """The bench config polls; behind a load balancer every worker takes webhooks instead."""
    text = config.read_text(encoding="utf-8")
    text = text.replace(
        'mode = "polling"', f'mode = "webhook"\nwebhook_secret = "{WEBHOOK_SECRET}"'
    )
    text = text.replace("[server]\n", '[server]\npublic_url = "https://palaute.bench.invalid"\n', 1)
    config.write_text(text, encoding="utf-8")


def _line(result: dict[str, Any]) -> str:
    if "answers" not in result:
        return f"{result['workers']} worker(s): not measured ({result.get('refused')})"
    return (
        f"{result['workers']} worker(s) ({result['workers_running']} running):"
        f" {result['blast']['messages_per_second']:.0f} messages/s,"
        f" {result['answers']['answers_per_second']:.0f} answers/s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    parser.add_argument("--postgresql", metavar="URL", required=True, help="emptied on each run")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the configs and logs")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="palaute-workers-"))
    results: list[dict[str, Any]] = []
    try:
        for count in (int(n) for n in args.workers.split(",")):
            result = await run_workers(
                count, args.postgresql, args.recipients, args.customers, tmp / f"n{count}"
            )
            print(f"  {_line(result)}", file=sys.stderr)
            results.append(result)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    one = next((r for r in results if r["workers"] == 1 and "answers" in r), None)
    summary: dict[str, Any] = {}
    for result in results:
        if one is not None and "answers" in result and result["workers_running"] > 1:
            summary[f"{result['workers']}_workers"] = {
                "messages_ratio": round(
                    result["blast"]["messages_per_second"] / one["blast"]["messages_per_second"], 2
                ),
                "answers_ratio": round(
                    result["answers"]["answers_per_second"] / one["answers"]["answers_per_second"],
                    2,
                ),
            }
    path = write_results("workers", {"summary": summary, "machine": machine(), "runs": results})
    print(f"workers: {'; '.join(_line(r) for r in results)}; {json.dumps(summary)} -> {path}")


if __name__ == "__main__":
    asyncio.run(main())
