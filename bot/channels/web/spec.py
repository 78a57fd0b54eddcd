"""The web channel as the rest of palaute sees it: links answered in any browser."""

from __future__ import annotations

from bot.channels.spec import AddressFormat, ChannelSpec, DemoContacts, imported
from bot.channels.web.texts import TEXTS

SPEC = ChannelSpec(
    name="web",
    title="the web",
    address=AddressFormat("EMAIL_OR_PHONE", '"EMAIL_OR_PHONE"'),
    build=imported("bot.channels.web.channel:build"),
    pushes_prompts=False,
    texts=TEXTS,
    demo=DemoContacts(15, 0.45, lambda rng, index: f"visitor-{index}"),
)
