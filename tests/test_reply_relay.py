"""Writing to a detractor from the alert, and their answers back into the alert's thread."""

from __future__ import annotations

import asyncio

from bot.app import PalauteApp
from bot.channels.base import Incoming, IncomingKind
from bot.team.alerts import is_alert_message
from storage.followups import FollowupMessage, ReplyDirection
from tests.conftest import AppFactory
from tests.team_channel import RecordingChannel, eventually
from tests.test_followups import PRIVATE_SURVEY, _answer_score, _start


async def _finished_detractor(app: PalauteApp, survey: str = "nps", address: str = "UCUST") -> int:
    invitation_id = await _answer_score(app, survey=survey, score="2", address=address)
    for reply in ("Late again", "Call me") if survey == "nps" else ("Late again",):
        await app.surveys.answer(invitation_id, reply, channel="slack", address=address)
    return invitation_id


async def _refs_recorded(app: PalauteApp, followup_id: int = 1) -> None:
    for _ in range(300):
        if all(m.message_ref for m in await app.store.followups.messages(followup_id)):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the alerts' message refs were not recorded")


def _threads(channel: RecordingChannel) -> list[tuple[str, str | None, str]]:
    return [(s.address, s.message.thread_ref, s.message.text) for s in channel.team[1:]]


async def test_a_reply_reaches_the_customer_and_their_answer_the_thread(
    app_factory: AppFactory, database_location: str
) -> None:
    app, slack, telegram, _clock = await _start(app_factory, database_location)
    await _finished_detractor(app)
    await eventually(lambda: len(slack.team) == 1 and len(telegram.team) == 1)
    await _refs_recorded(app)
    await eventually(
        lambda: "Reply to this message to write to the customer." in slack.team[0].message.text
    )
    slack_alert, telegram_alert = slack.team[0].ref, telegram.team[0].ref

    await app.incoming(
        Incoming("telegram", "-1001", IncomingKind.TEXT, text="So sorry! May we call you?",
                 message_ref=telegram_alert, display_name="Anna Virtanen")
    )  # fmt: skip
    await eventually(lambda: any("So sorry!" in t for a, t in slack.texts if a == "UCUST"))
    to_customer = next(t for a, t in slack.texts if a == "UCUST" and "So sorry!" in t)
    # What the customer reads names no metric or internal id.
    assert (
        to_customer.startswith("A message from our team — Your feedback:")
        and "— Anna." in to_customer
    )
    assert "Net Promoter" not in to_customer and "nps" not in to_customer.lower()
    await eventually(lambda: len(slack.team) == 2)
    assert _threads(slack) == [
        ("CTEAM", slack_alert, "Anna Virtanen wrote to the customer: So sorry! May we call you?")
    ]

    await app.incoming(Incoming("slack", "UCUST", IncomingKind.TEXT, text="Yes, after 5 pm"))
    await eventually(lambda: len(slack.team) == 3 and len(telegram.team) == 2)
    assert _threads(slack)[-1] == ("CTEAM", slack_alert, "slack:UCUST answered: Yes, after 5 pm")
    assert _threads(telegram) == [
        ("-1001", telegram_alert, "slack:UCUST answered: Yes, after 5 pm")
    ]
    replies = await app.store.followups.replies(1)
    assert [(r.direction, r.author) for r in replies] == [
        (ReplyDirection.TO_CUSTOMER, "Anna Virtanen"),
        (ReplyDirection.FROM_CUSTOMER, "slack:UCUST"),
    ]
    people = await app.store.database.fetch_all("SELECT address FROM contacts")
    assert [p["address"] for p in people] == ["UCUST"]  # the team is not a customer

    # Once resolved, the conversation is over in both directions.
    await app.incoming(
        Incoming("slack", "UANNA", IncomingKind.BUTTON, payload="f:1:resolve",
                 message_ref=slack_alert, display_name="Anna")
    )  # fmt: skip
    texts_before = len(slack.texts)
    await app.incoming(Incoming("slack", "UCUST", IncomingKind.TEXT, text="Hello?"))
    await eventually(lambda: len(slack.texts) == texts_before + 1)
    assert "I ask short feedback surveys" in slack.texts[-1][1]  # the usual help
    await app.incoming(
        Incoming("telegram", "-1001", IncomingKind.TEXT, text="One more thing",
                 message_ref=telegram_alert, display_name="Anna")
    )  # fmt: skip
    await eventually(lambda: "no longer passed to the customer" in telegram.team[-1].message.text)
    assert not any("One more thing" in t for _a, t in slack.texts)


async def test_anonymous_surveys_do_not_relay(
    app_factory: AppFactory, database_location: str
) -> None:
    app, slack, telegram, _clock = await _start(app_factory, database_location, PRIVATE_SURVEY)
    await _finished_detractor(app, survey="private", address="USECRET")
    await eventually(lambda: len(telegram.team) == 1)
    await _refs_recorded(app)
    assert "Reply to this message" not in telegram.team[0].message.text
    await app.incoming(
        Incoming("telegram", "-1001", IncomingKind.TEXT, text="Who are you?",
                 message_ref=telegram.team[0].ref, display_name="Anna")
    )  # fmt: skip
    await eventually(lambda: len(telegram.team) == 2)
    assert "This survey is anonymous" in telegram.team[1].message.text
    assert not any("Who are you?" in t for _a, t in slack.texts)


def test_only_a_message_on_the_alert_counts_as_on_the_alert() -> None:
    qualified = FollowupMessage(1, "slack", "CTEAM", "CTEAM:1700000000.1")
    bare = FollowupMessage(1, "telegram", "-1001", "42")

    def incoming(channel: str, address: str, ref: str | None) -> Incoming:
        return Incoming(channel, address, IncomingKind.TEXT, text="x", message_ref=ref)

    assert is_alert_message(qualified, incoming("slack", "UANNA", "CTEAM:1700000000.1"))
    assert not is_alert_message(qualified, incoming("slack", "UANNA", "D0:1700000000.1"))
    assert not is_alert_message(qualified, incoming("telegram", "CTEAM", "CTEAM:1700000000.1"))
    assert is_alert_message(bare, incoming("telegram", "-1001", "42"))
    # Message 42 of a customer's own chat is another message.
    assert not is_alert_message(bare, incoming("telegram", "555", "42"))


async def test_a_customer_who_sent_stop_gets_no_team_reply(
    app_factory: AppFactory, database_location: str
) -> None:
    app, slack, telegram, _clock = await _start(app_factory, database_location)
    await _finished_detractor(app)
    await eventually(lambda: len(telegram.team) == 1)
    await _refs_recorded(app)
    await app.incoming(Incoming("slack", "UCUST", IncomingKind.COMMAND, command="stop"))
    await eventually(lambda: any("any more surveys" in t for _a, t in slack.texts))
    texts_before = list(slack.texts)

    await app.incoming(
        Incoming("telegram", "-1001", IncomingKind.TEXT, text="Can we call you?",
                 message_ref=telegram.team[0].ref, display_name="Anna")
    )  # fmt: skip
    await eventually(lambda: len(telegram.team) == 2)
    assert telegram.team[1].message.thread_ref == telegram.team[0].ref
    assert "opted out" in telegram.team[1].message.text
    await asyncio.sleep(0.1)
    assert slack.texts == texts_before  # nothing reached the customer
    assert await app.store.followups.replies(1) == []
