"""The Telegram channel as the rest of palaute sees it."""

from __future__ import annotations

import re
from typing import Any

from bot.channels.capacity import TELEGRAM
from bot.channels.spec import AddressFormat, ChannelSpec, ConfigSection, DemoContacts, imported
from bot.channels.telegram.links import start_link
from bot.channels.telegram.settings import KEYS, TelegramConfig, describe_pace, settings
from bot.channels.telegram.texts import TEXTS

_CHAT_ID = re.compile(r"-?[0-9]{1,20}")
"""A Telegram chat id: ASCII digits ("²", "١٢٣" and "--5" pass str.isdigit() but not int())."""


def _chat_id_problem(address: str) -> str | None:
    if _CHAT_ID.fullmatch(address):
        return None
    return f'a Telegram chat id is a number, not "{address}"'


def _start_link(config: TelegramConfig, payload: str) -> str | None:
    return start_link(config.bot_username, payload) if config.bot_username else None


def _label(config: Any) -> str:
    return str(config.mode)


SPEC = ChannelSpec(
    name="telegram",
    title="Telegram",
    address=AddressFormat("CHAT_ID", "CHAT_ID", _chat_id_problem, team="CHAT_ID"),
    build=imported("bot.channels.telegram.channel:build"),
    section=ConfigSection(KEYS, settings, label=_label, details=describe_pace),
    uses_intake=True,
    capacity=TELEGRAM,
    start_link=_start_link,
    texts=TEXTS,
    demo=DemoContacts(55, 0.72, lambda rng, index: str(rng.randrange(10**8, 10**10))),
)
