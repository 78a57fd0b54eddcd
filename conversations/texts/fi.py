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
    "form_expired_title": "Yritä uudelleen",
    "form_expired": "Vastausta ei voitu tallentaa: sivu oli auki pitkään tai evästeet "
    "ovat estettyinä. Avaa kysely uudelleen; aiemmat vastauksesi ovat tallessa.",
    "form_not_utf8": "Vastaustasi ei voitu lukea: lomaketta ei lähetetty UTF-8-tekstinä. "
    "Vastaa uudelleen.",
    "form_charset": "Vastaustasi ei voitu lukea: lomake lähetettiin tuntemattomalla "
    'merkistöllä "{charset}". Vastaa uudelleen.',
    "relay_to_customer": "Viesti tiimiltämme – {survey}:\n\n{message}\n\n– {author}. Voit vastata tähän.",
}
