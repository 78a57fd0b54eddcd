"""SIGKILL the running bot mid-batch, restart it: every invitation is delivered, within the bound."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from aiohttp import web

from bot.clock import SystemClock
from bot.config import parse_config
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.services import trigger_service
from storage.store import Store
from tests.any_time import at_any_time
from tests.loopback import serve

ANY_TIME = parse_config(at_any_time(""), environ={})
"""On the wall clock at any hour: no quiet hours, no fatigue guard (see tests/any_time.py)."""

ROOT = Path(__file__).resolve().parent.parent
RECIPIENTS = 300


async def _recorder() -> tuple[web.AppRunner, str, list[dict[str, str]]]:
    received: list[dict[str, str]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"message_id": len(received)})

    app = web.Application()
    app.router.add_post("/send", receive)
    runner, url = await serve(app)
    return runner, f"{url}/send", received


async def _spawn(location: str, url: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.crash_worker", location, url,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def _until_all_sent(location: str, deadline: float) -> None:
    store = await Store.open(location)
    try:
        loop = asyncio.get_running_loop()
        while await store.outbox.counts() != {"sent": RECIPIENTS} and loop.time() < deadline:
            await asyncio.sleep(0.1)
    finally:
        await store.close()


async def test_sigkill_mid_batch_loses_nothing(database_location: str) -> None:
    store = await Store.open(database_location)
    triggers = trigger_service(store, ANY_TIME, SystemClock(), channels=["telegram"])
    for n in range(RECIPIENTS):
        await triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", str(10_000 + n))))
    await store.close()
    runner, url, received = await _recorder()
    try:
        worker = await _spawn(database_location, url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while len(received) < RECIPIENTS // 3 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        killed_at = len(received)
        assert 0 < killed_at < RECIPIENTS, f"the kill should land mid-batch, {killed_at} were sent"
        worker = await _spawn(database_location, url)
        while len({m["chat"] for m in received}) < RECIPIENTS and loop.time() < deadline + 30:
            await asyncio.sleep(0.05)
        # A message in flight at the kill reached its chat, but is sent again once its claim
        # lapses: SIGTERM before that would leave it pending, for the next start (not lost).
        await _until_all_sent(database_location, deadline + 60)
        worker.send_signal(signal.SIGTERM)
        assert await worker.wait() == 0
    finally:
        await runner.cleanup()
    per_chat = Counter(m["chat"] for m in received)
    assert len(per_chat) == RECIPIENTS, "every invitation was delivered"
    duplicates = sum(count - 1 for count in per_chat.values())
    # At most one duplicate per message in flight at the kill (the dispatcher has at most 64).
    assert duplicates <= 64, duplicates
    print(f"killed after {killed_at} sends; {duplicates} duplicate(s) after restart")
    store = await Store.open(database_location)
    counts = await store.outbox.counts()
    await store.close()
    assert counts == {"sent": RECIPIENTS}
