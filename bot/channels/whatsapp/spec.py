"""The WhatsApp channel as the rest of palaute sees it."""

from __future__ import annotations

from bot.channels.spec import AddressFormat, BadAddress, ChannelSpec, ConfigSection, imported
from bot.channels.whatsapp.addresses import NotAPhoneNumber, normalize_phone
from bot.channels.whatsapp.explain import describe, touchpoint_notes
from bot.channels.whatsapp.messages import CAPACITY
from bot.channels.whatsapp.settings import KEYS, check_section, settings
from bot.channels.whatsapp.texts import TEXTS


def _e164(address: str) -> str:
    try:
        return normalize_phone(address)
    except NotAPhoneNumber as error:
        raise BadAddress(f"a WhatsApp contact is a phone number: {error}") from None


SPEC = ChannelSpec(
    name="whatsapp",
    title="WhatsApp",
    address=AddressFormat("+PHONE", '"+PHONE"', team="+PHONE", canonical=_e164),
    build=imported("bot.channels.whatsapp.channel:build"),
    section=ConfigSection(
        KEYS, settings, check=check_section, details=describe, touchpoint_notes=touchpoint_notes
    ),
    uses_intake=True,
    texts=TEXTS,
    capacity=CAPACITY,
)
