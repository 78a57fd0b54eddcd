"""Team alerts to a WhatsApp number outside the team member's 24-hour window: the alert
template opens the conversation with the alert's headline, and the whole alert (its buttons,
its thread) follows their reply. Without the template such an alert fails saying why."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.commands.check import cmd_check
from bot.delivery.triggers import ContactSpec, TriggerRequest
from tests.conftest import AppFactory
from tests.fakes.whatsapp_api import FakeTemplate, FakeWhatsApp
from tests.telegram_helpers import MovableClock
from tests.whatsapp_helpers import connect, settle, wait_for_message, whatsapp_config

CUSTOMER = "358401234567"
TEAM_MEMBER = "358409999999"
ALERT_TEMPLATE = FakeTemplate(
    "palaute_alert",
    "en",
    "New in palaute: {{1}}. Reply to see it in full.",
    quick_replies=("Show",),
)
SURVEY = f"""
[team]
report_to = ["whatsapp:+{TEAM_MEMBER}"]
daily_summary = "off"
weekly_digest = false
"""
ALERT_SECTION = """
[whatsapp.alert_template]
name = "palaute_alert"
language = "en"
"""


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    fake = FakeWhatsApp(templates=[ALERT_TEMPLATE])
    await fake.start()
    yield fake
    await fake.stop()


async def _detractor(app: object, fake: FakeWhatsApp) -> None:
    await fake.customer_text(CUSTOMER, "hi", name="Maija")
    await wait_for_message(fake, CUSTOMER, "I ask short feedback surveys")
    contact = ContactSpec.parse(f"whatsapp:+{CUSTOMER}")
    await app.triggers.trigger(TriggerRequest("nps", contact, language="en"))  # type: ignore[attr-defined]
    await app.invitations.tick()  # type: ignore[attr-defined]
    await wait_for_message(fake, CUSTOMER, "How likely")
    await fake.customer_text(CUSTOMER, "2", name="Maija")
    await wait_for_message(fake, CUSTOMER, "What is the main reason")
    await fake.customer_text(CUSTOMER, "Nobody called me back", name="Maija")
    await wait_for_message(fake, CUSTOMER, "What should we fix first")
    await fake.customer_taps(CUSTOMER, "Skip", name="Maija")
    await wait_for_message(fake, CUSTOMER, "Thank you")


async def test_an_alert_outside_the_window_opens_with_the_alert_template_and_follows_the_reply(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(
        whatsapp_config(fake, db_path, SURVEY, ALERT_SECTION), clock=MovableClock()
    )
    await connect(app, fake)
    await _detractor(app, fake)  # the team member has never written to the business number

    opening = await wait_for_message(fake, TEAM_MEMBER, "New in palaute: Detractor #1")
    assert opening.template == "palaute_alert" and opening.button_titles == ["Show"]
    assert "Reply to see it in full." in opening.text
    await settle(app, fake)
    assert not fake.errors
    assert not any("Nobody called me back" in m.text for m in fake.sent_to(TEAM_MEMBER))

    # Their reply opens the window: the whole alert follows, with its buttons, quoting the
    # template; the quick reply itself is not passed on to the customer.
    await fake.customer_taps(TEAM_MEMBER, "Show", name="Tiina")
    alert = await wait_for_message(fake, TEAM_MEMBER, "Nobody called me back")
    assert alert.button_titles == ["I'll follow up", "Resolved"]
    await settle(app, fake)
    assert not any("Show" in m.text for m in fake.sent_to(CUSTOMER))

    # A reply quoting the alert reaches the customer, as inside the window.
    await fake.customer_text(TEAM_MEMBER, "Sorry! We call you today.", reply_to=alert.id)
    relayed = await wait_for_message(fake, CUSTOMER, "Sorry! We call you today.")
    assert "A message from our team" in relayed.text
    # The template's quick reply tapped again is no message for the customer.
    await fake.customer_taps(TEAM_MEMBER, "Show", name="Tiina")
    await settle(app, fake)
    assert not any("Show" in m.text for m in fake.sent_to(CUSTOMER))
    # And its buttons work on the alert.
    await fake.customer_taps(TEAM_MEMBER, "I'll follow up", name="Tiina")
    await wait_for_message(fake, TEAM_MEMBER, "Tiina", after=alert)
    await settle(app, fake)
    assert not fake.errors


async def test_without_an_alert_template_such_an_alert_fails_saying_why(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path, SURVEY), clock=MovableClock())
    await connect(app, fake)
    await _detractor(app, fake)
    await settle(app, fake, rounds=6)
    assert fake.sent_to(TEAM_MEMBER) == []
    rows = await app.store.database.fetch_all(
        "SELECT state, last_error FROM outbox WHERE address = ?", (f"+{TEAM_MEMBER}",)
    )
    assert rows and all(row["state"] == "failed" for row in rows)
    assert "set [whatsapp] alert_template" in rows[0]["last_error"]


async def test_check_says_what_team_members_on_whatsapp_need(
    capsys: pytest.CaptureFixture[str], fake: FakeWhatsApp, db_path: Path
) -> None:
    await cmd_check(argparse.Namespace(), whatsapp_config(fake, db_path, SURVEY, ALERT_SECTION))
    out = capsys.readouterr().out
    assert (
        'WhatsApp team messages outside the 24-hour window: alert template "palaute_alert" (en),'
        " body {{1}} = the alert's headline; the whole message follows the team member's reply"
    ) in out
    await cmd_check(argparse.Namespace(), whatsapp_config(fake, db_path, SURVEY))
    out = capsys.readouterr().out
    assert (
        "Warning: WhatsApp: no [whatsapp] alert_template: a team member on WhatsApp gets alerts"
        " and reports only within 24 hours of writing to the business number"
    ) in out


async def test_an_alert_held_behind_the_template_is_erased_with_its_customer(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(
        whatsapp_config(fake, db_path, SURVEY, ALERT_SECTION), clock=MovableClock()
    )
    await connect(app, fake)
    await _detractor(app, fake)
    await wait_for_message(fake, TEAM_MEMBER, "New in palaute: Detractor #1")
    await settle(app, fake)
    await app.incoming.erasure.forget(channel="whatsapp", address=f"+{CUSTOMER}")
    await settle(app, fake)
    await fake.customer_taps(TEAM_MEMBER, "Show", name="Tiina")
    await wait_for_message(fake, TEAM_MEMBER, "answer erased")
    await settle(app, fake)
    assert not any("Nobody called me back" in m.text for m in fake.sent_to(TEAM_MEMBER))
    held = await app.store.database.fetch_all(
        "SELECT held_alerts FROM whatsapp_chats WHERE held_alerts LIKE '%Nobody called%'"
    )
    assert held == []
