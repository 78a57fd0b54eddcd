"""The `[telegram]` section of the config: its keys, described once, and the typed settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.config_schema import (
    NUMBER,
    TEXT,
    WHOLE,
    ConfigReader,
    Key,
    Scope,
    secret,
    with_nested,
    within,
)


@dataclass(frozen=True)
class TelegramPace:
    """Telegram's flood limits palaute paces itself under. The defaults are the published
    figures (the Bot FAQ "My bot is hitting limits", telegram.constants.FloodLimit); raise them
    for paid broadcasts (up to 1000 a second overall) or a local Bot API server's own limits."""

    messages_per_second: float = 30.0
    messages_per_second_per_chat: float = 1.0
    per_chat_burst: int = 3
    """Messages one chat may get at once before the per-chat pace applies (1: never more)."""
    messages_per_minute_per_group: float = 20.0


@dataclass(frozen=True)
class TelegramConfig:
    token: str = field(repr=False)
    mode: str = "polling"
    base_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    bot_username: str | None = None
    pace: TelegramPace = TelegramPace()


def _telegram_mode(reader: ConfigReader, mode: Any, path: str, scope: Scope) -> Any:
    if mode not in ("polling", "webhook"):
        reader.problem(path, 'must be "polling" or "webhook"')
    if mode == "webhook" and not scope["server.public_url"]:
        reader.problem(path, "webhook mode needs server.public_url")
    return mode


def _bot_api_root(reader: ConfigReader, url: Any, path: str, scope: Scope) -> Any:
    if url is not None and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", url):
        reader.problem(path, "must be an http:// or https:// URL")
    elif url is not None and url.rstrip("/").endswith("/bot"):
        reader.problem(
            path,
            f'give the Bot API server\'s root, without /bot (palaute adds "/bot<token>/"):'
            f' "{url.rstrip("/").removesuffix("/bot")}"',
        )
    return url


TELEGRAM_KEYS = (
    Key("mode", TEXT, "polling", _telegram_mode),
    Key("base_url", TEXT, None, _bot_api_root),
    secret("token", required=True),
    secret("webhook_secret"),
    Key("bot_username", TEXT),
)


_rate_per_second = within(
    0, 100_000, "must be a number of messages a second above 0", above_low=True
)
_rate_per_minute = within(2, 6_000_000, "must be a number of messages a minute, at least 2")
_burst = within(1, 1000, "must be a whole number of messages from 1 (no burst) to 1000")


TELEGRAM_PACE_KEYS = (
    Key("messages_per_second", NUMBER, TelegramPace.messages_per_second, _rate_per_second),
    Key("messages_per_second_per_chat", NUMBER, TelegramPace.messages_per_second_per_chat,
        _rate_per_second),
    Key("messages_per_minute_per_group", NUMBER, TelegramPace.messages_per_minute_per_group,
        _rate_per_minute),
    Key("per_chat_burst", WHOLE, TelegramPace.per_chat_burst, _burst),
)  # fmt: skip
"""Written in [telegram] itself, read into `TelegramConfig.pace`."""

KEYS = TELEGRAM_KEYS + TELEGRAM_PACE_KEYS


settings = with_nested(TelegramConfig, "pace", TelegramPace, TELEGRAM_PACE_KEYS)


def describe_pace(config: TelegramConfig) -> list[str]:
    pace = config.pace
    return [
        f"Telegram pace: {pace.messages_per_second:g} messages/s overall,"
        f" {pace.messages_per_second_per_chat:g}/s per chat after {pace.per_chat_burst}"
        f" at once, {pace.messages_per_minute_per_group:g}/min per group"
    ]
