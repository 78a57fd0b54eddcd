"""Finnish texts."""

TEXTS: dict[str, str] = {
    "reprompt_scale": "Vastaa numerolla {low}–{high}.",
    "reprompt_scale_optional": "Vastaa numerolla {low}–{high} tai kirjoita ”ohita”.",
    "reprompt_yes_no": "Vastaa kyllä tai ei.",
    "reprompt_choice": "Valitse jokin näistä: {options}.",
    "reprompt_text_empty": "Kirjoita vastauksesi viestinä.",
    "reprompt_text_too_long": "Vastaus on vähän pitkä: enintään {limit} merkkiä, kiitos.",
    "skip": "Ohita",
    "yes": "Kyllä",
    "no": "Ei",
    "scale_ends": "{low} = {low_label}, {high} = {high_label}",
    "answered": "Vastauksesi: {answer}",
    "skipped": "Ohitettu",
    "default_thanks": "Kiitos palautteestasi!",
    "survey_closed": "Kiitos, mutta tämä kysely on jo päättynyt.",
    "survey_done": "Olet jo vastannut tähän kyselyyn. Kiitos!",
    "stopped": "Et saa meiltä enää kyselyjä. Lähetä /start, jos muutat mielesi.",
    "restarted": "Tervetuloa takaisin! Saatat saada lyhyen kyselyn silloin tällöin. "
    "Lähetä /stop, jos et halua niitä.",
    "welcome": "Hei! Kysyn muutaman nopean kysymyksen, kun olet asioinut kanssamme. "
    "Lähetä /stop, jos et halua kyselyjä, tai /delete poistaaksesi vastauksesi.",
    "joined_plain": "Kiitos kirjautumisesta! Kysymme jälkeenpäin, miten meni.",
    "survey_title_plain": "Palautteesi",
    "survey_title_for": "Palautetta: {organisation}",
    "joined": "Kiitos, että tulit: {audience}! Kysymme jälkeenpäin, miten meni.",
    "linked": "Kiitos, kaikki valmista. Saatamme kysyä palautettasi täällä.",
    "help": "Lähetän lyhyitä palautekyselyjä. Napauta painiketta tai kirjoita vastauksesi.\n"
    "/stop: ei enää kyselyjä\n/start: kyselyt takaisin päälle\n/delete: poista tietosi",
    "delete_confirm": "Poistetaanko kaikki vastauksesi? Tätä ei voi perua.",
    "delete_button": "Kyllä, poista tietoni",
    "deleted": "Valmis: tietosi on poistettu.",
    "invalid_link": "Valitettavasti tämä linkki ei ole enää voimassa.",
    "reminder": "Pieni muistutus: kuulisimme mielellämme, miten meni.",
    "opt_out_button": "Älä kysy minulta enää",
    "apology": "Pahoittelut, jotain meni vikaan. Yritä hetken päästä uudelleen.",
    "slack_reply_hint": "Kirjoita vastauksesi viestinä tähän tai vastaa tähän ketjuun.",
    "slack_choose": "Valitse…",
    "stopped_slack": "Et saa meiltä enää kyselyjä. Kirjoita /palaute start, jos muutat mielesi.",
    "restarted_slack": "Tervetuloa takaisin! Saatat saada lyhyen kyselyn silloin tällöin. "
    "Kirjoita /palaute stop, jos et halua niitä.",
    "welcome_slack": "Hei! Kysyn muutaman nopean kysymyksen, kun olet asioinut kanssamme. "
    "Kirjoita /palaute stop, jos et halua kyselyjä, tai /palaute delete poistaaksesi vastauksesi.",
    "help_slack": "Lähetän lyhyitä palautekyselyjä. Napauta painiketta tai kirjoita vastauksesi.\n"
    "/palaute stop: ei enää kyselyjä\n/palaute start: kyselyt takaisin päälle\n"
    "/palaute delete: poista tietosi",
    "stopped_whatsapp": "Et saa meiltä enää kyselyjä. Lähetä ALOITA, jos muutat mielesi.",
    "restarted_whatsapp": "Tervetuloa takaisin! Saatat saada lyhyen kyselyn silloin tällöin. "
    "Lähetä LOPETA, jos et halua niitä.",
    "welcome_whatsapp": "Hei! Kysyn muutaman nopean kysymyksen, kun olet asioinut kanssamme. "
    "Lähetä LOPETA, jos et halua kyselyjä.",
    "help_whatsapp": "Lähetän lyhyitä palautekyselyjä. Napauta painiketta tai kirjoita vastauksesi.\n"
    "LOPETA: ei enää kyselyjä\nALOITA: kyselyt takaisin päälle",
    "whatsapp_choose": "Valitse",
    "whatsapp_type_number": "Kirjoita numero {low}–{high}.",
    "whatsapp_type_choice": "Kirjoita valintasi numero:",
    "whatsapp_or_skip": "Tai kirjoita ”{skip}”.",
    "whatsapp_reply_to_start": "Aloita vastaamalla tähän viestiin.",
    "command_start": "Aloita tai ota kyselyt takaisin käyttöön",
    "command_help": "Miten tämä toimii",
    "command_stop": "Ei enää kyselyjä",
    "command_delete": "Poista tietoni",
    "web_back": "← Muuta edellistä vastausta",
    "web_send": "Lähetä",
    "web_type_here": "Kirjoita vastauksesi tähän",
    "web_you_answered": "Vastauksesi:",
    "web_sending": "Tallennetaan…",
    "web_close_page": "Vastauksesi on tallennettu. Voit nyt sulkea tämän sivun.",
    "web_not_found_title": "Kyselyä ei löytynyt",
    "web_not_found": "Valitettavasti tästä osoitteesta ei löytynyt kyselyä. "
    "Tarkista, että koko linkki tuli mukaan.",
    "web_closed_title": "Kysely on päättynyt",
    "web_unavailable": "Kiitos kiinnostuksestasi, mutta tämä kysely ei ole avoinna sinulle.",
    "web_form_expired_title": "Yritä uudelleen",
    "web_form_expired": "Vastausta ei voitu tallentaa: sivu oli auki pitkään tai evästeet "
    "ovat estettyinä. Avaa kysely uudelleen; aiemmat vastauksesi ovat tallessa.",
    "web_rate_limited_title": "Hetkinen",
    "web_rate_limited": "Tästä verkosta vastataan juuri nyt monta kertaa. "
    "Yritä uudelleen minuutin päästä.",
    "web_open_again": "Avaa kysely uudelleen",
    "web_form_not_utf8": "Vastaustasi ei voitu lukea: lomaketta ei lähetetty UTF-8-tekstinä. "
    "Vastaa uudelleen.",
    "web_form_charset": "Vastaustasi ei voitu lukea: lomake lähetettiin tuntemattomalla "
    'merkistöllä "{charset}". Vastaa uudelleen.',
    "web_storage_title": "Ei vielä tallennettu",
    "web_storage_busy": "Vastaustasi ei voitu tallentaa juuri nyt. Yritä hetken päästä uudelleen.",
    "relay_to_customer": "Viesti tiimiltämme – {survey}:\n\n{message}\n\n– {author}. Voit vastata tähän.",
}
