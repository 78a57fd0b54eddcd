"""Helpers for the Telegram channel tests: a palaute app driving real PTB against FakeTelegram."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.app import PalauteApp
from bot.channels.telegram.channel import TelegramChannel
from bot.config import Config
from tests.conftest import make_config
from tests.fakes.telegram_api import FakeMessage, FakeTelegram, FakeUser


class MovableClock:
    """Real time plus an offset the test moves forward: retries and ticks keep running."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def telegram_config(
    fake: FakeTelegram,
    db_path: Path | str,
    toml: str = "",
    *,
    mode: str = "polling",
    server: str | None = None,
    telegram: str = "",
    environ: dict[str, str] | None = None,
) -> Config:
    """A config whose [telegram] section points at the fake (base_url is the server root)."""
    section = (
        f'[telegram]\ntoken = "${{TELEGRAM_TOKEN}}"\nbase_url = "{fake.base_url}"\n'
        f'mode = "{mode}"\n{telegram}\n'
    )
    head = f"[server]\n{server}\n" if server is not None else ""
    return make_config(
        head + section + toml, db_path, {"TELEGRAM_TOKEN": fake.token, **(environ or {})}
    )


def channel_of(app: PalauteApp) -> TelegramChannel:
    channel = app.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    return channel


def texts(fake: FakeTelegram, user: FakeUser) -> list[str]:
    """What the user sees in the chat, in order (edited messages as they read now)."""
    return [m.text or m.caption or "" for m in fake.sent_messages(user.id)]


async def wait_for_messages(fake: FakeTelegram, user: FakeUser, count: int) -> list[FakeMessage]:
    await fake.wait_for(
        lambda: len(fake.sent_messages(user.id)) >= count,
        message=lambda: f"{count} message(s) to {user.id}, got {texts(fake, user)}",
    )
    return fake.sent_messages(user.id)


async def wait_for_text(fake: FakeTelegram, user: FakeUser, fragment: str) -> FakeMessage:
    """The newest message to `user` that contains `fragment` (waiting for it)."""
    await fake.wait_for(
        lambda: any(fragment in t for t in texts(fake, user)),
        message=lambda: f"a message with {fragment!r} to {user.id}, got {texts(fake, user)}",
    )
    return next(m for m in reversed(fake.sent_messages(user.id)) if fragment in (m.text or ""))


def keyboard_rows(message: FakeMessage) -> list[list[str]]:
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    return [[str(button["text"]) for button in row] for row in rows]


async def settle(app: PalauteApp, fake: FakeTelegram, timeout: float = 5.0) -> None:
    """Wait until every pushed update is handled and every message it caused has been sent."""

    async def busy() -> list[str]:
        reasons = []
        if await app.store.invitations.due(
            app.clock.now(), one_at_a_time=app.surveys.pushing_channels
        ):
            reasons.append("invitations due")
        if channel_of(app).config.mode == "polling" and fake.pending_updates:
            reasons.append(f"{len(fake.pending_updates)} update(s) not fetched")
        if await app.store.inbox.unprocessed("telegram"):
            reasons.append("unprocessed inbox rows")
        counts = await app.store.outbox.counts()
        if counts.get("pending") or counts.get("sending"):
            reasons.append(f"outbox {counts}")
        return reasons

    deadline = asyncio.get_running_loop().time() + timeout
    while reasons := await busy():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not settled after {timeout}s: {', '.join(reasons)}")
        await asyncio.sleep(0.02)
