"""Detractor alerts and daily summaries in a Telegram group, end to end: real
python-telegram-bot against FakeTelegram, the team and the customer as Telegram users.

Pacing is real here. The dispatcher sends up to 3 messages at once to a group, then one every
3 s (Telegram allows a bot 20 a minute in a group, edits included), and one a second to a
private chat after a burst of 3. An alert's life takes five in the group (the alert, its edit
when the comment arrives, the claim, the customer's answer, the resolution), so the resolution
waits for the pace: measured, about 3 s of the follow-up test's 6 s; most of the rest is the
customer's chat at one message a second. No request is answered 429.
"""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import time
from datetime import datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from bot.app import PalauteApp
from bot.delivery.triggers import ContactSpec, TriggerRequest
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeMessage, FakeTelegram, FakeUser, fake_telegram  # noqa: F401
from tests.report_data import generate
from tests.telegram_helpers import (
    MovableClock,
    keyboard_rows,
    settle,
    telegram_config,
    texts,
    wait_for_text,
)

GROUP = -1001234567890
"""The team's supergroup, as in `report_to = ["telegram:-100…"]`."""
TEAM = f"""
[team]
report_to = ["telegram:{GROUP}"]
daily_summary = "09:00"
weekly_digest = false
timezone = "Europe/Helsinki"
min_n = 5

[touchpoints.delivery]
survey = "delivery"
properties = {{ store = "Kamppi" }}

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
CLAIM, RESOLVE = "I'll follow up", "Resolved"


def _in_group(fake: FakeTelegram) -> list[FakeMessage]:
    return fake.sent_messages(GROUP)


def _shown(message: FakeMessage) -> str:
    """What the group sees: the HTML rendered, as Telegram shows it."""
    return message.plain_text or message.text or ""


async def _wait_in_group(fake: FakeTelegram, fragment: str) -> FakeMessage:
    await fake.wait_for(
        lambda: any(fragment in _shown(m) for m in _in_group(fake)),
        message=lambda: f"{fragment!r} in the group, got {[_shown(m) for m in _in_group(fake)]}",
    )
    return next(m for m in reversed(_in_group(fake)) if fragment in _shown(m))


async def _contacts(app: PalauteApp) -> list[str]:
    rows = await app.store.database.fetch_all("SELECT address FROM contacts ORDER BY id")
    return [row["address"] for row in rows]


async def test_a_detractor_is_followed_up_from_the_telegram_group(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, database_location, TEAM), clock=MovableClock())
    maija = fake.user(501, first_name="Maija")
    anna = FakeUser(701, first_name="Anna", last_name="Virtanen")

    # The customer answers 3 and says why, in her own chat with the bot.
    await app.triggers.trigger(TriggerRequest("delivery", ContactSpec("telegram", str(maija.id))))
    await app.invitations.tick()
    question = await wait_for_text(fake, maija, "How likely are you to recommend our delivery")
    fake.push_callback(maija, question, question.callback_data_for("3"))
    await wait_for_text(fake, maija, "What is the main reason for your score?")
    fake.push_text(maija, "The parcel was <b>two days</b> late & broken")
    await wait_for_text(fake, maija, "Thank you for your feedback!")

    # The alert: score, customer, touchpoint, the comment as typed, and two buttons.
    alert = await _wait_in_group(fake, "Detractor #1: NPS 3 · Delivery")
    await fake.wait_for(lambda: "broken" in _shown(alert), message="the comment in the alert")
    assert alert.parse_mode == "HTML" and alert.text is not None
    assert alert.text.startswith("<b>Detractor #1")
    assert "&lt;b&gt;two days&lt;/b&gt; late &amp; broken" in alert.text  # escaped as HTML
    shown = _shown(alert)
    assert "The parcel was <b>two days</b> late & broken" in shown
    assert "Maija (telegram:501)" in shown and "delivery" in shown and "Kamppi" in shown
    assert "Nobody has taken this yet." in shown
    assert "Reply to this message to write to the customer." in shown
    assert keyboard_rows(alert) == [[CLAIM, RESOLVE]]

    # Anna takes it: the alert says so and only "Resolved" is left.
    fake.push_callback(anna, alert, alert.callback_data_for(CLAIM))
    await fake.wait_for(lambda: "Anna Virtanen is following up" in _shown(alert))
    assert keyboard_rows(alert) == [[RESOLVE]]
    assert len(fake.callback_answers) == 2  # every tap answered: Maija's and Anna's
    followup = await app.store.followups.get(1)
    assert followup is not None and followup.owner == "Anna Virtanen"
    assert followup.claimed_at is not None and abs(followup.claimed_at - app.clock.now()) < 60

    # She replies to the alert; Maija gets it in her own chat, with what it is about.
    fake.push_text(anna, "So sorry! May we call you?", GROUP, reply_to=alert)
    relayed = await wait_for_text(fake, maija, "So sorry! May we call you?")
    assert relayed.text == (
        "A message from our team — Your feedback:\n\n"
        "So sorry! May we call you?\n\n— Anna. You can answer here."
    )

    # Maija's answer comes back under the alert.
    fake.push_text(maija, "Yes, after 5 pm")
    answer = await _wait_in_group(fake, "answered: Yes, after 5 pm")
    assert answer.reply_to is alert
    assert _shown(answer) == "Maija answered: Yes, after 5 pm"

    # Talk in the group that is not a reply to an alert is none of palaute's business.
    in_group = len(_in_group(fake))
    fake.push_text(anna, "Who has the van keys?", GROUP)
    fake.push_text(anna, "Noted", GROUP, reply_to=answer)  # a reply, but not to the alert
    fake.push_text(anna, "/help", GROUP, reply_to=alert)  # a command: not a reply to relay
    await settle(app, fake)
    assert len(_in_group(fake)) == in_group
    assert not any("van keys" in t or "Noted" in t for t in texts(fake, maija))
    assert await _contacts(app) == ["501"]  # the team and the group are not customers

    # Resolved: the alert says by whom, its buttons are gone, and the relay is over.
    fake.push_callback(anna, alert, alert.callback_data_for(RESOLVE))
    # The group's fifth message in a few seconds: it waits for the pace (see above).
    await fake.wait_for(lambda: "Resolved by Anna Virtanen" in _shown(alert), timeout=10)
    assert alert.reply_markup is None
    assert "Reply to this message" not in _shown(alert)
    fake.push_text(maija, "Hello?")
    await wait_for_text(fake, maija, "I ask short feedback surveys")  # the usual help
    await settle(app, fake)
    assert not any("Hello?" in _shown(m) for m in _in_group(fake))
    replies = await app.store.followups.replies(1)
    assert [(r.direction.value, r.author, r.text) for r in replies] == [
        ("to_customer", "Anna Virtanen", "So sorry! May we call you?"),
        ("from_customer", "Maija", "Yes, after 5 pm"),
    ]
    # Five messages in the group, and none of them was refused for going too fast.
    assert not [c for c in fake.calls if c.status == 429]


async def test_a_press_from_outside_the_alert_changes_nothing(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, database_location, TEAM), clock=MovableClock())
    maija = fake.user(501, first_name="Maija")
    await app.triggers.trigger(TriggerRequest("delivery", ContactSpec("telegram", str(maija.id))))
    await app.invitations.tick()
    question = await wait_for_text(fake, maija, "How likely are you to recommend our delivery")
    fake.push_callback(maija, question, question.callback_data_for("1"))
    alert = await _wait_in_group(fake, "Detractor #1")
    await settle(app, fake)

    # The customer forges the alert's callback data on a message in her own chat.
    why = await wait_for_text(fake, maija, "What is the main reason")
    fake.push_callback(maija, why, alert.callback_data_for(RESOLVE))
    # A group member forges data the alert does not carry.
    anna = FakeUser(701, first_name="Anna")
    fake.push_callback(anna, alert, "f:1:resolve:x")
    await settle(app, fake)
    followup = await app.store.followups.get(1)
    assert followup is not None and followup.resolved_at is None and followup.owner is None
    assert keyboard_rows(alert) == [[CLAIM, RESOLVE]]
    assert await _contacts(app) == ["501"]


async def test_the_daily_summary_reaches_the_group_as_a_chart_and_html(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    clock = MovableClock()
    app = await app_factory(telegram_config(fake, database_location, TEAM), clock=clock)
    await generate(app.store, seed=7, now=clock.now(), count=80, days=40)
    zone = ZoneInfo("Europe/Helsinki")
    tomorrow = datetime.now(zone).date() + timedelta(days=1)
    nine = datetime.combine(tomorrow, clock_time(9, 0, 30), zone)
    clock.advance(nine.timestamp() - time.time())

    [period] = await app.reporter.run_due()
    await settle(app, fake)
    photo, summary = _in_group(fake)
    [send_photo] = fake.calls_to("sendPhoto")
    assert photo.photo is not None and photo.file is not None
    assert photo.file.data.startswith(b"\x89PNG") and photo.file.filename == (
        f"palaute-{period.period}.png"
    )
    assert send_photo.params.get("caption") is None  # the text is its own message
    assert summary.parse_mode == "HTML" and summary.text is not None
    assert summary.text.startswith(f"<b>Feedback summary, {period.period}</b>")
    shown = _shown(summary)
    assert shown.startswith(f"Feedback summary, {period.period}")
    assert "Net Promoter Score" in shown and "last 7 days" in shown
    assert "Posted late" not in shown
    assert summary.reply_markup is None
