"""At a decent hour, never too often, never twice by accident: what the built-in defaults promise.

These tests run on palaute's built-in [defaults] (no quiet hours or fatigue settings of their
own) with a fake clock, real python-telegram-bot against FakeTelegram and a real SQLite file.
"""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import PalauteApp
from bot.cli import main as palaute
from bot.triggers import ContactSpec, TriggerRequest
from storage.records import InvitationState
from tests.clock import FakeClock
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, FakeUser, fake_telegram  # noqa: F401
from tests.telegram_helpers import (
    settle,
    telegram_config,
    texts,
    wait_for_messages,
    wait_for_text,
)
from tests.test_web_survey import base_url, open_link
from tests.web_pages import Browser

HELSINKI = ZoneInfo("Europe/Helsinki")
EVENING = datetime(2026, 11, 30, 22, 30, tzinfo=HELSINKI)
BUILT_IN = '[defaults]\ntimezone = "Europe/Helsinki"\n'
"""A [defaults] table that sets neither quiet hours nor the fatigue guard: the built-in ones."""
MARKET = """
[touchpoints.market_visit]
survey = "event"
"""


async def _app(
    app_factory: AppFactory,
    fake: FakeTelegram,
    db_path: Path,
    clock: FakeClock,
    defaults: str = BUILT_IN,
) -> PalauteApp:
    return await app_factory(telegram_config(fake, db_path, defaults + MARKET), clock=clock)


async def _trigger(
    app: PalauteApp, user: FakeUser, touchpoint: str, again: bool = False, **properties: str
) -> tuple[InvitationState, bool]:
    result = await app.triggers.trigger(
        TriggerRequest(touchpoint, ContactSpec("telegram", str(user.id)), properties, again=again)
    )
    return result.invitation.state, result.already_asked


async def test_a_survey_triggered_in_the_evening_waits_for_the_morning(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    clock = FakeClock(EVENING)
    app = await _app(app_factory, fake_telegram, db_path, clock)
    maija = fake_telegram.user(601, first_name="Maija", language_code="en")
    result = await app.triggers.trigger(TriggerRequest("nps", ContactSpec("telegram", "601")))
    due = datetime.fromtimestamp(result.invitation.due_at, HELSINKI)
    assert due == datetime(2026, 12, 1, 8, 0, tzinfo=HELSINKI)
    await app.invitations.tick()
    await settle(app, fake_telegram)
    assert texts(fake_telegram, maija) == []  # nothing at 22:30

    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=HELSINKI))
    await app.invitations.tick()
    await wait_for_text(fake_telegram, maija, "How likely are you to recommend us")


async def test_one_person_gets_at_most_one_survey_a_week(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    clock = FakeClock(datetime(2026, 11, 30, 12, 0, tzinfo=HELSINKI))
    app = await _app(app_factory, fake_telegram, db_path, clock)
    user = fake_telegram.user(602, language_code="en")
    assert await _trigger(app, user, "nps") == (InvitationState.SCHEDULED, False)
    clock.advance(timedelta(days=6).total_seconds())
    result = await app.triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", "602")))
    assert result.invitation.state is InvitationState.SUPPRESSED
    assert result.invitation.reason == (
        "another survey is due within 7 days (min_days_between_surveys)"
    )
    clock.advance(timedelta(days=1, minutes=1).total_seconds())
    assert await _trigger(app, user, "csat") == (InvitationState.SCHEDULED, False)


async def test_the_web_demo_answers_at_once_even_late_and_twice(
    app_factory: AppFactory, db_path: Path
) -> None:
    # The no-config demo: open links, opened by the customer, wait for nobody.
    clock = FakeClock(EVENING)
    app = await app_factory(None, clock=clock)
    async with Browser(base_url(app), language="en") as browser:
        page = await browser.open(open_link(app, "nps"))
        assert page.question == "How likely are you to recommend us to a friend or colleague?"
        page = await browser.answer("9")
        assert page.question == "What is the main reason for your score?"
        page = await browser.open(open_link(app, "csat"))  # a second survey the same evening
        assert page.question == "How satisfied were you with our service?"


def test_check_shows_the_quiet_hours_and_the_fatigue_guard(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert palaute(["check"]) == 0
    assert (
        "Timing: quiet hours 21:00–08:00 in the customer's time zone (else Europe/Helsinki); "
        "at least 7 days between surveys to one person (set in [defaults]; open web links "
        "answer at once)"
    ) in capsys.readouterr().out.splitlines()
    config = tmp_path / "palaute.toml"
    config.write_text('[defaults]\nquiet_hours = "off"\nmin_days_between_surveys = 0\n')
    assert palaute(["check", "--config", str(config)]) == 0
    assert (
        "Timing: no quiet hours; no limit on how often one person is surveyed (set in "
        "[defaults]; open web links answer at once)"
    ) in capsys.readouterr().out.splitlines()


async def test_triggering_an_event_again_skips_who_already_answered(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    clock = FakeClock(datetime(2026, 11, 30, 12, 0, tzinfo=HELSINKI))
    # Without the fatigue guard, so that only the rule against asking twice is at work.
    app = await _app(
        app_factory, fake_telegram, db_path, clock, BUILT_IN + "min_days_between_surveys = 0\n"
    )
    users = [fake_telegram.user(700 + n, language_code="en") for n in range(3)]
    for user in users:
        assert await _trigger(app, user, "market_visit", event_name="Kirppis") == (
            InvitationState.SCHEDULED,
            False,
        )
    await app.invitations.tick()
    for user in users:
        await wait_for_messages(fake_telegram, user, 2)  # the greeting and the first question

    # The organizer presses the button again, and again three days later.
    for days in (0, 3):
        clock.advance(timedelta(days=days).total_seconds())
        for user in users:
            assert await _trigger(app, user, "market_visit", event_name="Kirppis") == (
                InvitationState.SENT,
                True,
            )
    await app.invitations.tick()
    await settle(app, fake_telegram)
    assert [len(fake_telegram.sent_messages(u.id)) for u in users] == [2, 2, 2]

    # Another event, or an explicit --again, does ask.
    state, skipped = await _trigger(app, users[0], "market_visit", event_name="Joulumarkkinat")
    assert (state, skipped) == (InvitationState.SCHEDULED, False)
    state, skipped = await _trigger(app, users[1], "market_visit", again=True, event_name="Kirppis")
    assert (state, skipped) == (InvitationState.SCHEDULED, False)
    assert len(await app.store.invitations.listing()) == 5


def test_the_trigger_command_says_how_many_it_skipped_and_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for address in ("anna@example.com", "ville@example.com"):
        assert palaute(["trigger", "csat", "--contact", f"web:{address}"]) == 0
    capsys.readouterr()
    assert palaute(["trigger", "csat", "--contact", "web:anna@example.com"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "0 touchpoint(s) were recorded: none",
        "1 skipped: already answered or answering this touchpoint with the same properties "
        "(--again asks them anyway)",
    ]
    assert out[0].startswith("web:anna@example.com: skipped, already ")
    assert palaute(["trigger", "csat", "--contact", "web:anna@example.com", "--again"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 touchpoint(s) were recorded: 1 suppressed"


async def test_a_chat_has_one_survey_open_at_a_time(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    clock = FakeClock(datetime(2026, 11, 30, 12, 0, tzinfo=HELSINKI))
    app = await _app(app_factory, fake, db_path, clock, BUILT_IN + "min_days_between_surveys = 0\n")
    visitor = fake.user(801, language_code="en")
    await _trigger(app, visitor, "market_visit", event_name="Kirppis")
    await app.invitations.tick()
    for asked, rating in [("Before the event", "4"), ("The day itself", "2"), ("Afterwards", "3")]:
        question = await wait_for_text(fake, visitor, asked)
        fake.push_callback(visitor, question, question.callback_data_for(rating))
    await wait_for_text(fake, visitor, "What should we change next time?")

    # The shop's NPS comes due while the event survey waits for its last answer.
    result = await app.triggers.trigger(TriggerRequest("nps", ContactSpec("telegram", "801")))
    await app.invitations.tick()
    await settle(app, fake)
    nps = await app.store.invitations.get(result.invitation.id)
    assert nps is not None and nps.state is InvitationState.SCHEDULED
    assert not any("recommend us" in line for line in texts(fake, visitor))

    # The typed answer goes to the survey on the screen, not to a 0–10 question.
    fake.push_text(visitor, "No parking at all")
    await wait_for_text(fake, visitor, "Thank you, see you next time!")
    assert not any("number from 0 to 10" in line for line in texts(fake, visitor))
    [change] = await app.store.database.fetch_all(
        "SELECT value_text FROM answers WHERE question_id = 'change'"
    )
    assert change["value_text"] == "No parking at all"

    # Then the NPS gets its turn.
    await app.invitations.tick()
    await wait_for_text(fake, visitor, "How likely are you to recommend us")
