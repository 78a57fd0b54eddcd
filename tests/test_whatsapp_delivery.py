"""WhatsApp delivery: the forms a question takes, the 24-hour window, opting out, and what
the platform reports back (failed statuses, rate limits)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio

from bot.app import PalauteApp
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
CONTACT = ContactSpec("whatsapp", f"+{CUSTOMER}")
TEMPLATES = """
[whatsapp.templates.csat]
name = "palaute_feedback"
language = ["fi", "en"]
parameters = ["order_id"]
"""


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    fake = FakeWhatsApp(templates=[TEMPLATE, TEMPLATE_EN])
    await fake.start()
    yield fake
    await fake.stop()


async def test_inside_the_window_a_survey_starts_at_once_with_a_list_in_finnish(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path, "", TEMPLATES), clock=MovableClock())
    await connect(app, fake)
    await fake.customer_text(CUSTOMER, "Hei, paketti tuli!")
    # WhatsApp does not say which language a customer uses: the default answers them.
    await wait_for_message(fake, CUSTOMER, "I ask short feedback surveys")

    await app.triggers.trigger(TriggerRequest("csat", CONTACT, {"order_id": "#7"}, language="fi"))
    await app.invitations.tick()
    question = await wait_for_message(fake, CUSTOMER, "Kuinka tyytyväinen olit palveluumme?")
    assert question.template is None  # no template inside the window
    assert question.list_button == "Valitse"
    assert len(question.rows) == 5 and question.rows[0][1].startswith("1")
    await fake.customer_taps(CUSTOMER, question.rows[3][1])
    why = await wait_for_message(fake, CUSTOMER, "syy")
    assert why.button_titles == ["Ohita"]  # one option: a reply button
    await fake.customer_taps(CUSTOMER, "Ohita")
    await wait_for_message(fake, CUSTOMER, "Kiitos")
    await settle(app, fake)
    answers = await app.store.answers.for_invitation(1)
    assert answers[0] == {"csat": 4}
    assert not fake.errors


async def test_lopeta_opts_out_and_no_survey_follows(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path, "", TEMPLATES), clock=MovableClock())
    await connect(app, fake)
    await fake.customer_text(CUSTOMER, "Lopeta")
    await wait_for_message(fake, CUSTOMER, "Et saa meiltä enää kyselyjä. Lähetä ALOITA")
    contact = await app.store.contacts.find("whatsapp", f"+{CUSTOMER}")
    assert contact is not None and contact.opted_out_at is not None
    await app.triggers.trigger(TriggerRequest("csat", CONTACT, {"order_id": "#7"}))
    await app.invitations.tick()
    await settle(app, fake)
    assert len(fake.sent_to(CUSTOMER)) == 1  # only the confirmation


async def test_stop_in_reply_to_the_template_opts_out_and_the_question_stays_unsent(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path, "", TEMPLATES), clock=MovableClock())
    await connect(app, fake)
    await app.triggers.trigger(TriggerRequest("csat", CONTACT, {"order_id": "#7"}, language="fi"))
    await app.invitations.tick()
    await wait_for_message(fake, CUSTOMER, "Kiitos tilauksestasi #7")
    await fake.customer_text(CUSTOMER, "STOP")
    await wait_for_message(fake, CUSTOMER, "Et saa meiltä enää kyselyjä")
    await settle(app, fake)
    assert not any("tyytyväinen" in m.text for m in fake.sent_to(CUSTOMER))
    assert await app.store.whatsapp.held(f"+{CUSTOMER}") is None


async def test_a_number_without_whatsapp_is_unreachable_with_the_reason(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path, "", TEMPLATES), clock=MovableClock())
    await connect(app, fake)
    fake.not_on_whatsapp.add(CUSTOMER)
    await app.triggers.trigger(TriggerRequest("csat", CONTACT, {"order_id": "#7"}))
    await app.invitations.tick()
    opening = await wait_for_message(fake, CUSTOMER, "#7")
    await settle(app, fake)
    assert opening.statuses == ["failed"]
    contact = await app.store.contacts.find("whatsapp", f"+{CUSTOMER}")
    assert contact is not None and contact.unreachable_at is not None
    assert contact.unreachable_reason is not None
    assert "131026" in contact.unreachable_reason
    recorded = await app.store.whatsapp.message(opening.id)
    assert recorded is not None and recorded.status == "failed" and recorded.error_code == 131026


async def test_outside_the_window_without_a_template_nothing_is_sent_and_status_says_why(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path), clock=MovableClock())
    await connect(app, fake)
    await app.triggers.trigger(TriggerRequest("csat", CONTACT))
    await app.invitations.tick()
    await settle(app, fake)
    assert fake.sent == []  # a free-form message would fail with 131047
    # `palaute status` lists it, saying what to configure.
    [(_, channel, address, kind, error)] = await app.store.outbox.failures()
    assert (channel, address, kind) == ("whatsapp", f"+{CUSTOMER}", "prompt")
    assert error is not None and "[whatsapp.templates.csat]" in error
    contact = await app.store.contacts.find("whatsapp", f"+{CUSTOMER}")
    assert contact is not None and contact.unreachable_at is None  # the customer is fine


async def test_the_pair_rate_limit_is_waited_out_and_nothing_is_lost(
    app_factory: AppFactory, db_path: Path
) -> None:
    # The fake allows 1 message to one user, then one each 5 s; palaute is configured faster
    # than that, so the Cloud API's 131056 comes back and must be waited out (Meta's 6 s).
    fake = FakeWhatsApp(templates=[TEMPLATE], pair_burst=1, pair_interval=5.0)
    await fake.start()
    try:
        pace = "seconds_between_messages_per_user = 0.05\nper_user_burst = 10\n"
        app = await app_factory(whatsapp_config(fake, db_path, "", pace), clock=MovableClock())
        await connect(app, fake)
        await fake.customer_text(CUSTOMER, "hello")  # 1: the help text
        await wait_for_message(fake, CUSTOMER, "I ask short feedback surveys")
        await app.triggers.trigger(TriggerRequest("nps", CONTACT))
        await app.invitations.tick()
        # 2: the question, refused once with 131056, sent after the wait.
        await wait_for_message(fake, CUSTOMER, "How likely", timeout=15)
        assert [e.code for e in fake.errors] == [131056]
    finally:
        await fake.stop()


async def test_a_trigger_without_the_templates_parameter_is_refused_naming_it(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path, "", TEMPLATES), clock=MovableClock())
    await connect(app, fake)
    await app.triggers.trigger(TriggerRequest("csat", CONTACT))  # no order_id
    await app.invitations.tick()
    await settle(app, fake)
    assert fake.sent == [] and fake.errors == []  # never sent for Meta to refuse (132000)
    [(_, _, _, _, error)] = await app.store.outbox.failures()
    assert error is not None and "needs the property 'order_id'" in error


async def test_statuses_only_move_forward_whatever_order_they_arrive_in(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    fake.auto_statuses = False
    app = await app_factory(whatsapp_config(fake, db_path), clock=MovableClock())
    await connect(app, fake)
    await fake.customer_text(CUSTOMER, "hello")
    help_text = await wait_for_message(fake, CUSTOMER, "I ask short feedback surveys")
    for status in ("read", "sent", "delivered"):  # Meta does not promise their order
        fake.report_status(help_text, status)
    await settle(app, fake)
    recorded = await app.store.whatsapp.message(help_text.id)
    assert recorded is not None and recorded.status == "read"


async def test_forgetting_a_whatsapp_customer_leaves_no_trace_of_their_number(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path, "", TEMPLATES), clock=MovableClock())
    await connect(app, fake)
    await app.triggers.trigger(TriggerRequest("csat", CONTACT, {"order_id": "#7"}))
    await app.invitations.tick()
    await wait_for_message(fake, CUSTOMER, "#7")
    await settle(app, fake)  # the template is held-back question and statuses: all stored
    await fake.customer_text(CUSTOMER, "Terveisiä Maijalta")
    await wait_for_message(fake, CUSTOMER, "How satisfied")
    await settle(app, fake)
    await app.incoming.erasure.forget(channel="whatsapp", address=f"+{CUSTOMER}")
    rows = []
    for table in ("inbox", "outbox", "contacts", "whatsapp_chats", "whatsapp_messages"):
        rows += [
            str(tuple(row)) for row in await app.store.database.fetch_all(f"SELECT * FROM {table}")
        ]
    dump = "\n".join(rows)
    assert CUSTOMER not in dump
    assert "Maijalta" not in dump


async def test_a_question_held_behind_a_template_is_not_sent_once_its_survey_expired(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    clock = MovableClock()
    app = await app_factory(whatsapp_config(fake, db_path, "", TEMPLATES), clock=clock)
    await connect(app, fake)
    await app.triggers.trigger(TriggerRequest("csat", CONTACT, {"order_id": "#7"}))
    await app.invitations.tick()
    await wait_for_message(fake, CUSTOMER, "#7")
    clock.advance(8 * 24 * 3600)  # the survey expires after 7 days
    await app.invitations.tick()
    invitation = await app.store.invitations.get(1)
    assert invitation is not None and invitation.state.value == "expired"
    await fake.customer_text(CUSTOMER, "Hei, mitä asiaa?")
    await wait_for_message(fake, CUSTOMER, "I ask short feedback surveys")
    await settle(app, fake)
    assert not any("How satisfied" in m.text for m in fake.sent_to(CUSTOMER))


async def test_the_template_is_sent_in_the_surveys_language(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path, "", TEMPLATES), clock=MovableClock())
    await connect(app, fake)
    other = ContactSpec("whatsapp", "+358407654321")
    await app.triggers.trigger(TriggerRequest("csat", CONTACT, {"order_id": "#7"}, language="fi"))
    await app.triggers.trigger(TriggerRequest("csat", other, {"order_id": "#8"}, language="en"))
    await app.invitations.tick()
    await wait_for_message(fake, CUSTOMER, "Hei! Kiitos tilauksestasi #7")
    await wait_for_message(fake, "358407654321", "Hi! Thank you for your order #8")
    await fake.customer_taps(CUSTOMER, "Vastaan")
    await wait_for_message(fake, CUSTOMER, "Kuinka tyytyväinen olit palveluumme?")


async def test_a_reminder_after_the_window_closed_opens_with_the_template_again(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    clock = MovableClock()
    toml = '[touchpoints.csat]\nsurvey = "csat"\nremind_after = "1d"\n'
    app = await app_factory(whatsapp_config(fake, db_path, toml, TEMPLATES), clock=clock)
    await connect(app, fake)
    await fake.customer_text(CUSTOMER, "Hello, the parcel came!")
    await wait_for_message(fake, CUSTOMER, "I ask short feedback surveys")
    await app.triggers.trigger(TriggerRequest("csat", CONTACT, {"order_id": "#7"}, language="en"))
    await app.invitations.tick()
    first = await wait_for_message(fake, CUSTOMER, "How satisfied were you")
    assert first.template is None  # they wrote a minute ago: the survey starts at once

    # A day later they have not answered, and the 24-hour window has closed.
    clock.advance(timedelta(days=1, minutes=1).total_seconds())
    await app.invitations.tick()
    opening = await wait_for_message(fake, CUSTOMER, "Thank you for your order #7")
    assert opening.template == "palaute_feedback"
    await settle(app, fake)
    assert fake.sent_to(CUSTOMER)[-1] is opening  # the reminder waits for their reply
    assert not fake.errors

    await fake.customer_taps(CUSTOMER, "Sure")
    await wait_for_message(fake, CUSTOMER, "A gentle reminder")
    again = await wait_for_message(fake, CUSTOMER, "How satisfied were you", after=opening)
    assert again.rows == first.rows
    await fake.customer_taps(CUSTOMER, again.rows[4][1])
    await settle(app, fake)
    assert (await app.store.answers.for_invitation(1))[0] == {"csat": 5}


async def test_a_reminder_after_the_window_closed_without_a_template_fails_saying_why(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    clock = MovableClock()
    toml = '[touchpoints.visit]\nsurvey = "csat"\nremind_after = "1d"\n'
    app = await app_factory(whatsapp_config(fake, db_path, toml), clock=clock)
    await connect(app, fake)
    await fake.customer_text(CUSTOMER, "Hello!")
    await wait_for_message(fake, CUSTOMER, "I ask short feedback surveys")
    await app.triggers.trigger(TriggerRequest("visit", CONTACT, language="en"))
    await app.invitations.tick()
    first = await wait_for_message(fake, CUSTOMER, "How satisfied were you")
    clock.advance(timedelta(days=1, minutes=1).total_seconds())
    await app.invitations.tick()
    # The reminder is failed with why (palaute status), and nothing WhatsApp refuses is sent.
    state, reason = await _outbox_done(app, "prompt", 2)
    assert state == "failed" and reason is not None
    assert "only an approved template may start the conversation" in reason
    assert "[whatsapp.templates.visit]" in reason
    assert fake.sent_to(CUSTOMER)[-1] is first
    assert not fake.errors
    invitation = await app.store.invitations.get(1)
    assert invitation is not None and invitation.state.value == "sent"
    # The survey is still open: the customer can answer the question they have.
    await fake.customer_taps(CUSTOMER, first.rows[1][1])
    await settle(app, fake)
    assert (await app.store.answers.for_invitation(1))[0] == {"csat": 2}


async def _outbox_done(app: PalauteApp, kind: str, nth: int) -> tuple[str, str | None]:
    """The state and error of the `nth` outbox item of `kind`, once it is no longer pending."""
    for _ in range(500):
        rows = await app.store.database.fetch_all(
            "SELECT state, last_error FROM outbox WHERE kind = ? ORDER BY id", (kind,)
        )
        if len(rows) >= nth and rows[nth - 1]["state"] in ("sent", "failed"):
            return rows[nth - 1]["state"], rows[nth - 1]["last_error"]
        await asyncio.sleep(0.02)
    raise AssertionError(f"outbox item {nth} of {kind} is still pending")
