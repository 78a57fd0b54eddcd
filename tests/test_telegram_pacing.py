"""Pacing under Telegram's flood limits: a 429 slows the chat that got it, not every chat."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.channels.telegram.channel import pacing
from bot.channels.telegram.settings import TelegramPace
from bot.config import ConfigError, parse_config
from bot.delivery.pacing import ChannelLimiter, TokenBucket
from bot.delivery.triggers import ContactSpec, TriggerRequest
from storage.records import InvitationState
from tests.conftest import AppFactory
from tests.customers import QUESTIONS as STORM_QUESTIONS
from tests.customers import STORM
from tests.fakes.telegram_api import FakeTelegram, FakeUser, fake_telegram  # noqa: F401
from tests.telegram_helpers import settle, telegram_config

QUESTIONS = len(STORM_QUESTIONS) - 1  # the last is the thanks


def refused_per_chat(fake: FakeTelegram) -> Counter[int]:
    return Counter(
        int(call.params["chat_id"])
        for call in fake.calls
        if call.status == 429 and "chat_id" in call.params
    )


def timeline(fake: FakeTelegram, chats: dict[int, int]) -> str:
    """What each chat's calls got, in order, with when they arrived (for a failure message)."""
    start = fake.calls[0].timestamp if fake.calls else 0.0
    lines = []
    for chat in chats:
        lines.append(f"chat {chat}:")
        lines += [
            f"  +{call.timestamp - start:.3f}s {call.method} -> {call.status} {call.fault or ''}"
            for call in fake.calls
            if str(call.params.get("chat_id")) == str(chat)
        ]
    return "\n".join(lines)


async def answer_as_questions_arrive(fake: FakeTelegram, users: list[FakeUser]) -> None:
    """Every customer answers each question the moment it reaches the chat: a tap on 9, a
    reason, a tap on the best score, until the thanks."""
    answered = dict.fromkeys((user.id for user in users), 0)

    def finished() -> bool:
        return all(
            len(fake.sent_messages(user.id)) > QUESTIONS and answered[user.id] == QUESTIONS
            for user in users
        )

    while not finished():
        for user in users:
            messages = fake.sent_messages(user.id)
            stage = answered[user.id]
            if stage == QUESTIONS or len(messages) <= stage:
                continue
            question = messages[stage]
            if stage == 0:
                fake.push_callback(user, question, question.buttons[9]["callback_data"])
            elif stage == 1:
                fake.push_text(user, "Quick delivery")
            else:
                fake.push_callback(user, question, question.buttons[-1]["callback_data"])
            answered[user.id] = stage + 1
        await asyncio.sleep(0.02)


async def test_an_answer_storm_under_strict_per_chat_limits_finishes_every_survey(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    fake.private_chat_burst = 0  # strictly 1 message a second in each chat, as the FAQ says
    app = await app_factory(telegram_config(fake, db_path, STORM))
    users = [fake.user(900_000 + n) for n in range(30)]
    for user in users:
        await app.triggers.trigger(TriggerRequest("storm", ContactSpec("telegram", str(user.id))))

    # palaute's burst of 3 a chat is more than this Telegram allows, so some chats get a 429;
    # each such chat must then keep to 1 a second, and the rest must not stop for it.
    await asyncio.wait_for(answer_as_questions_arrive(fake, users), timeout=60)
    await settle(app, fake, timeout=10)

    for user in users:
        texts = [m.text or "" for m in fake.sent_messages(user.id)]
        assert [t.split("\n")[0] for t in texts][-1] == "Thank you for your feedback!", texts
    invitations = await app.store.invitations.listing(limit=1000)
    assert Counter(i.state for i in invitations) == {InvitationState.COMPLETED: len(users)}
    assert await app.store.outbox.counts() == {"sent": len(users) * (QUESTIONS + 1 + QUESTIONS)}
    refused = refused_per_chat(fake)
    assert refused, "no chat got a 429: this run did not test what a 429 does"
    repeated = {chat: n for chat, n in refused.items() if n > 1}
    assert repeated == {}, f"chats refused again after their first 429: {timeline(fake, repeated)}"


def test_the_pace_is_configurable_and_bad_figures_are_named_with_their_line() -> None:
    text = (
        '[telegram]\ntoken = "t"\nmessages_per_second = 1000\nper_chat_burst = 1\n'
        "messages_per_second_per_chat = 2.5\nmessages_per_minute_per_group = 40\n"
    )
    config = parse_config(text, environ={})
    settings = config.channel_settings["telegram"]
    assert settings.pace == TelegramPace(1000, 2.5, 1, 40)
    limits = pacing(settings.pace)  # what TelegramChannel paces by
    assert (limits.per_second, limits.per_chat_per_second) == (1000 * 29 / 30, 2.5 * 0.95)
    assert (limits.per_chat_burst, limits.per_group_per_minute) == (1, 40)

    bad = (
        '[telegram]\ntoken = "t"\nmessages_per_second = 0\nper_chat_burst = 0\n'
        'messages_per_second_per_chat = "fast"\nmessages_per_minute_per_group = 1\n'
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(bad, source=Path("palaute.toml"), environ={})
    assert caught.value.lines == [
        "palaute.toml:3: telegram.messages_per_second: must be a number of messages a second"
        " above 0",
        "palaute.toml:5: telegram.messages_per_second_per_chat: must be a number, not a text",
        "palaute.toml:6: telegram.messages_per_minute_per_group: must be a number of messages"
        " a minute, at least 2",
        "palaute.toml:4: telegram.per_chat_burst: must be a whole number of messages from 1"
        " (no burst) to 1000",
    ]


def test_check_shows_the_telegram_pace(tmp_path: Path) -> None:
    config = tmp_path / "palaute.toml"
    config.write_text('[telegram]\ntoken = "t"\nmessages_per_second = 100\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check", "--config", str(config)],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "Telegram pace: 100 messages/s overall, 1/s per chat after 3 at once, 20/min per group"
        in result.stdout
    )


class Ticker:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_429_in_a_busy_chat_slows_that_chat_alone_and_for_good() -> None:
    ticker = Ticker()
    limiter = ChannelLimiter(pacing(TelegramPace()), ticker)
    await limiter.acquire("42", priority=100)
    ticker.now += 0.2
    await limiter.acquire("42", priority=100)  # within palaute's burst of 3: goes at once
    assert limiter.throttled("42", 1.0) is False  # "42" just had a message: its own limit
    # Every other chat goes on at the overall pace (a token every 1/29 s), with no pause.
    assert limiter.global_limiter.bucket.try_take() <= 1 / 29
    ticker.now += 1.0
    chat = limiter.chat_bucket("42")
    assert chat.time_until(1) == 0.0
    chat.take(1)
    ticker.now += 2.0  # idle long enough to refill a burst of 3, were it still allowed one
    assert chat.time_until(1) == 0.0
    chat.take(1)
    assert chat.time_until(1) > 1.0  # one message a second from now on, no burst


async def test_429s_to_three_quiet_chats_are_bot_wide_and_pause_every_chat() -> None:
    ticker = Ticker()
    limiter = ChannelLimiter(pacing(TelegramPace()), ticker)
    for chat in ("41", "42"):  # their first messages, yet refused: strays
        await limiter.acquire(chat, priority=100)
        assert limiter.throttled(chat, 3.0) is False
        assert limiter.chat_bucket(chat).time_until(1) > 2.9  # that chat waits all the same
        assert limiter.global_limiter.bucket.try_take() <= 1 / 29
        ticker.now += 0.4
    ticker.now += 0.5  # the first stray is more than a second old now
    await limiter.acquire("43", priority=100)
    assert limiter.throttled("43", 3.0) is False
    ticker.now += 0.1
    await limiter.acquire("44", priority=100)
    assert limiter.throttled("44", 3.0) is True  # a third quiet chat within a second: bot-wide
    assert abs(limiter.global_limiter.bucket.try_take() - 3.0) < 1e-6
    assert {limiter.chat_bucket(chat).burst for chat in ("41", "42", "43", "44")} == {3}


async def test_an_edit_waits_for_no_global_budget_on_telegram() -> None:
    ticker = Ticker()
    limiter = ChannelLimiter(pacing(TelegramPace()), ticker)
    global_bucket = limiter.global_limiter.bucket
    global_bucket.pause(10.0)  # the overall budget is spent for the next 10 s
    await asyncio.wait_for(limiter.acquire("42", 100, 1, new_messages=0), timeout=1)


def test_a_chat_recovers_from_when_its_message_was_answered_not_when_it_was_taken() -> None:
    # A request can take a while to reach Telegram, and it counts the message on arrival: the
    # next message to the chat waits a whole interval from the answer.
    ticker = Ticker()
    bucket = TokenBucket(rate=1.0, burst=1, monotonic=ticker)
    bucket.take(1)
    ticker.now += 0.4  # on its way
    bucket.settle()
    assert bucket.time_until(1) == 1.0
    ticker.now += 1.0
    assert bucket.time_until(1) == 0.0
