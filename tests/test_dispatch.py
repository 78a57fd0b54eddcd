"""Pacing and priority of the outbox, and recurring relationship surveys."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.channels.base import Button, Channel, Limits, OutgoingPrompt
from bot.delivery.pacing import ChannelLimiter, TokenBucket
from bot.delivery.triggers import ContactSpec, TriggerRequest
from storage.records import InvitationState
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config

HELSINKI = ZoneInfo("Europe/Helsinki")


class Ticker:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_chat_gets_a_burst_then_one_message_a_second() -> None:
    ticker = Ticker()
    bucket = TokenBucket(rate=1.0, burst=3, monotonic=ticker)
    assert [bucket.try_take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_take() == 1.0
    ticker.now += 1.0
    assert bucket.try_take() == 0.0
    ticker.now += 0.5
    assert bucket.try_take() == 0.5


def test_retry_after_counts_from_now_and_does_not_add_up() -> None:
    ticker = Ticker()
    bucket = TokenBucket(rate=30.0, burst=30, monotonic=ticker)
    bucket.pause(2.0)
    bucket.pause(2.0)
    assert abs(bucket.try_take() - 2.0) < 1e-9
    ticker.now += 2.0
    assert bucket.try_take() == 0.0


def test_group_chats_get_twenty_a_minute() -> None:
    ticker = Ticker()
    limiter = ChannelLimiter(Limits(30, 30, 1, 3, per_group_per_minute=20), ticker)
    group = limiter.chat_bucket("-1001234567890")
    private = limiter.chat_bucket("42")
    assert private.rate == 1.0
    # However the minute falls, no more than 20 messages go to the group.
    sent = 0
    for _ in range(600):
        if group.try_take() == 0:
            sent += 1
        ticker.now += 0.1
    assert sent <= 20 and sent >= 19


class PacedChannel(Channel):
    """A platform allowing 40 messages a second in all: records the order messages arrive in."""

    name = "telegram"
    limits = Limits(per_second=40, burst=5, per_chat_per_second=1, per_chat_burst=3)

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[tuple[str, str]] = []

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

    async def send_prompt(self, address: str, prompt: OutgoingPrompt) -> str:
        self.arrived.append((address, "survey"))
        return f"{address}:{len(self.arrived)}"

    async def send_text(
        self, address: str, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> str:
        self.arrived.append((address, text))
        return f"{address}:{len(self.arrived)}"

    async def edit(self, address: str, message_ref: str, text: str) -> None:
        self.arrived.append((address, f"edit:{text}"))


async def test_a_customers_reply_overtakes_an_event_blast(
    app_factory: AppFactory, db_path: Path
) -> None:
    channel = PacedChannel()
    clock = FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=HELSINKI))
    app = await app_factory(make_config("", db_path), clock=clock, channels={"telegram": channel})
    for n in range(400):
        await app.triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", str(5000 + n))))
    await app.invitations.tick()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while len(channel.arrived) < 60 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    queued_at = len(channel.arrived)
    await app.surveys.send_text("telegram", "42", "your next question")
    while ("42", "your next question") not in channel.arrived and loop.time() < deadline:
        await asyncio.sleep(0.005)
    position = channel.arrived.index(("42", "your next question"))
    assert position - queued_at <= 3, (
        f"the reply waited behind {position - queued_at} blast messages"
    )
    assert len(channel.arrived) < 400, "the blast was still going when the reply went out"


async def test_recurring_survey_spreads_an_audience_over_the_period(
    app_factory: AppFactory, db_path: Path
) -> None:
    toml = '[touchpoints.quarterly]\nsurvey = "nps"\nevery = "90d"\naudience = "customers"\n'
    clock = FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=HELSINKI))
    app = await app_factory(
        make_config(toml, db_path), clock=clock, channels={"telegram": PacedChannel()}
    )
    async with app.store.database.transaction() as connection:
        for n in range(4):
            contact = await app.store.contacts.ensure(
                connection, channel="telegram", address=str(70 + n), now=clock.now()
            )
            await app.store.audiences.add_member(
                connection, "customers", contact, source="test", now=clock.now()
            )
    assert await app.invitations.plan_recurring() == 4
    assert await app.invitations.plan_recurring() == 0, "once per period"
    invitations = await app.store.invitations.listing()
    due = sorted(
        i.due_at
        for i in invitations
        if i.state is InvitationState.SCHEDULED or i.state is InvitationState.SENT
    )
    assert len(due) == 4
    gaps = [b - a for a, b in itertools.pairwise(due)]
    assert min(gaps) > 10 * 86400, "spread over the 90 days, not all on one morning"
