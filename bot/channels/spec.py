"""What a channel is to the rest of palaute: one `ChannelSpec` per package in bot/channels/.

The config, the trigger API, `palaute check`, report targets and the app read the registry of
specs (registry.py) instead of naming channels, so that adding a channel is adding a package
and one line there (see "How to add a channel" in docs/architecture.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from random import Random
from typing import TYPE_CHECKING, Any

from bot.channels.capacity import MessageCapacity
from bot.channels.texts import ChannelTexts
from bot.config_schema import ConfigReader, Key, Scope
from storage.addresses import normalize_address

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.channels.context import ChannelContext
    from bot.team.organizer import Organizer


class BadAddress(ValueError):
    """An address that is not one of this channel's; the message says what it should be."""


def _any_address(address: str) -> str | None:
    return None


@dataclass(frozen=True)
class AddressFormat:
    """How a contact (`telegram:123`, `slack:U0123`) or a team chat is written on a channel."""

    contact: str
    """What a contact's address is, for messages: "CHAT_ID" (in `telegram:CHAT_ID`)."""
    json_example: str
    """The same in a JSON body of the trigger API: `CHAT_ID` (a number), `"USER_ID"` (a text)."""
    problem: Callable[[str], str | None] = _any_address
    """What is wrong with a normalised address, or None when it is one of this channel's."""
    team: str | None = None
    """What a team chat's address is in `[team] report_to` ("CHANNEL_ID"); None: the channel
    takes no team messages."""
    canonical: Callable[[str], str] | None = None
    """The one spelling of an address written in several ways (a phone number's E.164 form:
    "+358 40 123 4567" → "+358401234567"); raises `BadAddress`. None: as normalised."""

    def parse(self, written: str) -> str:
        """The address as stored (one spelling per address), or `BadAddress`."""
        address = normalize_address(written)
        if address and self.canonical is not None:
            address = self.canonical(address)
        problem = self.problem(address) if address else "is empty"
        if problem is not None:
            raise BadAddress(problem)
        return address


@dataclass(frozen=True)
class ConfigSection:
    """The channel's `[name]` table in the config, described by `Key`s (bot/config_schema.py)."""

    keys: tuple[Key, ...]
    settings: Callable[[dict[str, Any]], Any]
    """The typed settings from the values read, by key name."""
    check: Callable[[ConfigReader, Mapping[str, Any], Scope], None] | None = None
    """Checks of the table as a whole (keys that go together), after its keys are read."""
    label: Callable[[Any], str] = lambda settings: ""
    """How `palaute check` lists the channel, after its name: "polling", "socket mode"."""
    details: Callable[[Any], list[str]] = lambda settings: []
    """More lines for `palaute check` (e.g. Telegram's pace)."""
    touchpoint_notes: Callable[[Any, Mapping[str, Mapping[str, str]]], list[str]] | None = None
    """What each touchpoint needs on this channel, for `palaute check`, given the touchpoints
    (configured ones and survey names) with their fixed properties (WhatsApp's templates)."""


def imported(reference: str) -> Callable[..., Any]:
    """The function named `"package.module:name"`, imported when it is first called.

    A spec names its adapter and its organizer commands this way instead of importing them.
    Config loading reads every spec, and the adapters use what config loading serves (they
    take answers, call the organizer's service): an import would close the circle
    config → registry → adapter → config. It also leaves the platform libraries
    (python-telegram-bot, slack-bolt, pywa) unloaded until their channel is built.
    """
    module_name, _, name = reference.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module_name), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = reference
    return call


@dataclass(frozen=True)
class DemoContacts:
    """How `palaute demo-data` (bot/demo.py) makes up this channel's customers."""

    share: int
    """This channel's weight among the channels' made-up contacts."""
    answer_rate: float
    """The share of its invitations that are answered."""
    address: Callable[[Random, int], str]
    """A made-up address, from the demo's random source and the contact's number."""


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    """As in addresses (`telegram:123`), the config section and the database."""
    title: str
    """As the organizer knows it, for messages ("Telegram")."""
    address: AddressFormat
    build: Callable[[ChannelContext], Channel]
    """The adapter, from its narrow context: `imported("bot.channels.<name>.channel:build")`."""
    section: ConfigSection | None = None
    """None: nothing to configure, and the channel is always on (web)."""
    pushes_prompts: bool = True
    """False when customers fetch the questions themselves (web pages)."""
    uses_intake: bool = False
    """Incoming platform traffic goes through the shared durable inbox (bot/channels/intake.py)."""
    capacity: MessageCapacity | None = None
    """What one message carries, checked when the config is loaded; None: no limit to check."""
    organizer_commands: Callable[[Channel, Organizer], None] | None = None
    """Registers the organizers' commands (e.g. Slack's `/palaute send`) on a built adapter,
    given palaute's organizer service (bot/team/organizer.py). A team message is rendered by the
    adapter's `send_team`/`edit_team` from its channel-neutral `TeamDocument`."""
    texts: ChannelTexts | None = None
    """The channel's own wording (bot/channels/<name>/texts.py) of what core code sends, by the
    engine's keys ("stopped": how to turn surveys back on here); None: the engine's as is."""
    demo: DemoContacts | None = None
    """Made-up customers on this channel for `palaute demo-data`; None: the demo has none."""
    start_link: Callable[[Any, str], str | None] | None = None
    """A link that opens a chat with palaute carrying a start payload, from the settings alone
    (`palaute link` without a running bot); None when the platform has no such links."""
