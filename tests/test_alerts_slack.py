"""Detractor alerts and daily summaries in a Slack channel, end to end: palaute in HTTP mode
against the fake Slack Web API, the customer in a DM, the team in a channel (and in a Telegram
group, for an alert posted to both).

Pacing is real here. Slack allows about one message a second per conversation with short
bursts: the dispatcher sends 5 at once to a channel, then one a second, so of the six messages
an alert's life takes in the channel here (the alert, the comment, the claim, the customer's
answer, the resolution, a late reply's refusal) the last waits about a second. The alert that
also goes to a Telegram group waits there too: its resolution is the group's fourth message in
a few seconds, over the burst of 3, and waits up to 3 s (Telegram allows 20 a minute).
"""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import PalauteApp
from bot.delivery.triggers import ContactSpec, TriggerRequest
from tests.conftest import AppFactory, make_config
from tests.fakes.slack_api import (
    JSON_CONTENT_TYPE,
    FakeSlack,
    event_callback_body,
)
from tests.fakes.telegram_api import FakeTelegram, FakeUser, fake_telegram  # noqa: F401
from tests.report_data import generate
from tests.slack_harness import (
    ADMIN,
    BEN,
    LEAD,
    ORGANIZERS,
    SLACK_TOML,
    SlackHarness,
    block_texts,
    buttons,
    eventually,
    start_slack_app,
)
from tests.telegram_helpers import MovableClock, keyboard_rows

TEAM_CHANNEL = "C0TEAM"
GROUP = -1001234567890
SURVEY = """
[touchpoints.delivery]
survey = "delivery"
properties = { store = "Kamppi" }

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
TEAM = f"""
[team]
report_to = ["slack:{TEAM_CHANNEL}"]
daily_summary = "09:00"
weekly_digest = false
timezone = "Europe/Helsinki"
min_n = 5
{SURVEY}
"""
CLAIM, RESOLVE = "I'll follow up", "Resolved"
_ts = itertools.count(1)


def _add_team(fake: FakeSlack) -> None:
    fake.add_channel(TEAM_CHANNEL, [LEAD, ADMIN, fake.bot_user_id], name="feedback-team")


async def _say(
    slack: SlackHarness,
    user: str,
    text: str,
    *,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    subtype: str | None = None,
) -> dict[str, Any]:
    """`user` writes in the team channel (in a thread when `thread_ts` is given)."""
    event: dict[str, Any] = {
        "type": "message",
        "channel": TEAM_CHANNEL,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": f"{int(time.time())}.{next(_ts):06d}",
        "client_msg_id": f"team-msg-{next(_ts)}",
    }
    if thread_ts is not None:
        event |= {"thread_ts": thread_ts, "parent_user_id": parent_user_id}
    if subtype is not None:
        event["subtype"] = subtype
    status, _ = await slack.inbound.post(event_callback_body(event), JSON_CONTENT_TYPE)
    assert status == 200
    return event


def _channel(slack: SlackHarness) -> list[dict[str, Any]]:
    return slack.fake.messages(TEAM_CHANNEL)


def _alert(slack: SlackHarness) -> dict[str, Any]:
    """The alert as the channel shows it now (edits included)."""
    return next(m for m in _channel(slack) if "thread_ts" not in m or m["thread_ts"] == m["ts"])


def _shown(message: dict[str, Any]) -> str:
    return "\n".join(block_texts(message))


def _thread(slack: SlackHarness, alert: dict[str, Any]) -> list[str]:
    return [m["text"] for m in _channel(slack) if m.get("thread_ts") == alert["ts"] != m["ts"]]


async def _waiting(check: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    async def holds() -> bool:
        return bool(check())

    await eventually(holds, timeout, what=what)


async def _settled(app: PalauteApp) -> None:
    async def idle() -> bool:
        counts = await app.store.outbox.counts()
        return not (
            await app.store.inbox.unprocessed("slack")
            or counts.get("pending")
            or counts.get("sending")
        )

    await eventually(idle, what="the inbox and outbox to be done")


async def _contacts(app: PalauteApp) -> list[str]:
    rows = await app.store.database.fetch_all("SELECT address FROM contacts ORDER BY id")
    return [row["address"] for row in rows]


async def _detractor(slack: SlackHarness, score: str = "3") -> None:
    """Ben answers `score` in his DM and says why."""
    await slack.app.triggers.trigger(TriggerRequest("delivery", ContactSpec("slack", BEN)))
    await slack.app.invitations.tick()
    [question] = await slack.wait_for_dms(BEN, 1)
    await slack.click(BEN, question, score)
    [_, why] = await slack.wait_for_dms(BEN, 2)
    assert why["text"] == "What is the main reason for your score?"
    # As Slack sends it: what Ben typed, with <, > and & escaped.
    typed = "The parcel was &lt;b&gt;two days&lt;/b&gt; late &amp; broken"
    await slack.dm(BEN, typed, thread_ts=why["ts"])
    await _waiting(lambda: slack.dms(BEN)[-1]["text"] == "Thank you for your feedback!", "thanks")


async def test_a_detractor_is_followed_up_from_the_slack_channel(
    app_factory: AppFactory, fake_slack: FakeSlack, database_location: str
) -> None:
    _add_team(fake_slack)
    slack = await start_slack_app(app_factory, fake_slack, database_location, TEAM)
    app = slack.app
    await _detractor(slack)

    # The alert: header, score, customer, touchpoint, the comment as typed, and two buttons.
    await _waiting(lambda: _channel(slack) and "broken" in _shown(_alert(slack)), "alert")
    alert = _alert(slack)
    assert alert["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Detractor #1: NPS 3 · Delivery"},
    }
    shown = _shown(alert)
    assert "&lt;b&gt;two days&lt;/b&gt; late &amp; broken" in shown  # mrkdwn, escaped
    # The fallback (what notifications show) is mrkdwn too: escaped the same way.
    assert "The parcel was &lt;b&gt;two days&lt;/b&gt; late &amp; broken" in alert["text"]
    assert "Ben (slack:U0BEN)" in shown and "delivery" in shown and "Kamppi" in shown
    assert "Nobody has taken this yet." in shown
    assert "Reply to this message to write to the customer." in shown
    assert list(buttons(alert)) == [CLAIM, RESOLVE]

    # Leo takes it: the alert says so and only "Resolved" is left.
    await slack.click(LEAD, alert, CLAIM)
    await _waiting(lambda: "Leo Lead is following up" in _shown(_alert(slack)), "claim")
    assert list(buttons(_alert(slack))) == [RESOLVE]
    followup = await app.store.followups.get(1)
    assert followup is not None and followup.owner == "Leo Lead"

    # He replies in the alert's thread; Ben gets it in his DM, with what it is about.
    await _say(slack, LEAD, "So sorry! May we call you?", thread_ts=alert["ts"],
               parent_user_id=fake_slack.bot_user_id)  # fmt: skip
    await _waiting(lambda: "So sorry!" in slack.dms(BEN)[-1]["text"], "the relayed reply")
    assert slack.dms(BEN)[-1]["text"] == (
        "A message from our team — Your feedback:\n\n"
        "So sorry! May we call you?\n\n— Leo. You can answer here."
    )

    # Ben's answer comes back into the thread.
    await slack.dm(BEN, "Yes, after 5 pm")
    await _waiting(lambda: _thread(slack, alert), "the answer in the thread")
    assert _thread(slack, alert) == ["Ben answered: Yes, after 5 pm"]

    # Other talk in the channel is none of palaute's business.
    before = (len(_channel(slack)), len(slack.dms(BEN)), len(slack.dms(LEAD)))
    elsewhere = await _say(slack, LEAD, "Who has the van keys?")
    await _say(slack, ADMIN, "Me", thread_ts=elsewhere["ts"], parent_user_id=LEAD)
    await _settled(app)
    assert (len(_channel(slack)), len(slack.dms(BEN)), len(slack.dms(LEAD))) == before
    assert await _contacts(app) == [BEN]  # the team is not a customer

    # Resolved: the alert says by whom, its buttons are gone, and the relay is over.
    await slack.click(ADMIN, _alert(slack), RESOLVE)
    await _waiting(lambda: "Resolved by Olivia Organizer" in _shown(_alert(slack)), "done")
    assert buttons(_alert(slack)) == {}
    assert "Reply to this message" not in _shown(_alert(slack))
    await slack.dm(BEN, "Hello?")
    await _waiting(lambda: "surveys" in slack.dms(BEN)[-1]["text"], "the usual help")
    await _say(slack, LEAD, "One more thing", thread_ts=alert["ts"],
               parent_user_id=fake_slack.bot_user_id)  # fmt: skip
    await _waiting(lambda: len(_thread(slack, alert)) == 2, "the refusal")
    assert _thread(slack, alert)[-1] == (
        "This follow-up is resolved: replies are no longer passed to the customer."
    )
    assert not any("One more thing" in m["text"] for m in slack.dms(BEN))
    replies = await app.store.followups.replies(1)
    assert [(r.direction.value, r.author, r.text) for r in replies] == [
        ("to_customer", "Leo Lead", "So sorry! May we call you?"),
        ("from_customer", "Ben", "Yes, after 5 pm"),
    ]
    assert await _contacts(app) == [BEN]


async def test_nothing_a_customer_writes_becomes_a_mention_or_a_link_in_slack(
    app_factory: AppFactory, fake_slack: FakeSlack, database_location: str
) -> None:
    comment = "<!channel> see <https://evil.example|invoice> & @here"
    name = "Ben <!here> & <@U0LEAD>"
    fake_slack.customer_texts |= {comment, name}
    _add_team(fake_slack)
    slack = await start_slack_app(app_factory, fake_slack, database_location, TEAM)
    fake_slack.users[BEN]["profile"]["display_name"] = name
    escaped = comment.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    await slack.app.triggers.trigger(TriggerRequest("delivery", ContactSpec("slack", BEN)))
    await slack.app.invitations.tick()
    [question] = await slack.wait_for_dms(BEN, 1)
    await slack.click(BEN, question, "2")
    [_, why] = await slack.wait_for_dms(BEN, 2)
    await slack.dm(BEN, escaped, thread_ts=why["ts"])  # as Slack sends what Ben typed
    await _waiting(lambda: _channel(slack) and "invoice" in _shown(_alert(slack)), "alert")
    await slack.click(LEAD, _alert(slack), CLAIM)
    await _say(slack, LEAD, "Sorry!", thread_ts=_alert(slack)["ts"],
               parent_user_id=fake_slack.bot_user_id)  # fmt: skip
    await _waiting(lambda: "Sorry!" in slack.dms(BEN)[-1]["text"], "the relayed reply")
    await slack.dm(BEN, escaped)  # his answer goes into the alert's thread
    await _waiting(lambda: _thread(slack, _alert(slack)), "the answer in the thread")
    await _settled(slack.app)

    alert = _alert(slack)
    assert escaped in alert["text"] and escaped in _shown(alert)
    assert "Ben &lt;!here&gt; &amp; &lt;@U0LEAD&gt;" in alert["text"]
    assert _thread(slack, alert) == [f"Ben &lt;!here&gt; &amp; &lt;@U0LEAD&gt; answered: {escaped}"]
    assert slack.dms(BEN)[1]["text"].endswith(f"Your answer: {escaped}")
    # No `parse=full` / `link_names`: a bare "@here" stays plain text.
    sent = fake_slack.calls_to("chat.postMessage") + fake_slack.calls_to("chat.update")
    assert sent and all(c.params.keys().isdisjoint({"parse", "link_names"}) for c in sent)
    fake_slack.assert_no_live_markup()


async def test_a_reply_also_sent_to_the_channel_is_relayed_too(
    app_factory: AppFactory, fake_slack: FakeSlack, database_location: str
) -> None:
    _add_team(fake_slack)
    slack = await start_slack_app(app_factory, fake_slack, database_location, TEAM)
    await _detractor(slack, score="0")
    await _waiting(lambda: _channel(slack), "the alert")
    alert = _alert(slack)
    await _say(slack, LEAD, "Calling you now", thread_ts=alert["ts"],
               parent_user_id=fake_slack.bot_user_id, subtype="thread_broadcast")  # fmt: skip
    await _waiting(lambda: "Calling you now" in slack.dms(BEN)[-1]["text"], "the relay")


async def test_the_daily_summary_reaches_the_channel_as_blocks_and_a_chart(
    app_factory: AppFactory, fake_slack: FakeSlack, database_location: str
) -> None:
    _add_team(fake_slack)
    clock = MovableClock()
    fake_slack.add_user(ADMIN, name="Olivia Organizer")
    app = await app_factory(
        make_config(
            SLACK_TOML.format(api_url=fake_slack.api_url, admin=ADMIN, organizers=ORGANIZERS)
            + TEAM,
            database_location,
            {
                "SLACK_BOT_TOKEN": fake_slack.bot_token,
                "SLACK_SIGNING_SECRET": fake_slack.signing_secret,
            },
        ),
        clock=clock,
    )
    await generate(app.store, seed=7, now=clock.now(), count=80, days=40)
    zone = ZoneInfo("Europe/Helsinki")
    nine = datetime.combine(datetime.now(zone).date() + timedelta(days=1), clock_time(9), zone)
    clock.advance(nine.timestamp() + 30 - time.time())

    # Slack asks the chart's upload to wait a second: it does, rather than dropping the chart.
    fake_slack.rate_limit_next("files.getUploadURLExternal", retry_after=1)
    [period] = await app.reporter.run_due()
    [completed] = await fake_slack.wait_for_calls("files.completeUploadExternal", 1)
    limited, granted = fake_slack.calls_to("files.getUploadURLExternal")
    assert (limited.status, granted.status) == (429, 200)
    assert granted.timestamp - limited.timestamp >= 1.0
    [posted] = [c for c in fake_slack.calls_to("chat.postMessage") if c.ok]
    assert posted.params["channel"] == TEAM_CHANNEL
    assert posted.params["text"].startswith(f"Feedback summary, {period.period}")
    summary = fake_slack.messages(TEAM_CHANNEL)[0]
    assert summary["blocks"][0]["text"]["text"] == f"Feedback summary, {period.period}"
    assert any("Net Promoter Score" in text for text in block_texts(summary))
    assert all(b["type"] != "actions" for b in summary["blocks"])
    [chart] = fake_slack.files.values()
    assert chart.completed and chart.channels == [TEAM_CHANNEL]
    assert chart.filename == f"palaute-{period.period}.png"
    assert chart.content is not None and chart.content.startswith(b"\x89PNG")
    assert completed.params["channel_id"] == TEAM_CHANNEL

    # A reply under the summary is not about an alert: nothing comes of it.
    slack = SlackHarness(app, fake_slack)
    await _say(slack, LEAD, "Nice week", thread_ts=summary["ts"],
               parent_user_id=fake_slack.bot_user_id)  # fmt: skip
    await _settled(app)
    assert len(_channel(slack)) == 2 and slack.dms(LEAD) == []  # the summary and its chart
    assert await app.store.contacts.find("slack", LEAD) is None


async def test_one_alert_in_slack_and_telegram_taken_in_one_resolved_in_the_other(
    app_factory: AppFactory,
    fake_slack: FakeSlack,
    fake_telegram: FakeTelegram,
    database_location: str,
) -> None:
    _add_team(fake_slack)
    for user, name in ((ADMIN, "Olivia Organizer"), (BEN, "Ben"), (LEAD, "Leo Lead")):
        fake_slack.add_user(user, name=name)
    config = make_config(
        SLACK_TOML.format(api_url=fake_slack.api_url, admin=ADMIN, organizers=ORGANIZERS)
        + f'[telegram]\ntoken = "${{TELEGRAM_TOKEN}}"\nbase_url = "{fake_telegram.base_url}"\n'
        + TEAM.replace(
            f'report_to = ["slack:{TEAM_CHANNEL}"]',
            f'report_to = ["slack:{TEAM_CHANNEL}", "telegram:{GROUP}"]',
        ),
        database_location,
        {
            "SLACK_BOT_TOKEN": fake_slack.bot_token,
            "SLACK_SIGNING_SECRET": fake_slack.signing_secret,
            "TELEGRAM_TOKEN": fake_telegram.token,
        },
    )
    slack = SlackHarness(await app_factory(config), fake_slack)
    await _detractor(slack)
    await _waiting(lambda: _channel(slack), "the Slack alert")
    await fake_telegram.wait_for(lambda: bool(fake_telegram.sent_messages(GROUP)))
    [copy] = fake_telegram.sent_messages(GROUP)
    await fake_telegram.wait_for(lambda: "broken" in (copy.plain_text or ""))

    # Taken in Telegram: both copies say so.
    anna = FakeUser(701, first_name="Anna", last_name="Virtanen")
    fake_telegram.push_callback(anna, copy, copy.callback_data_for(CLAIM))
    await _waiting(
        lambda: (
            "Anna Virtanen is following up" in _shown(_alert(slack))
            and "Anna Virtanen is following up" in (copy.plain_text or "")
        ),
        "the claim in both",
    )
    assert list(buttons(_alert(slack))) == [RESOLVE] and keyboard_rows(copy) == [[RESOLVE]]

    # A reply from the Telegram group reaches Ben, and a copy of it the Slack thread.
    fake_telegram.push_text(anna, "We are on it", GROUP, reply_to=copy)
    await _waiting(lambda: "We are on it" in slack.dms(BEN)[-1]["text"], "the relay")
    await _waiting(lambda: _thread(slack, _alert(slack)), "the copy in Slack")
    assert _thread(slack, _alert(slack)) == ["Anna Virtanen wrote to the customer: We are on it"]

    # Resolved in Slack: both copies say so, without buttons.
    await slack.click(LEAD, _alert(slack), RESOLVE)
    await _waiting(
        lambda: (
            "Resolved by Leo Lead" in _shown(_alert(slack))
            and "Resolved by Leo Lead" in (copy.plain_text or "")
        ),
        "the resolution in both",
        timeout=10,  # the Telegram group's fourth message waits for its pace
    )
    assert buttons(_alert(slack)) == {} and copy.reply_markup is None
    followup = await slack.app.store.followups.get(1)
    assert followup is not None
    assert (followup.owner, followup.resolved_by) == ("Anna Virtanen", "Leo Lead")
