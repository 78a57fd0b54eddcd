"""WhatsApp's own wording, in English and Finnish: commands are plain words (STOP, START),
and a question with too many options for buttons is answered by typing."""

from bot.channels.texts import ChannelTexts

EN: dict[str, str] = {
    "stopped": "You will not get any more surveys from us. Send START if you change your mind.",
    "restarted": "Welcome back! You may get a short survey now and then. Send STOP to opt out.",
    "welcome": "Hi! I ask a few quick questions after you have been in touch with us. Send STOP at any time to opt out.",
    "help": "I ask short feedback surveys. Tap a button or type your answer.\nSTOP: no more surveys\nSTART: surveys back on",
    "choose": "Choose",
    "type_number": "Type a number from {low} to {high}.",
    "type_choice": "Type the number of your choice:",
    "or_skip": "Or type “{skip}”.",
    "reply_to_start": "Reply to this message to start.",
}

FI: dict[str, str] = {
    "stopped": "Et saa meiltä enää kyselyjä. Lähetä ALOITA, jos muutat mielesi.",
    "restarted": "Tervetuloa takaisin! Saatat saada lyhyen kyselyn silloin tällöin. Lähetä LOPETA, jos et halua niitä.",
    "welcome": "Hei! Kysyn muutaman nopean kysymyksen, kun olet asioinut kanssamme. Lähetä LOPETA, jos et halua kyselyjä.",
    "help": "Lähetän lyhyitä palautekyselyjä. Napauta painiketta tai kirjoita vastauksesi.\nLOPETA: ei enää kyselyjä\nALOITA: kyselyt takaisin päälle",
    "choose": "Valitse",
    "type_number": "Kirjoita numero {low}–{high}.",
    "type_choice": "Kirjoita valintasi numero:",
    "or_skip": "Tai kirjoita ”{skip}”.",
    "reply_to_start": "Aloita vastaamalla tähän viestiin.",
}

TEXTS = ChannelTexts({"en": EN, "fi": FI})
