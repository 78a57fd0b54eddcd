"""What a customer sees in Telegram, end to end: real python-telegram-bot against FakeTelegram."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import PalauteApp
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.team.scores import rolling_scores
from bot.tokens import TokenKind
from storage.records import InvitationState
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, FakeUser, fake_telegram  # noqa: F401
from tests.telegram_helpers import (
    MovableClock,
    channel_of,
    keyboard_rows,
    settle,
    telegram_config,
    texts,
    wait_for_messages,
    wait_for_text,
)

MARKET = """
[touchpoints.market_day]
survey = "nps"
delay = "2h"

[surveys.quick]
title = "Quick"
[[surveys.quick.questions]]
id = "csat"
type = "csat"
text = { en = "How satisfied were you with our service?", fi = "Kuinka tyytyväinen olit palveluumme?" }
"""


async def _survey(
    app_factory: AppFactory, fake: FakeTelegram, db_path: Path
) -> tuple[PalauteApp, MovableClock]:
    clock = MovableClock()
    app = await app_factory(telegram_config(fake, db_path, MARKET), clock=clock)
    return app, clock


async def _trigger(app: PalauteApp, user: FakeUser, touchpoint: str = "market_day") -> None:
    await app.triggers.trigger(TriggerRequest(touchpoint, ContactSpec("telegram", str(user.id))))


async def test_qr_join_to_thanks_with_answers_in_sqlite_and_report(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    app, clock = await _survey(app_factory, fake, database_location)
    channel = channel_of(app)
    assert channel.bot_username == fake.bot_username  # from getMe

    # The organizer prints a QR code of the join link; the customer scans it at the exit.
    link = channel.start_link(app.signer.sign(TokenKind.JOIN, "market_2026"))
    assert link is not None
    assert link.startswith(f"https://t.me/{fake.bot_username}?start=")
    payload = link.partition("?start=")[2]
    assert len(payload) <= 64
    maija = fake.user(501, first_name="Maija", language_code="en")
    fake.push_text(maija, f"/start {payload}")
    # No internal id: the audience has no display name in this config.
    joined = await wait_for_text(fake, maija, "Thanks for checking in!")
    assert "market_2026" not in (joined.text or "")
    [member] = await app.store.audiences.members("market_2026")
    assert (member.channel, member.address, member.display_name) == ("telegram", "501", "Maija")

    # After the event, everyone who checked in is surveyed, two hours later.
    for contact in await app.store.audiences.members("market_2026"):
        await app.triggers.trigger(
            TriggerRequest("market_day", ContactSpec(contact.channel, contact.address))
        )
    await app.invitations.tick()
    [scheduled] = await app.store.invitations.listing()
    assert scheduled.state is InvitationState.SCHEDULED
    clock.advance(timedelta(hours=2).total_seconds())
    await app.invitations.tick()

    question = await wait_for_text(fake, maija, "How likely are you to recommend us")
    assert "(0 = not at all likely, 10 = extremely likely)" in (question.text or "")
    assert keyboard_rows(question) == [
        ["0", "1", "2", "3", "4", "5"],
        ["6", "7", "8", "9", "10"],
    ]
    assert all(len(b["callback_data"].encode()) <= 64 for b in question.buttons)

    # A detractor's tap: the question now shows the answer, with no buttons left to tap twice.
    fake.push_callback(maija, question, question.callback_data_for("3"))
    why = await wait_for_text(fake, maija, "main reason for your score")
    assert question.text is not None and question.text.endswith("Your answer: 3")
    assert question.reply_markup is None
    assert keyboard_rows(why) == [["Skip"]]
    assert len(fake.callback_answers) == 1

    fake.push_text(maija, "The queue at the exit")
    fix = await wait_for_text(fake, maija, "What should we fix first?")  # the detractor branch
    fake.push_text(maija, "More doors")
    thanks = await wait_for_text(fake, maija, "Someone from our team will look into this")
    assert keyboard_rows(thanks) == [["Don't ask me again"]]
    assert why.text is not None and why.text.endswith("Your answer: The queue at the exit")
    assert fix.reply_markup is None

    invitation = (await app.store.invitations.listing())[0]
    assert invitation.state is InvitationState.COMPLETED
    answers, skipped = await app.store.answers.for_invitation(invitation.id)
    assert answers == {"nps": 3, "why": "The queue at the exit", "fix": "More doors"}
    assert skipped == set()

    # The next day, when today is one of the window's whole days.
    [row] = await rolling_scores(
        app.store, app.config.surveys, now=clock.now() + 86400, window=timedelta(days=7)
    )
    assert (row.survey, row.n, row.nps, row.response_rate) == ("nps", 1, -100.0, 1.0)


async def test_finnish_customer_gets_finnish_texts_and_a_typed_digit_answers(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    app, _clock = await _survey(app_factory, fake, database_location)
    aino = fake.user(502, first_name="Aino", language_code="fi")
    fake.push_text(aino, "/start")
    await wait_for_text(fake, aino, "Hei! Kysyn muutaman nopean kysymyksen")

    await _trigger(app, aino, "nps")
    question = await wait_for_text(fake, aino, "Kuinka todennäköisesti suosittelisit")
    assert "(0 = en lainkaan todennäköisesti, 10 = erittäin todennäköisesti)" in (
        question.text or ""
    )
    fake.push_text(aino, "9")
    why = await wait_for_text(fake, aino, "Mikä on tärkein syy")
    assert question.text is not None and question.text.endswith("Vastauksesi: 9")
    assert question.reply_markup is None  # a typed answer also retires the buttons
    assert keyboard_rows(why) == [["Ohita"]]

    # The command menu is published in both languages, for private chats.
    menus = {language: commands for (_scope, language), commands in fake.my_commands.items()}
    assert [c["command"] for c in menus["fi"]] == ["start", "help", "stop", "delete"]
    assert menus["fi"][2]["description"] == "Ei enää kyselyjä"
    assert menus[""][2]["description"] == "No more surveys"


async def test_the_reminder_speaks_the_customers_language(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    toml = '[touchpoints.visit]\nsurvey = "quick"\nremind_after = "1d"\n'
    clock = MovableClock()
    app = await app_factory(telegram_config(fake, database_location, MARKET + toml), clock=clock)
    eero = fake.user(508, language_code="fi-FI")
    fake.push_text(eero, "/start")
    await wait_for_text(fake, eero, "Hei!")
    await _trigger(app, eero, "visit")
    first = await wait_for_text(fake, eero, "Kuinka tyytyväinen olit palveluumme?")
    clock.advance(timedelta(days=1, minutes=1).total_seconds())
    await app.invitations.tick()
    reminder, again = (await wait_for_messages(fake, eero, 4))[2:]
    assert reminder.text == "Pieni muistutus: kuulisimme mielellämme, miten meni."
    assert again.text == first.text and again.buttons == first.buttons


async def test_a_survey_without_the_customers_language_is_asked_in_its_own(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    toml = '[surveys.english]\ntitle = "Only English"\n[[surveys.english.questions]]\n'
    toml += 'id = "ok"\ntype = "yes_no"\ntext = "Was everything fine?"\n'
    app = await app_factory(telegram_config(fake, database_location, toml))
    ville = fake.user(509, language_code="fi")
    fake.push_text(ville, "/start")
    await wait_for_text(fake, ville, "Hei!")  # palaute's own texts: the customer's language
    await _trigger(app, ville, "english")
    # The survey speaks only English: the whole conversation is English, not a mix.
    question = await wait_for_text(fake, ville, "Was everything fine?")
    assert keyboard_rows(question) == [["Yes", "No"]]
    fake.push_text(ville, "kyllä")
    await wait_for_text(fake, ville, "Thank you for your feedback!")
    assert question.text == "Was everything fine?\n\nYour answer: Yes"


async def test_stop_suppresses_the_next_survey_and_start_opts_back_in(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    app, _clock = await _survey(app_factory, fake, database_location)
    pekka = fake.user(503, language_code="en")
    fake.push_text(pekka, "/stop")
    await wait_for_text(fake, pekka, "You will not get any more surveys")
    assert len(fake.sent_messages(pekka.id)) == 1  # confirmed in one message

    await _trigger(app, pekka, "nps")
    [invitation] = await app.store.invitations.listing()
    assert invitation.state is InvitationState.SUPPRESSED
    assert invitation.reason == "the contact opted out of surveys"
    await app.invitations.tick()
    fake.push_text(pekka, "/start")
    await wait_for_text(fake, pekka, "Welcome back!")
    assert not any("recommend" in t for t in texts(fake, pekka))

    await _trigger(app, pekka, "csat")
    question = await wait_for_text(fake, pekka, "How satisfied were you")
    assert keyboard_rows(question) == [["1", "2", "3", "4", "5"]]  # CSAT in one row


async def test_delete_asks_first_then_erases_everything(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    app, _clock = await _survey(app_factory, fake, database_location)
    liisa = fake.user(504)
    await _trigger(app, liisa, "quick")
    question = await wait_for_text(fake, liisa, "How satisfied")
    fake.push_callback(liisa, question, question.callback_data_for("5"))
    await wait_for_text(fake, liisa, "Thank you for your feedback!")

    fake.push_text(liisa, "/delete")
    confirm = await wait_for_text(fake, liisa, "Erase everything you have answered?")
    assert await app.store.contacts.find("telegram", "504") is not None
    fake.push_callback(liisa, confirm, confirm.callback_data_for("Yes, erase my data"))
    await wait_for_text(fake, liisa, "your data has been erased")
    assert await app.store.contacts.find("telegram", "504") is None
    assert await app.store.reports.count_answers() == 0


async def test_help_and_unknown_commands_explain_the_bot(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    await _survey(app_factory, fake, database_location)
    user = fake.user(505)
    fake.push_text(user, "/help")
    fake.push_text(user, "/whatever")
    fake.push_text(user, "hello?")  # no survey open: the help again
    messages = await wait_for_messages(fake, user, 3)
    assert all(m.text and m.text.startswith("I ask short feedback surveys") for m in messages)


async def test_late_tap_on_an_expired_survey_is_politely_refused(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    app, clock = await _survey(app_factory, fake, database_location)
    user = fake.user(506)
    await _trigger(app, user, "nps")  # expire_after defaults to 7 days
    question = await wait_for_text(fake, user, "recommend")

    clock.advance(timedelta(days=8).total_seconds())
    await app.invitations.tick()
    fake.push_callback(user, question, question.callback_data_for("9"))
    await wait_for_text(fake, user, "this survey has already closed")
    assert await app.store.reports.count_answers() == 0
    [invitation] = await app.store.invitations.listing()
    assert invitation.state is InvitationState.EXPIRED


async def test_old_forged_and_duplicate_taps_change_nothing(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    database_location: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = fake_telegram
    app, _clock = await _survey(app_factory, fake, database_location)
    user = fake.user(507)
    await _trigger(app, user, "quick")
    question = await wait_for_text(fake, user, "How satisfied")
    data = question.callback_data_for("4")

    # The same tap delivered twice (same update_id) is one answer.
    tap = fake.push_callback(user, question, data)
    fake.push_update(dict(tap))
    await wait_for_text(fake, user, "Thank you for your feedback!")
    sent_before = len(fake.sent_messages(user.id))

    with caplog.at_level(logging.INFO, logger="bot.channels.telegram"):
        # A tap on the answered question (its buttons are gone): nothing happens.
        fake.push_callback(user, question, data)
        # Data that was never on this message (a hand-made payload): ignored and logged.
        fake.push_callback(user, fake.last_message(user.id), "a:1:0:1")
        await fake.wait_for(lambda: len(fake.callback_answers) == 3)
        await settle(app, fake)
    assert len(fake.sent_messages(user.id)) == sent_before
    [invitation] = await app.store.invitations.listing()
    answers, skipped = await app.store.answers.for_invitation(invitation.id)
    assert (answers, skipped) == ({"csat": 4}, set())
    assert "ignored a forged button tap" in caplog.text
    assert "ignored a tap on the old buttons" in caplog.text
