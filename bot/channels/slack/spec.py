"""The Slack channel as the rest of palaute sees it."""

from __future__ import annotations

from typing import Any

from bot.channels.slack.settings import SLACK_KEYS, check_mode, settings
from bot.channels.slack.texts import TEXTS
from bot.channels.spec import AddressFormat, ChannelSpec, ConfigSection, DemoContacts, imported


def _label(config: Any) -> str:
    return f"{config.mode} mode"


SPEC = ChannelSpec(
    name="slack",
    title="Slack",
    address=AddressFormat("USER_ID", '"USER_ID"', team="CHANNEL_ID"),
    build=imported("bot.channels.slack.channel:build"),
    section=ConfigSection(SLACK_KEYS, settings, check=check_mode, label=_label),
    uses_intake=True,
    organizer_commands=imported("bot.channels.slack.commands:register"),
    texts=TEXTS,
    demo=DemoContacts(30, 0.63, lambda rng, index: f"U{rng.randrange(16**9, 16**10):X}"),
)
