"""The WhatsApp Business Platform (Cloud API) channel, on pywa. The package exports its
`ChannelSpec`; the adapter (channel.py, which loads pywa) is imported only when it is built."""

from bot.channels.whatsapp.spec import SPEC

__all__ = ["SPEC"]
