"""Steps 3 and 4: the address format and the one `ChannelSpec` the package exports."""

from __future__ import annotations

import re

from bot.channels.base import Channel
from bot.channels.capacity import MessageCapacity
from bot.channels.context import ChannelContext
from bot.channels.spec import AddressFormat, ChannelSpec, ConfigSection
from tests.fakes.parrot_api import MAX_BUTTONS, MAX_TEXT
from tests.parrot.settings import KEYS, settings

_USER = re.compile(r"p-[0-9]+")


def _user_problem(address: str) -> str | None:
    return None if _USER.fullmatch(address) else f'a Parrot user is p-<digits>, not "{address}"'


def _build(context: ChannelContext) -> Channel:
    from tests.parrot.channel import ParrotChannel

    return ParrotChannel(context.settings, context)


SPEC = ChannelSpec(
    name="parrot",
    title="Parrot",
    address=AddressFormat("USER_ID", '"p-USER_ID"', _user_problem, team="USER_ID"),
    build=_build,
    section=ConfigSection(KEYS, settings),
    uses_intake=True,
    capacity=MessageCapacity("Parrot", max_text_length=MAX_TEXT, max_buttons=MAX_BUTTONS),
)
