"""The team hears about every unhappy visitor: any scored question can alert, the event survey
by default on a 1 or 2 out of 5. Real python-telegram-bot against FakeTelegram."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import pytest

from bot.config import ConfigError, parse_config
from bot.delivery.triggers import ContactSpec, TriggerRequest
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.telegram_helpers import MovableClock, settle, telegram_config, wait_for_text

GROUP = -1001234567890
TEAM = f"""
[team]
report_to = ["telegram:{GROUP}"]
daily_summary = "off"
weekly_digest = false

[touchpoints.market_visit]
survey = "event"

[surveys.pickup]
title = "Pickup"
alert_at_most = 1
[[surveys.pickup.questions]]
id = "speed"
type = "rating"
points = 4
text = "How quick was the pickup?"
[[surveys.pickup.questions]]
id = "found"
type = "yes_no"
alert_on = "no"
text = "Did you find the pickup point?"
"""


def _group_texts(fake: FakeTelegram) -> list[str]:
    return [m.plain_text or m.text or "" for m in fake.sent_messages(GROUP)]


async def test_a_bad_event_day_alerts_the_team(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, database_location, TEAM), clock=MovableClock())
    happy, unhappy = fake.user(901, language_code="en"), fake.user(902, language_code="en")
    for user, ratings in [(happy, "453"), (unhappy, "312")]:
        await app.triggers.trigger(
            TriggerRequest(
                "market_visit", ContactSpec("telegram", str(user.id)), {"event_name": "Kirppis"}
            )
        )
        await app.invitations.tick()
        for asked, rating in zip(
            ["Before the event", "The day itself", "Afterwards"], ratings, strict=True
        ):
            question = await wait_for_text(fake, user, asked)
            fake.push_callback(user, question, question.callback_data_for(rating))
        await wait_for_text(fake, user, "What should we change next time?")
        fake.push_text(user, "No parking at all" if user is unhappy else "All good")
        await wait_for_text(fake, user, "see you next time")
    await settle(app, fake)

    [alert] = _group_texts(fake)  # one alert: the unhappy visitor's, not the happy one's
    assert "during 1" in alert
    assert "No parking at all" in alert
    [(question_id,)] = [
        tuple(row)
        for row in await app.store.database.fetch_all("SELECT question_id FROM followups")
    ]
    assert question_id == "during"


async def test_a_survey_and_a_question_can_set_their_own_alert(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, database_location, TEAM), clock=MovableClock())
    lost, slow = fake.user(903, language_code="en"), fake.user(904, language_code="en")
    for user, speed, found in [(lost, "4", "No"), (slow, "1", "Yes")]:
        await app.triggers.trigger(TriggerRequest("pickup", ContactSpec("telegram", str(user.id))))
        await app.invitations.tick()
        question = await wait_for_text(fake, user, "How quick was the pickup?")
        fake.push_callback(user, question, question.callback_data_for(speed))
        question = await wait_for_text(fake, user, "Did you find the pickup point?")
        fake.push_callback(user, question, question.callback_data_for(found))
        await settle(app, fake)
    alerts = _group_texts(fake)
    assert len(alerts) == 2
    assert any("found No" in alert for alert in alerts)
    assert any("speed 1" in alert for alert in alerts)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        (
            '[[surveys.s.questions]]\nid = "q"\ntype = "csat"\ntext = "?"\nalert_at_most = 5\n',
            "surveys.s.questions[0].alert_at_most: must be from 1 to 4 on this scale",
        ),
        (
            '[[surveys.s.questions]]\nid = "q"\ntype = "text"\ntext = "?"\nalert_at_most = 1\n',
            "surveys.s.questions[0].alert_at_most: only a scale question (nps, csat, ces, "
            'rating) alerts at a score; a yes_no question takes alert_on = "yes" or "no"',
        ),
        (
            '[[surveys.s.questions]]\nid = "q"\ntype = "csat"\ntext = "?"\nalert_on = "no"\n',
            'surveys.s.questions[0].alert_on: only a yes_no question takes alert_on = "yes" or "no"',
        ),
    ],
)
def test_an_alert_rule_that_cannot_work_is_refused_with_its_line(table: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config("[surveys.s]\n" + table, environ={})
    assert any(line.endswith(problem) for line in raised.value.lines), raised.value.lines
