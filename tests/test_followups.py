"""Detractor alerts that close the loop: posted with the answer, taken, resolved, kept in sync."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import PalauteApp
from bot.channels.base import Incoming, IncomingKind
from bot.channels.slack.team import team_blocks
from bot.channels.telegram.team import to_html
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.team.document import TeamDocument
from bot.team.reports.summary import DAILY, ReportPeriod
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config
from tests.team_channel import TEAM_TOML, RecordingChannel, eventually, team_channels

START = datetime(2026, 5, 5, 10, 0, tzinfo=UTC)
PRIVATE_SURVEY = """
[surveys.private]
title = "Private NPS"
anonymous = true
[[surveys.private.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
[[surveys.private.questions]]
id = "why"
type = "text"
optional = true
text = "Why?"
"""


async def _start(
    app_factory: AppFactory, db_path: Path | str, extra: str = ""
) -> tuple[PalauteApp, RecordingChannel, RecordingChannel, FakeClock]:
    clock = FakeClock(START)
    channels, slack, telegram = team_channels()
    app = await app_factory(
        make_config(TEAM_TOML + extra, db_path), clock=clock, channels=channels, http=False
    )
    return app, slack, telegram, clock


async def _answer_score(
    app: PalauteApp, survey: str = "nps", score: str = "3", address: str = "UCUST"
) -> int:
    result = await app.triggers.trigger(
        TriggerRequest(survey, ContactSpec("slack", address), {"store": "Kamppi"})
    )
    await app.invitations.tick()
    invitation_id = result.invitation.id
    await app.surveys.answer(
        invitation_id, score, channel="slack", address=address, question_index=0
    )
    return invitation_id


def _latest(channel: RecordingChannel, address: str) -> TeamDocument:
    """What the team sees now in one chat: the last edit of the alert, or the alert itself."""
    edits = [e.message for e in channel.team_edits if e.address == address]
    sent = [s.message for s in channel.team if s.address == address]
    return (edits or sent or [TeamDocument()])[-1]


def _payloads(message: TeamDocument) -> list[str]:
    return [button.payload for row in message.buttons for button in row]


async def _outbox_kinds(app: PalauteApp) -> list[tuple[str, str]]:
    rows = await app.store.database.fetch_all("SELECT channel, kind FROM outbox ORDER BY id")
    return [(r["channel"], r["kind"]) for r in rows]


async def test_a_detractor_is_alerted_in_the_same_tick_as_the_answer(
    app_factory: AppFactory, database_location: str
) -> None:
    app, slack, telegram, _clock = await _start(app_factory, database_location)
    await _answer_score(app, score="3")
    # Queued by the answer call itself, in the same pass as the customer's next question.
    kinds = await _outbox_kinds(app)
    assert ("slack", "team") in kinds and ("telegram", "team") in kinds
    await eventually(lambda: len(slack.team) == 1 and len(telegram.team) == 1)
    alert = slack.team[0].message
    assert alert.text.startswith("Detractor #1: NPS 3 · Net Promoter Score")
    assert "Customer: slack:UCUST" in alert.text and "store: Kamppi" in alert.text
    assert "Nobody has taken this yet." in alert.text
    assert _payloads(alert) == ["f:1:claim", "f:1:resolve"]
    assert to_html(telegram.team[0].message).startswith("<b>Detractor #1")
    for _ in range(200):  # the sent hook records where each copy landed
        messages = await app.store.followups.messages(1)
        if all(m.message_ref for m in messages):
            break
        await asyncio.sleep(0.01)
    assert {(m.channel, m.address, m.message_ref) for m in messages} == {
        ("slack", "CTEAM", slack.team[0].ref),
        ("telegram", "-1001", telegram.team[0].ref),
    }


async def test_promoters_are_not_alerted_and_nobody_is_alerted_twice(
    app_factory: AppFactory, database_location: str
) -> None:
    app, _slack, _telegram, _clock = await _start(app_factory, database_location)
    await _answer_score(app, score="9")
    assert ("slack", "team") not in await _outbox_kinds(app)
    invitation_id = await _answer_score(app, score="0", address="UOTHER")
    assert await app.followups.open(invitation_id) is None


@pytest.mark.parametrize("claim_on", ["slack", "telegram"])
async def test_claim_and_resolve_from_either_chat_update_every_copy(
    app_factory: AppFactory, database_location: str, claim_on: str
) -> None:
    app, slack, telegram, clock = await _start(app_factory, database_location)
    invitation_id = await _answer_score(app, score="2")
    await eventually(lambda: len(slack.team) == 1 and len(telegram.team) == 1)
    chats = {"slack": (slack, "CTEAM"), "telegram": (telegram, "-1001")}

    # The comment arrives after the alert: every copy is edited to show it.
    await app.surveys.answer(
        invitation_id, "The parcel was two days late", channel="slack", address="UCUST"
    )
    await eventually(lambda: all("two days late" in _latest(c, a).text for c, a in chats.values()))

    claimer, claim_address = chats[claim_on]
    resolver_name = "telegram" if claim_on == "slack" else "slack"
    resolver, resolve_address = chats[resolver_name]
    clock.advance(60)
    await app.incoming(
        Incoming(claim_on, "UANNA" if claim_on == "slack" else claim_address, IncomingKind.BUTTON,
                 payload="f:1:claim", message_ref=claimer.team[0].ref, display_name="Anna")
    )  # fmt: skip
    followup = await app.store.followups.get(1)
    assert followup is not None and followup.owner == "Anna" and followup.claimed_at == clock.now()
    await eventually(
        lambda: all("Anna is following up" in _latest(c, a).text for c, a in chats.values())
    )
    assert all(_payloads(_latest(c, a)) == ["f:1:resolve"] for c, a in chats.values())

    clock.advance(3600)
    await app.incoming(
        Incoming(resolver_name, "UVILLE" if resolver_name == "slack" else resolve_address,
                 IncomingKind.BUTTON, payload="f:1:resolve", message_ref=resolver.team[0].ref,
                 display_name="Ville")
    )  # fmt: skip
    followup = await app.store.followups.get(1)
    assert followup is not None and followup.resolved_by == "Ville" and followup.owner == "Anna"
    await eventually(
        lambda: all("Resolved by Ville" in _latest(c, a).text for c, a in chats.values())
    )
    assert all(_payloads(_latest(c, a)) == [] for c, a in chats.values())
    # Team members pressing buttons are not customers.
    people = await app.store.database.fetch_all("SELECT address FROM contacts ORDER BY id")
    assert [p["address"] for p in people] == ["UCUST"]


async def test_a_press_before_the_alert_was_sent_still_ends_up_in_the_alert(
    app_factory: AppFactory, database_location: str
) -> None:
    app, slack, telegram, _clock = await _start(app_factory, database_location)
    slack.gate, telegram.gate = asyncio.Event(), asyncio.Event()  # the platforms are slow
    await _answer_score(app, score="1")
    await app.incoming(
        Incoming("telegram", "-1001", IncomingKind.BUTTON, payload="f:1:claim", display_name="Anna")
    )
    assert not slack.team and not telegram.team
    slack.gate.set()
    telegram.gate.set()
    await eventually(
        lambda: all(
            "Anna is following up" in _latest(c, a).text
            for c, a in ((slack, "CTEAM"), (telegram, "-1001"))
        )
    )


async def test_a_forged_button_outside_the_alert_is_ignored(
    app_factory: AppFactory, database_location: str
) -> None:
    app, slack, _telegram, _clock = await _start(app_factory, database_location)
    await _answer_score(app, score="4")
    await eventually(lambda: len(slack.team) == 1)
    await app.incoming(
        Incoming("telegram", "555", IncomingKind.BUTTON, payload="f:1:resolve", message_ref="555:1")
    )
    await app.incoming(
        Incoming("slack", "UCUST", IncomingKind.BUTTON, payload="f:1:resolve", message_ref="D1:1")
    )
    followup = await app.store.followups.get(1)
    assert followup is not None and followup.resolved_at is None


async def test_anonymous_surveys_hide_who_answered(
    app_factory: AppFactory, database_location: str
) -> None:
    app, slack, telegram, _clock = await _start(app_factory, database_location, PRIVATE_SURVEY)
    await _answer_score(app, survey="private", score="2", address="USECRET")
    await eventually(lambda: len(slack.team) == 1 and len(telegram.team) == 1)
    for message in (slack.team[0].message, telegram.team[0].message):
        assert "USECRET" not in message.text and "USECRET" not in to_html(message)
        assert "anonymous" in message.text
        assert "USECRET" not in str(team_blocks(message))


async def test_overdue_followups_are_listed_in_the_daily_summary(
    app_factory: AppFactory, database_location: str
) -> None:
    app, _slack, _telegram, clock = await _start(app_factory, database_location)
    await _answer_score(app, score="3")
    await _answer_score(app, score="5", address="UCUST2")
    await app.incoming(Incoming("slack", "UANNA", IncomingKind.BUTTON, payload="f:2:claim", display_name="Anna",
                                message_ref=None))  # fmt: skip
    clock.advance(3 * 86400)
    period = ReportPeriod(DAILY, "2026-05-08", datetime(2026, 5, 8).date(), clock.now())
    document, _image = await app.reporter.builder.build(period, now=clock.now(), late=False)
    text = document.text
    assert "Follow-ups open longer than 2 d (2)" in text
    assert "#1 · NPS 3 · nps · store: Kamppi · Nobody has taken this yet. · open 3 d" in text
    assert "#2 · NPS 5" in text
