"""Sending to Telegram: rate limits, 429 storms, blocked users, refused messages, team chats."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TimedOut,
)

from bot.channels.base import Attachment, Button, MessageRejected
from bot.channels.telegram.errors import delivery_error, retry_after_seconds
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.team.document import TeamDocument
from storage.records import InvitationState
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.telegram_helpers import (
    MovableClock,
    channel_of,
    settle,
    telegram_config,
    texts,
    wait_for_text,
)

PNG_1x1 = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x03\x00\x08\xfc\x02\xfe\xa7\x9a\xa0"
    b"\xa0\x00\x00\x00\x00IEND\xaeB`\x82"
)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_a_user_who_blocked_the_bot_becomes_unreachable_until_they_return(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path))
    user = fake.user(701)
    fake.blocked_users.add(user.id)
    await app.triggers.trigger(TriggerRequest("nps", ContactSpec("telegram", "701")))

    async def unreachable() -> bool:
        contact = await app.store.contacts.find("telegram", "701")
        return contact is not None and contact.unreachable_at is not None

    await eventually(unreachable)
    [failed] = await app.store.invitations.listing()
    assert failed.state is InvitationState.FAILED
    assert failed.reason == "Telegram: Forbidden: bot was blocked by the user"
    assert len(fake.calls_to("sendMessage")) == 1  # not retried
    result = await app.triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", "701")))
    assert result.invitation.state is InvitationState.UNREACHABLE

    fake.blocked_users.discard(user.id)  # "Restart bot" in Telegram sends /start
    fake.push_text(user, "/start")
    await wait_for_text(fake, user, "Hi! I ask a few quick questions")
    contact = await app.store.contacts.find("telegram", "701")
    assert contact is not None and contact.unreachable_at is None
    await app.triggers.trigger(TriggerRequest("ces", ContactSpec("telegram", "701")))
    await wait_for_text(fake, user, "It was easy to get what I needed")


async def test_a_429_storm_delays_but_loses_no_message(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    clock = MovableClock()
    toml = '[touchpoints.blast]\nsurvey = "nps"\ndelay = "1h"\n'
    app = await app_factory(telegram_config(fake, db_path, toml), clock=clock)
    users = [fake.user(710 + i) for i in range(5)]
    for user in users:
        await app.triggers.trigger(TriggerRequest("blast", ContactSpec("telegram", str(user.id))))
    # Telegram has a bad moment: 2 messages a second for the whole bot, 429 for the rest.
    fake.rate_limits_enabled = True
    fake.global_messages_per_second = 2
    clock.advance(3600)
    await app.invitations.tick()

    await settle(app, fake, timeout=10)
    statuses = [c.status for c in fake.calls_to("sendMessage")]
    assert statuses.count(429) >= 1 and statuses.count(200) == 5
    for user in users:
        assert [t.split("\n")[0] for t in texts(fake, user)] == [
            "How likely are you to recommend us to a friend or colleague?"
        ]
    assert await app.store.outbox.counts() == {"sent": 5}
    # Each refused message was retried after Telegram's retry_after, not at once.
    calls = fake.calls_to("sendMessage")
    for refused in (c for c in calls if c.status == 429):
        chat = refused.params["chat_id"]
        retry = next(
            c for c in calls if c.params["chat_id"] == chat and c.timestamp > refused.timestamp
        )
        assert retry.timestamp - refused.timestamp >= 0.9


async def test_sends_to_one_chat_are_paced_to_telegram_limits(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path))
    # Telegram's limits are on (the fake's default): 3 at once, then 1 a second in one chat.
    user = fake.user(720)
    for n in range(5):
        await app.surveys.send_text("telegram", "720", f"note {n}")
    await settle(app, fake)
    assert texts(fake, user) == [f"note {n}" for n in range(5)]
    assert fake.rate_limited_count == 0


async def test_a_refused_message_is_dropped_and_the_chat_goes_on(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path))
    user = fake.user(730)
    fake.push_text(user, "/start")
    await wait_for_text(fake, user, "Hi!")
    fake.fail_next("sendMessage", 400, description="Bad Request: message is too long")
    await app.surveys.send_text("telegram", "730", "x")
    await app.surveys.send_text("telegram", "730", "the next one")
    await wait_for_text(fake, user, "the next one")
    [(_id, _channel, _address, _kind, error)] = await app.store.outbox.failures()
    assert error == "Telegram: Message is too long"
    contact = await app.store.contacts.find("telegram", "730")
    assert contact is not None and contact.unreachable_at is None


async def test_network_errors_are_retried(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path))
    user = fake.user(740)
    fake.fail_next("sendMessage", 502)
    await app.surveys.send_text("telegram", "740", "hello")
    await settle(app, fake)
    assert texts(fake, user) == ["hello"]
    assert [c.status for c in fake.calls_to("sendMessage")] == [502, 200]


async def test_greeting_is_not_repeated_when_its_question_is_retried(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    toml = '[touchpoints.fair]\nsurvey = "event"\nproperties = { event_name = "Kirppis" }\n'
    app = await app_factory(telegram_config(fake, db_path, toml))
    user = fake.user(750)
    fake.private_chat_burst = 0  # the greeting goes out, the question right after it gets a 429
    await app.triggers.trigger(TriggerRequest("fair", ContactSpec("telegram", "750")))
    await settle(app, fake)
    assert fake.rate_limited_count == 1
    assert [t.split("\n")[0] for t in texts(fake, user)] == [
        "Thank you for being part of Kirppis! Three quick questions.",
        "Before the event: how well did booking and information work?",
    ]


async def test_team_messages_render_html_pictures_buttons_and_threads(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path))
    channel = channel_of(app)
    group = "-1001234567890"
    report = TeamDocument(
        title="NPS +40 (n = 25)",
        note="<script> said a customer",
        attachment=Attachment("nps.png", PNG_1x1),
        buttons=((Button("Claim", "f:1:claim"),),),
    )
    ref = await channel.send_team(group, report)
    photo, text_message = fake.sent_messages(int(group))
    assert photo.file is not None and photo.file.data == PNG_1x1
    assert text_message.plain_text == "NPS +40 (n = 25)\n<script> said a customer"
    assert text_message.button_texts == ["Claim"]
    assert ref == f"{group}:{text_message.message_id}"

    await channel.edit_team(group, ref, TeamDocument(body="Claimed by Aino"))
    assert text_message.text == "Claimed by Aino" and text_message.reply_markup is None
    reply_ref = await channel.send_team(group, TeamDocument(body="Resolved", thread_ref=ref))
    [*_, reply] = fake.sent_messages(int(group))
    assert reply.reply_to is text_message and reply_ref.endswith(f":{reply.message_id}")
    await channel.edit(group, ref, "Claimed by Aino")  # unchanged: not an error


def test_telegram_errors_map_to_delivery_outcomes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert delivery_error(Forbidden("Forbidden: bot was blocked by the user"), 5).permanent
    assert delivery_error(BadRequest("Chat not found"), 5).permanent  # a private chat is gone
    in_group = delivery_error(BadRequest("Chat not found"), -100)
    assert isinstance(in_group, MessageRejected)  # a team chat id typo: not a customer lost
    assert isinstance(delivery_error(BadRequest("Message is too long"), 5), MessageRejected)
    assert isinstance(delivery_error(ChatMigrated(-1009), -5), MessageRejected)
    for temporary in (TimedOut(), InvalidToken()):
        assert not delivery_error(temporary, 5).permanent
    limited = delivery_error(RetryAfter(timedelta(seconds=3)), 5)
    assert (limited.permanent, limited.retry_after) == (False, 3.0)

    # Without PTB_TIMEDELTA, PTB hands out ints and warns; the adapter reads either quietly.
    monkeypatch.delenv("PTB_TIMEDELTA")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        legacy = RetryAfter(7)
    assert retry_after_seconds(legacy) == 7.0
