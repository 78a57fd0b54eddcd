"""The Slack channel as the rest of palaute sees it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.channels.base import Channel
from bot.channels.context import ChannelContext
from bot.channels.slack.settings import SLACK_KEYS, check_mode, settings
from bot.channels.slack.texts import TEXTS
from bot.channels.spec import AddressFormat, ChannelSpec, ConfigSection, DemoContacts

if TYPE_CHECKING:
    from bot.team.organizer import Organizer


def _build(context: ChannelContext) -> Channel:
    from bot.channels.slack.channel import SlackChannel

    return SlackChannel(context.settings, context)


def _organizer_commands(channel: Channel, organizer: Organizer) -> None:
    """`/palaute send|scores|help` for `[slack] admins`."""
    from bot.channels.slack.channel import SlackChannel
    from bot.channels.slack.commands import OrganizerCommands

    assert isinstance(channel, SlackChannel)
    OrganizerCommands(organizer, channel).register(channel.bolt)


def _label(config: Any) -> str:
    return f"{config.mode} mode"


SPEC = ChannelSpec(
    name="slack",
    title="Slack",
    address=AddressFormat("USER_ID", '"USER_ID"', team="CHANNEL_ID"),
    build=_build,
    section=ConfigSection(SLACK_KEYS, settings, check=check_mode, label=_label),
    uses_intake=True,
    organizer_commands=_organizer_commands,
    texts=TEXTS,
    demo=DemoContacts(30, 0.63, lambda rng, index: f"U{rng.randrange(16**9, 16**10):X}"),
)
