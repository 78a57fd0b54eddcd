"""The WhatsApp Business Platform (Cloud API) channel, on pywa.

Import `bot.channels.whatsapp.channel` for the adapter; this package itself stays light so that
the config can read its settings without loading pywa.
"""
