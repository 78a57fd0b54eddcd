"""Telegram's own wording, in English and Finnish: the bot's command menu (`setMyCommands`)."""

from bot.channels.texts import ChannelTexts

EN: dict[str, str] = {
    "command_start": "Start, or turn surveys back on",
    "command_help": "How this works",
    "command_stop": "No more surveys",
    "command_delete": "Erase my data",
}

FI: dict[str, str] = {
    "command_start": "Aloita tai ota kyselyt takaisin käyttöön",
    "command_help": "Miten tämä toimii",
    "command_stop": "Ei enää kyselyjä",
    "command_delete": "Poista tietoni",
}

TEXTS = ChannelTexts({"en": EN, "fi": FI})
