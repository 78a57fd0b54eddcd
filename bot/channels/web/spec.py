"""The web channel as the rest of palaute sees it: links answered in any browser."""

from __future__ import annotations

from bot.channels.spec import AddressFormat, ChannelSpec, imported

SPEC = ChannelSpec(
    name="web",
    title="the web",
    address=AddressFormat("EMAIL_OR_PHONE", '"EMAIL_OR_PHONE"'),
    build=imported("bot.channels.web.channel:build"),
    pushes_prompts=False,
)
