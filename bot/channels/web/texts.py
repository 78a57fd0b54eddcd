"""The web survey pages' own wording, in English and Finnish (the Jinja templates' `t()`)."""

from bot.channels.texts import ChannelTexts

EN: dict[str, str] = {
    "back": "← Change my previous answer",
    "send": "Send",
    "type_here": "Type your answer here",
    "you_answered": "Your answer:",
    "sending": "Saving…",
    "close_page": "Your answers are saved. You can close this page now.",
    "not_found_title": "Survey not found",
    "not_found": "Sorry, there is no survey at this address. Please check that the whole link was copied.",
    "closed_title": "This survey has closed",
    "unavailable": "Thank you for your interest, but this survey is not open for you.",
    "rate_limited_title": "One moment, please",
    "rate_limited": "Many people are answering from this network right now. Please try again in a minute.",
    "open_again": "Open the survey again",
    "storage_title": "Not saved yet",
    "storage_busy": "We could not save your answer just now. Please try again in a moment.",
}

FI: dict[str, str] = {
    "back": "← Muuta edellistä vastausta",
    "send": "Lähetä",
    "type_here": "Kirjoita vastauksesi tähän",
    "you_answered": "Vastauksesi:",
    "sending": "Tallennetaan…",
    "close_page": "Vastauksesi on tallennettu. Voit nyt sulkea tämän sivun.",
    "not_found_title": "Kyselyä ei löytynyt",
    "not_found": "Valitettavasti tästä osoitteesta ei löytynyt kyselyä. Tarkista, että koko linkki tuli mukaan.",
    "closed_title": "Kysely on päättynyt",
    "unavailable": "Kiitos kiinnostuksestasi, mutta tämä kysely ei ole avoinna sinulle.",
    "rate_limited_title": "Hetkinen",
    "rate_limited": "Tästä verkosta vastataan juuri nyt monta kertaa. Yritä uudelleen minuutin päästä.",
    "open_again": "Avaa kysely uudelleen",
    "storage_title": "Ei vielä tallennettu",
    "storage_busy": "Vastaustasi ei voitu tallentaa juuri nyt. Yritä hetken päästä uudelleen.",
}

TEXTS = ChannelTexts({"en": EN, "fi": FI})
