"""A survey in WhatsApp, end to end: pywa against the fake Cloud API over real HTTP, webhooks
signed and delivered to palaute's HTTP server, the customer and the team as WhatsApp users."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from bot.delivery.triggers import ContactSpec, TriggerRequest
from tests.conftest import AppFactory
from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.telegram_helpers import MovableClock
from tests.whatsapp_helpers import (
    TEMPLATE,
    TEMPLATE_EN,
    connect,
    settle,
    wait_for_message,
    whatsapp_config,
)

CUSTOMER = "358401234567"
TEAM_MEMBER = "358409999999"
SURVEY = f"""
[team]
report_to = ["whatsapp:+{TEAM_MEMBER}"]
daily_summary = "off"
weekly_digest = false

[touchpoints.delivery]
survey = "delivery"

[surveys.delivery]
title = "Delivery"
[[surveys.delivery.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend our delivery?"
[[surveys.delivery.questions]]
id = "why"
type = "text"
optional = true
text = "What is the main reason for your score?"
"""
TEMPLATES = """
[whatsapp.templates.delivery]
name = "palaute_feedback"
language = "en"
parameters = ["order_id"]
"""


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    fake = FakeWhatsApp(templates=[TEMPLATE, TEMPLATE_EN])
    await fake.start()
    yield fake
    await fake.stop()


async def test_a_touchpoint_opens_with_its_template_and_the_survey_follows_the_reply(
    app_factory: AppFactory, fake: FakeWhatsApp, database_location: str
) -> None:
    app = await app_factory(
        whatsapp_config(fake, database_location, SURVEY, TEMPLATES), clock=MovableClock()
    )
    await connect(app, fake)
    # The team member wrote to the business number today, so alerts may reach them.
    await fake.customer_text(TEAM_MEMBER, "hi", name="Tiina")
    await wait_for_message(fake, TEAM_MEMBER, "I ask short feedback surveys")

    # Nobody has written from the customer's number: the survey opens with the template.
    contact = ContactSpec.parse("whatsapp:+358 40 123 4567")
    assert contact.address == f"+{CUSTOMER}"
    await app.triggers.trigger(TriggerRequest("delivery", contact, {"order_id": "#1042"}))
    await app.invitations.tick()
    opening = await wait_for_message(fake, CUSTOMER, "Thank you for your order #1042")
    assert opening.template == "palaute_feedback" and opening.button_titles == ["Sure"]
    await settle(app, fake)
    assert len(fake.sent_to(CUSTOMER)) == 1  # the question waits for their reply
    assert not fake.errors

    # Their reply opens the 24-hour window: the question comes at once, free-form.
    tap = await fake.customer_taps(CUSTOMER, "Sure", name="Maija")
    question = await wait_for_message(fake, CUSTOMER, "How likely are you to recommend")
    assert question.type == "text"  # 0–10 does not fit a list: typed, with a hint
    assert question.text.endswith("Type a number from 0 to 10.")
    score = await fake.customer_text(CUSTOMER, "3", name="Maija")
    why = await wait_for_message(fake, CUSTOMER, "What is the main reason")
    assert why.button_titles == ["Skip"]
    await fake.customer_text(CUSTOMER, "Two days late and broken", name="Maija")
    await wait_for_message(fake, CUSTOMER, "Thank you for your feedback!")

    # The detractor alert reaches the team member's WhatsApp, with its buttons.
    alert = await wait_for_message(fake, TEAM_MEMBER, "Detractor #1")
    await wait_for_message(fake, TEAM_MEMBER, "Two days late and broken")
    assert alert.button_titles == ["I'll follow up", "Resolved"]

    # A reply quoting the alert goes to the customer.
    await fake.customer_text(
        TEAM_MEMBER, "So sorry! May we call you?", name="Tiina", reply_to=alert.id
    )
    relayed = await wait_for_message(fake, CUSTOMER, "So sorry! May we call you?")
    assert "A message from our team" in relayed.text
    await settle(app, fake)

    # The customer's messages show as read, every send got its status, none failed.
    assert {tap, score} <= set(fake.read_marks)
    recorded = await app.store.whatsapp.message(question.id)
    assert recorded is not None and recorded.status == "delivered"
    assert not fake.errors
    answers = await app.store.answers.for_invitation(1)
    assert answers[0] == {"nps": 3, "why": "Two days late and broken"}
