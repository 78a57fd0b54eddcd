"""The web channel as the rest of palaute sees it: links answered in any browser."""

from __future__ import annotations

from bot.channels.base import Channel
from bot.channels.context import ChannelContext
from bot.channels.spec import AddressFormat, ChannelSpec, DemoContacts
from bot.channels.web.texts import TEXTS


def _build(context: ChannelContext) -> Channel:
    from bot.channels.web.channel import WebChannel

    return WebChannel(context)


SPEC = ChannelSpec(
    name="web",
    title="the web",
    address=AddressFormat("EMAIL_OR_PHONE", '"EMAIL_OR_PHONE"'),
    build=_build,
    pushes_prompts=False,
    texts=TEXTS,
    demo=DemoContacts(15, 0.45, lambda rng, index: f"visitor-{index}"),
)
