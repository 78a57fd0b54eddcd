"""The WhatsApp channel as the rest of palaute sees it."""

from __future__ import annotations

from bot.channels.base import Channel
from bot.channels.context import ChannelContext
from bot.channels.spec import AddressFormat, BadAddress, ChannelSpec, ConfigSection
from bot.channels.whatsapp.addresses import NotAPhoneNumber, normalize_phone
from bot.channels.whatsapp.explain import describe, touchpoint_notes
from bot.channels.whatsapp.messages import CAPACITY
from bot.channels.whatsapp.settings import KEYS, check_section, settings


def _e164(address: str) -> str:
    try:
        return normalize_phone(address)
    except NotAPhoneNumber as error:
        raise BadAddress(f"a WhatsApp contact is a phone number: {error}") from None


def _build(context: ChannelContext) -> Channel:
    from bot.channels.whatsapp.channel import WhatsAppChannel

    return WhatsAppChannel(context.settings, context)


SPEC = ChannelSpec(
    name="whatsapp",
    title="WhatsApp",
    address=AddressFormat("+PHONE", '"+PHONE"', team="+PHONE", canonical=_e164),
    build=_build,
    section=ConfigSection(
        KEYS, settings, check=check_section, details=describe, touchpoint_notes=touchpoint_notes
    ),
    uses_intake=True,
    capacity=CAPACITY,
)
