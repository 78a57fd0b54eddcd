"""Telegram misbehaves: 10% of calls fail with 500s, 429s and timeouts; one message never goes.

Every message is still delivered, in order per chat, after a bounded number of attempts; a
message that keeps failing ends as `failed` with its reason, which `palaute status` and
`palaute report` show.
"""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.app import PalauteApp
from bot.dispatcher import MAX_ATTEMPTS
from bot.triggers import ContactSpec, TriggerRequest
from tests.conftest import AppFactory
from tests.customers import (
    QUESTIONS,
    STORM,
    Customer,
    answer_as_they_come,
    collapse,
    first_lines,
)
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.palaute_process import ROOT, palaute_command, write_config
from tests.telegram_helpers import MovableClock, telegram_config


@pytest.mark.slow
async def test_ten_percent_of_calls_failing_delays_but_loses_and_reorders_nothing(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path, STORM))
    fake.failure_seed = 8
    fake.failure_rate = 0.10
    fake.failure_kinds = ("500", "429", "slow")
    fake.slow_response_seconds = 5.5  # past PTB's 5 s read timeout: palaute sees a timeout
    customers = [
        Customer(fake.user(840_000 + n), nps=n % 11, why=f"because {n}", csat=n % 5 + 1)
        for n in range(16)
    ]
    for customer in customers:
        await app.triggers.trigger(
            TriggerRequest("storm", ContactSpec("telegram", str(customer.user.id)))
        )
    answering = asyncio.create_task(answer_as_they_come(fake, customers))
    try:
        await fake.wait_for(
            lambda: all(c.acknowledged == 3 for c in customers),
            120,
            message=lambda: f"all customers done: {[c.acknowledged for c in customers]}",
        )
        counts = await _settled_outbox(app)
    finally:
        answering.cancel()
    faults = [c for c in fake.calls if c.fault in ("random", "slow")]
    assert len(faults) >= 10, "the fault injection should have bitten"
    assert {c.status for c in faults if c.fault == "random"} >= {500, 429}
    assert set(counts) == {"sent"}, counts  # nothing failed for good, nothing left behind
    for customer in customers:
        chat = customer.user.id
        lines = first_lines(fake, chat)
        # In order; a send that timed out may have arrived anyway and been sent again.
        assert collapse(lines) == list(QUESTIONS), (chat, lines)
        slow_sends = sum(
            1
            for c in fake.calls
            if c.method == "sendMessage" and c.fault == "slow" and c.params.get("chat_id") == chat
        )
        assert len(lines) - len(QUESTIONS) <= slow_sends, (chat, lines)
        stored, _skipped = await app.store.answers.for_invitation(await _invitation_id(app, chat))
        assert stored == customer.expected
    attempts = await app.store.database.fetch_all("SELECT attempts FROM outbox")
    assert max(row["attempts"] for row in attempts) <= MAX_ATTEMPTS


async def _invitation_id(app: PalauteApp, chat: int) -> int:
    row = await app.store.database.fetch_one(
        "SELECT i.id FROM invitations i JOIN contacts c ON c.id = i.contact_id"
        " WHERE c.channel = 'telegram' AND c.address = ?",
        (str(chat),),
    )
    assert row is not None
    return int(row["id"])


async def _settled_outbox(app: PalauteApp, timeout: float = 30.0) -> dict[str, int]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        counts = await app.store.outbox.counts()
        if not counts.get("pending") and not counts.get("sending"):
            return counts
        assert asyncio.get_running_loop().time() < deadline, counts
        await asyncio.sleep(0.05)


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *palaute_command(), *args,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_a_message_that_keeps_failing_ends_failed_with_its_reason(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_telegram
    clock = MovableClock()
    app = await app_factory(telegram_config(fake, db_path), clock=clock)
    user = fake.user(850_001)
    fake.fail_next("sendMessage", 500, times=MAX_ATTEMPTS + 5)
    await app.triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", str(user.id))))
    deadline = asyncio.get_running_loop().time() + 20
    while not await app.store.outbox.failures():
        assert asyncio.get_running_loop().time() < deadline, await app.store.outbox.counts()
        clock.advance(600)  # past any backoff: the next attempt is due at once
        app.dispatcher.wake()
        await asyncio.sleep(0.05)
    [(_id, channel, address, kind, error)] = await app.store.outbox.failures()
    assert (channel, address, kind) == ("telegram", str(user.id), "prompt")
    assert error == f"gave up after {MAX_ATTEMPTS} attempts: Telegram: Internal Server Error"
    assert len(fake.calls_to("sendMessage")) == MAX_ATTEMPTS  # bounded
    assert fake.sent_messages(user.id) == []

    # The operator sees it, with its reason, from the command line.
    config = write_config(db_path.parent, fake)
    monkeypatch.setenv("PALAUTE_TEST_API_TOKEN", "x")
    monkeypatch.setenv("PALAUTE_TEST_TELEGRAM_TOKEN", fake.token)
    code, out, err = await _cli("status", "--config", str(config))
    assert code == 0, err
    assert f"failed #{_id} prompt to telegram:{user.id}: {error}" in out
    assert "Outbox: 1 failed" in out
    code, out, err = await _cli("report", "--config", str(config))
    assert code == 0, err
    assert "1 recent delivery failure(s); see `palaute status`." in out
