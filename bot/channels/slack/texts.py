"""Slack's own wording, in English and Finnish: its commands are typed `/palaute …`, and
its prompts have a menu and a thread to answer in."""

from bot.channels.texts import ChannelTexts

EN: dict[str, str] = {
    "reply_hint": "Type your answer as a message here, or reply in this thread.",
    "choose": "Choose…",
    "stopped": "You will not get any more surveys from us. Type /palaute start if you change your mind.",
    "restarted": "Welcome back! You may get a short survey now and then. Type /palaute stop to opt out.",
    "welcome": "Hi! I ask a few quick questions after you have been in touch with us. Type /palaute stop at any time to opt out, or /palaute delete to erase your answers.",
    "help": "I ask short feedback surveys. Tap a button or type your answer.\n/palaute stop: no more surveys\n/palaute start: surveys back on\n/palaute delete: erase your data",
}

FI: dict[str, str] = {
    "reply_hint": "Kirjoita vastauksesi viestinä tähän tai vastaa tähän ketjuun.",
    "choose": "Valitse…",
    "stopped": "Et saa meiltä enää kyselyjä. Kirjoita /palaute start, jos muutat mielesi.",
    "restarted": "Tervetuloa takaisin! Saatat saada lyhyen kyselyn silloin tällöin. Kirjoita /palaute stop, jos et halua niitä.",
    "welcome": "Hei! Kysyn muutaman nopean kysymyksen, kun olet asioinut kanssamme. Kirjoita /palaute stop, jos et halua kyselyjä, tai /palaute delete poistaaksesi vastauksesi.",
    "help": "Lähetän lyhyitä palautekyselyjä. Napauta painiketta tai kirjoita vastauksesi.\n/palaute stop: ei enää kyselyjä\n/palaute start: kyselyt takaisin päälle\n/palaute delete: poista tietosi",
}

TEXTS = ChannelTexts({"en": EN, "fi": FI})
