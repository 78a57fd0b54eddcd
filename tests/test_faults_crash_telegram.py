"""SIGKILL and SIGTERM a real `palaute run` process talking to the fake Telegram, then restart it.

Nothing may be lost: every invitation arrives, every answer a customer gave ends up in SQLite
once, and a message arrives twice only if it was in flight at the moment of the kill (the
outbox's documented bound: at most one duplicate, only for those).
"""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.config import Config, parse_config
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.services import trigger_service
from storage.store import Store
from tests.any_time import at_any_time
from tests.customers import STORM, Customer, answer_as_they_come, first_lines
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.palaute_process import PalauteProcess, integrity, query, write_config

pytestmark = pytest.mark.slow

GALA = '[touchpoints.gala]\nsurvey = "event"\nproperties = { event_name = "the gala" }\n'
GREETING = "Thank you for being part of the gala! Three quick questions."
FIRST_QUESTION = "Before the event: how well did booking and information work?"


def _config(toml: str) -> Config:
    return parse_config(at_any_time(toml), environ={})


async def _invite(db_path: Path, toml: str, touchpoint: str, chats: list[int]) -> None:
    """Touchpoints recorded while palaute is down, as `palaute trigger` would."""
    store = await Store.open(db_path)
    try:
        # The running palaute has the Telegram channel; this process only stores triggers.
        triggers = trigger_service(store, _config(toml), SystemClock(), channels=["telegram"])
        for chat in chats:
            await triggers.trigger(TriggerRequest(touchpoint, ContactSpec("telegram", str(chat))))
    finally:
        await store.close()


def _in_flight(db_path: Path) -> set[str]:
    """Chats with a message claimed but not confirmed sent: in flight when the process died."""
    rows = query(db_path, "SELECT address FROM outbox WHERE state = 'sending'")
    return {str(row[0]) for row in rows}


async def test_sigkill_during_an_event_blast_delivers_every_invitation(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake = fake_telegram
    fake.rate_limits_enabled = True  # Telegram's limits: palaute paces itself to them
    chats = [810_000 + n for n in range(90)]
    for chat in chats:
        fake.user(chat)
    db_path = tmp_path / "palaute.db"
    config = write_config(tmp_path, fake, GALA)
    await _invite(db_path, GALA, "gala", chats)
    bot = PalauteProcess(config, fake)
    try:
        await bot.start()
        await fake.wait_for(
            lambda: len(fake.sent_messages()) >= 60, 30, message="60 messages before the kill"
        )
        bot.kill()
        await bot.wait()
        killed_at = len(fake.sent_messages())
        in_flight = _in_flight(db_path)
        assert killed_at < 2 * len(chats), "the kill should land mid-blast"

        bot = PalauteProcess(config, fake)
        await bot.start()
        await fake.wait_for(
            lambda: all(len(fake.sent_messages(chat)) >= 2 for chat in chats),
            60,
            message=lambda: f"every invitation after the restart; log:\n{bot.log()}",
        )
        await asyncio.sleep(0.5)  # a late duplicate would arrive now
        assert await bot.terminate() == 0
    finally:
        await bot.ensure_stopped()

    duplicated = []
    for chat in chats:
        lines = first_lines(fake, chat)
        assert GREETING in lines and FIRST_QUESTION in lines, (chat, lines)
        if lines != [GREETING, FIRST_QUESTION]:
            duplicated.append(chat)
            # Only a message in flight at the kill may come twice, and only once more.
            assert str(chat) in in_flight, (chat, lines, in_flight)
            assert all(count <= 2 for count in Counter(lines).values()), (chat, lines)
            assert lines.index(GREETING) < lines.index(FIRST_QUESTION)
    assert len(duplicated) <= len(in_flight)
    assert query(db_path, "SELECT state, COUNT(*) FROM outbox GROUP BY state") == [
        ("sent", len(chats))
    ]
    assert integrity(db_path) == "ok"


def _stored_answers(db_path: Path) -> dict[int, dict[str, object]]:
    rows = query(
        db_path,
        "SELECT c.address, a.question_id, COALESCE(a.value_text, a.value_num) FROM answers a"
        " JOIN invitations i ON i.id = a.invitation_id JOIN contacts c ON c.id = i.contact_id",
    )
    stored: dict[int, dict[str, object]] = {}
    for address, question, value in rows:
        stored.setdefault(int(str(address)), {})[str(question)] = value
    return stored


async def test_sigkill_while_customers_answer_loses_no_answer(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake = fake_telegram
    customers = [
        Customer(fake.user(820_000 + n), nps=n % 11, why=f"reason {n}: ok 👍", csat=n % 5 + 1)
        for n in range(30)
    ]
    chats = [c.user.id for c in customers]
    touchpoint = STORM
    db_path = tmp_path / "palaute.db"
    config = write_config(tmp_path, fake, touchpoint)
    await _invite(db_path, touchpoint, "storm", chats)
    bot = PalauteProcess(config, fake)
    answering = asyncio.create_task(answer_as_they_come(fake, customers))
    try:
        await bot.start()
        total = 3 * len(customers)
        await fake.wait_for(
            lambda: sum(len(c.given) for c in customers) >= total // 3,
            30,
            message=lambda: f"a third of the answers before the kill; log:\n{bot.log()}",
        )
        bot.kill()
        await bot.wait()
        acknowledged = {c.user.id: c.given[: c.acknowledged] for c in customers}
        in_flight = _in_flight(db_path)
        assert sum(len(c.given) for c in customers) < total, "the kill should land mid-survey"

        bot = PalauteProcess(config, fake)
        await bot.start()
        await fake.wait_for(
            lambda: all(c.acknowledged == 3 for c in customers),
            60,
            message=lambda: f"every customer to get the thanks; log:\n{bot.log()}",
        )
        await asyncio.sleep(0.5)
        assert await bot.terminate() == 0
    finally:
        answering.cancel()
        await bot.ensure_stopped()

    stored = _stored_answers(db_path)
    for customer in customers:
        chat = customer.user.id
        assert stored.get(chat) == customer.expected, (chat, stored.get(chat), customer.given)
        # What a customer saw accepted before the kill was in SQLite already then.
        assert len(acknowledged[chat]) <= len(stored[chat])
        seen = Counter((m.text or "").split("\n")[0] for m in fake.sent_messages(chat))
        extra = sum(n - 1 for n in seen.values())
        assert extra == 0 or str(chat) in in_flight, (chat, seen, in_flight)
        assert extra <= 1, (chat, seen)
    assert query(db_path, "SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL") == [(0,)]
    assert query(db_path, "SELECT DISTINCT state FROM outbox") == [("sent",)]
    assert integrity(db_path) == "ok"


async def test_sigterm_mid_blast_stops_cleanly_and_the_rest_follows_once(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake = fake_telegram
    fake.rate_limits_enabled = True
    chats = [830_000 + n for n in range(90)]
    for chat in chats:
        fake.user(chat)
    db_path = tmp_path / "palaute.db"
    config = write_config(tmp_path, fake, '[touchpoints.visit]\nsurvey = "csat"\n')
    await _invite(db_path, '[touchpoints.visit]\nsurvey = "csat"\n', "visit", chats)
    bot = PalauteProcess(config, fake)
    try:
        await bot.start()
        await fake.wait_for(lambda: len(fake.sent_messages()) >= 30, 30, message="30 sent")
        assert await bot.terminate() == 0
        log = bot.log()
        assert "stopping: finishing messages in flight" in log
        assert "Traceback" not in log, log
        stopped_at = len(fake.sent_messages())
        assert stopped_at < len(chats), "SIGTERM should land mid-blast"
        # Nothing is left half-sent: what was in flight finished or went back to pending.
        states = dict(query(db_path, "SELECT state, COUNT(*) FROM outbox GROUP BY state"))
        assert set(states) <= {"sent", "pending"}, states
        assert states["sent"] == stopped_at
        assert integrity(db_path) == "ok"

        bot = PalauteProcess(config, fake)
        await bot.start()
        await fake.wait_for(
            lambda: all(fake.sent_messages(chat) for chat in chats), 30, message="the rest"
        )
        await asyncio.sleep(0.5)
        assert await bot.terminate() == 0
    finally:
        await bot.ensure_stopped()
    assert all(len(fake.sent_messages(chat)) == 1 for chat in chats), "no duplicates"
    assert query(db_path, "SELECT state, COUNT(*) FROM outbox GROUP BY state") == [
        ("sent", len(chats))
    ]
