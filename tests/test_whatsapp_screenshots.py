"""The WhatsApp survey as the customer sees it: the fake's transcript of a real run, rendered as
a chat in Chromium. Set PALAUTE_UPDATE_SCREENSHOT=1 to also write docs/whatsapp-*.png."""

# ruff: noqa: F811  (the chromium fixture is imported as a name, then used as an argument)

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from bot.delivery.triggers import ContactSpec, TriggerRequest
from tests.chromium import BROWSER, PHONE, chromium  # noqa: F401
from tests.conftest import AppFactory
from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.telegram_helpers import MovableClock
from tests.whatsapp_chat_page import chat_page
from tests.whatsapp_helpers import (
    TEMPLATE,
    TEMPLATE_EN,
    connect,
    settle,
    wait_for_message,
    whatsapp_config,
)

pytestmark = BROWSER

DOCS = Path(__file__).resolve().parent.parent / "docs"
CUSTOMER = "358401234567"
CONFIG = """
[organisation]
name = "Kahvila Aroma"

[touchpoints.visit]
survey = "visit"

[surveys.visit]
title = { fi = "Käynti", en = "Your visit" }
intro = { fi = "Kiitos käynnistä Kahvila Aromassa!", en = "Thank you for visiting Kahvila Aroma!" }
[[surveys.visit.questions]]
id = "nps"
type = "nps"
text = { fi = "Kuinka todennäköisesti suosittelisit meitä ystävällesi?", en = "How likely are you to recommend us to a friend?" }
[[surveys.visit.questions]]
id = "csat"
type = "csat"
text = { fi = "Kuinka tyytyväinen olit kahviin?", en = "How satisfied were you with the coffee?" }
low_label = { fi = "en lainkaan", en = "not at all" }
high_label = { fi = "erittäin", en = "very" }
[[surveys.visit.questions]]
id = "again"
type = "yes_no"
text = { fi = "Tuletko uudelleen?", en = "Will you come again?" }
"""
TEMPLATES = """
[whatsapp.templates.visit]
name = "palaute_feedback"
language = "{language}"
parameters = ["order_id"]
"""


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    fake = FakeWhatsApp(templates=[TEMPLATE, TEMPLATE_EN])
    await fake.start()
    yield fake
    await fake.stop()


async def _survey(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path, language: str
) -> None:
    section = TEMPLATES.replace("{language}", language)
    app = await app_factory(whatsapp_config(fake, db_path, CONFIG, section), clock=MovableClock())
    await connect(app, fake)
    contact = ContactSpec("whatsapp", f"+{CUSTOMER}")
    await app.triggers.trigger(
        TriggerRequest("visit", contact, {"order_id": "#1042"}, language=language)
    )
    await app.invitations.tick()
    reply, nps, yes = {"fi": ("Vastaan", "9", "Kyllä"), "en": ("Sure", "9", "Yes")}[language]
    await wait_for_message(fake, CUSTOMER, "#1042")
    await fake.customer_taps(CUSTOMER, reply)
    await wait_for_message(fake, CUSTOMER, "suosittelisit" if language == "fi" else "recommend")
    await fake.customer_text(CUSTOMER, nps)
    csat = await wait_for_message(fake, CUSTOMER, "kahviin" if language == "fi" else "coffee")
    assert csat.list_button and len(csat.rows) == 5, csat
    await fake.customer_taps(CUSTOMER, next(t for t in csat.row_titles if t.startswith("4")))
    again = await wait_for_message(
        fake, CUSTOMER, "uudelleen" if language == "fi" else "come again"
    )
    assert again.button_titles[:2] == (["Kyllä", "Ei"] if language == "fi" else ["Yes", "No"])
    await fake.customer_taps(CUSTOMER, yes)
    await settle(app, fake)
    fake.customer_reads(CUSTOMER)
    await settle(app, fake)


async def _shoot(chromium: Any, tmp_path: Path, html: str, name: str) -> None:
    context = await chromium.new_context(viewport=PHONE, device_scale_factor=2)
    page = await context.new_page()
    await page.set_content(html)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "nothing wider than the phone's screen"
    shot = tmp_path / name
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("PALAUTE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, DOCS / name)
    await context.close()


async def test_the_finnish_survey_in_a_whatsapp_chat(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path, chromium: Any, tmp_path: Path
) -> None:
    await _survey(app_factory, fake, db_path, "fi")
    lines = fake.transcript(CUSTOMER)
    shown = [line.text for line in lines]
    assert shown[0].startswith("Hei! Kiitos tilauksestasi #1042")
    assert shown[1:3] == ["Vastaan", "Kiitos käynnistä Kahvila Aromassa!"]
    assert shown[3].endswith("Kirjoita numero 0–10.")
    thanks = lines[-1]
    assert thanks.text == "Kiitos palautteestasi!"
    # The opt-out button's label is longer than a reply button's 20: a list, in Finnish.
    assert (thanks.list_button, thanks.choices) == ("Valitse", ("Älä kysy minulta enää",))
    assert all(line.status in ("read", None) for line in lines if line.by == "business")
    html = chat_page("Kahvila Aroma", "yritystili", lines)
    await _shoot(chromium, tmp_path, html, "whatsapp-survey-fi.png")


async def test_the_english_survey_in_a_whatsapp_chat(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path, chromium: Any, tmp_path: Path
) -> None:
    await _survey(app_factory, fake, db_path, "en")
    lines = fake.transcript(CUSTOMER)
    assert lines[3].text.endswith("Type a number from 0 to 10.")
    html = chat_page("Kahvila Aroma", "business account", lines)
    await _shoot(chromium, tmp_path, html, "whatsapp-survey-en.png")
