"""The Slack channel end to end: palaute in HTTP mode against the fake Slack Web API.

Slack's requests are signed and posted to palaute's own HTTP server; what customers and
organizers see is read back from the fake, what was stored from SQLite.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from bot.delivery.triggers import ContactSpec, TriggerRequest
from storage.records import InvitationState
from storage.store import Store
from tests.conftest import AppFactory
from tests.fakes.slack_api import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    RESPONSE_URL,
    FakeSlack,
    slash_command_body,
)
from tests.slack_harness import (
    AINO,
    BEN,
    SlackHarness,
    block_texts,
    buttons,
    eventually,
    start_slack_app,
)


@pytest.fixture
async def slack(app_factory: AppFactory, fake_slack: FakeSlack, db_path: Path) -> SlackHarness:
    return await start_slack_app(app_factory, fake_slack, db_path)


async def test_survey_an_audience_from_a_slash_command_to_the_scores(slack: SlackHarness) -> None:
    await slack.add_to_audience("offsite-2026", AINO, BEN)

    preview = await slack.command("send offsite offsite-2026")
    assert "2 will be asked now" in preview.params["text"]
    assert preview.params.get("response_type", "ephemeral") == "ephemeral"
    assert slack.fake.calls_to("chat.postMessage") == []  # nothing is sent before the OK

    await slack.click(
        "U0ADMIN", preview.params, "Send to 2", response_url=slack.fake.new_response_url()
    )
    [_, sent] = await slack.fake.wait_for_calls(RESPONSE_URL, 2)
    assert sent.params["replace_original"] is True
    assert "2 will be asked" in sent.params["text"]

    # Each customer gets the question in a DM, in their own Slack locale.
    [question] = await slack.wait_for_dms(BEN, 1)
    [kysymys] = await slack.wait_for_dms(AINO, 1)
    assert question["text"].startswith("How likely are you to recommend us")
    assert kysymys["text"].startswith("Kuinka todennäköisesti suosittelisit")
    rows = [b for b in question["blocks"] if b["type"] == "actions"]
    assert [[e["text"]["text"] for e in row["elements"]] for row in rows] == [
        ["0", "1", "2", "3", "4", "5"],
        ["6", "7", "8", "9", "10"],
    ]
    opened = slack.fake.calls_to("conversations.open")
    assert sorted(call.params["users"] for call in opened) == [AINO, BEN]

    # Ben taps 9: the question shows his answer, without buttons, and the next one follows.
    await slack.click(BEN, question, "9")
    [update] = await slack.fake.wait_for_calls("chat.update", 1)
    assert update.params["ts"] == question["ts"]
    [answered, why] = await slack.wait_for_dms(BEN, 2)
    assert "Your answer: 9" in answered["text"]
    assert buttons(answered) == {}
    assert why["text"] == "What is the main reason for your score?"
    assert "Type your answer as a message here, or reply in this thread." in block_texts(why)

    # He answers in the question's thread.
    await slack.dm(BEN, "Great food &amp; <https://example.com|people>", thread_ts=why["ts"])
    [_, answered_why, thanks] = await slack.wait_for_dms(BEN, 3)
    assert "Your answer: Great food &amp; people" in answered_why["text"]  # mrkdwn, escaped
    assert thanks["text"] == "Thank you for your feedback!"
    assert list(buttons(thanks)) == ["Don't ask me again"]

    assert await slack.answers(BEN) == {"nps": 9, "why": "Great food & people"}
    [invitation] = await slack.invitations(BEN)
    assert invitation.state is InvitationState.COMPLETED
    assert invitation.language == "en"
    [aino_invitation] = await slack.invitations(AINO)
    assert aino_invitation.language == "fi"

    scores = await slack.command("scores nps 7d")
    assert "Scores over the last 7 days" in scores.params["text"]
    assert "*nps*: NPS +100" in scores.params["text"]
    assert "n=1" in scores.params["text"]


async def test_only_admins_may_send_surveys_or_see_scores(slack: SlackHarness) -> None:
    refused = await slack.command(f"send offsite <@{AINO}|aino>", user=BEN)
    assert "only palaute's organizers" in refused.params["text"]
    assert BEN in refused.params["text"]
    assert "only palaute's organizers" in (await slack.command("scores", user=BEN)).params["text"]
    assert await slack.invitations(AINO) == []

    # Members of a user group listed in [slack] admins may.
    lead = await slack.command(f"send offsite <@{AINO}|aino>", user="U0LEAD")
    assert "1 will be asked" in lead.params["text"]

    # Everyone gets help; only admins see the organizer commands.
    customer_help = (await slack.command("help", user=BEN)).params["text"]
    assert "/palaute stop" in customer_help
    assert "/palaute send" not in customer_help
    assert "/palaute send" in (await slack.command("help")).params["text"]


async def test_a_bad_signature_or_a_stale_request_is_refused(slack: SlackHarness) -> None:
    body = slash_command_body("/palaute", "stop", AINO, fake=slack.fake)
    status, _ = await slack.inbound.post(body, FORM_CONTENT_TYPE, bad_signature=True)
    assert status == 401
    status, _ = await slack.inbound.post(
        body, FORM_CONTENT_TYPE, timestamp=int(time.time()) - 6 * 60
    )
    assert status == 401
    assert await slack.app.store.database.fetch_all("SELECT * FROM inbox") == []
    assert await slack.contact(AINO) is None


async def test_url_verification_is_answered_with_the_challenge(slack: SlackHarness) -> None:
    body = json.dumps({"token": "t", "challenge": "c-123", "type": "url_verification"})
    status, text = await slack.inbound.post(body, JSON_CONTENT_TYPE)
    assert (status, json.loads(text)) == (200, {"challenge": "c-123"})


async def test_a_retried_event_is_stored_and_answered_once(slack: SlackHarness) -> None:
    await slack.add_to_audience("offsite-2026", BEN)
    await slack.app.triggers.trigger(_request("offsite", BEN))
    [question] = await slack.wait_for_dms(BEN, 1)
    await slack.click(BEN, question, "3")
    await slack.wait_for_dms(BEN, 2)

    event_id = await slack.dm(BEN, "Slow service", event_id="Ev0RETRIED")
    # Slack did not see the ack in time and sends the same event again.
    await slack.dm(BEN, "Slow service", event_id=event_id, retry_num=1)
    [_, _, fix] = await slack.wait_for_dms(BEN, 3)
    assert fix["text"] == "What should we fix first?"
    await asyncio.sleep(0.2)

    assert await slack.answers(BEN) == {"nps": 3, "why": "Slow service"}  # not "fix" too
    assert len(slack.dms(BEN)) == 3
    rows = await slack.app.store.database.fetch_all(
        "SELECT * FROM inbox WHERE external_id = ?", (event_id,)
    )
    assert len(rows) == 1
    assert rows[0]["processed_at"] is not None


async def test_opting_out_with_the_button_or_the_command(slack: SlackHarness) -> None:
    await slack.app.triggers.trigger(_request("lunch", BEN))
    [question] = await slack.wait_for_dms(BEN, 1)
    # Seven choices are a menu rather than a column of buttons.
    assert buttons(question) == {}
    await slack.select(BEN, question, "Pasta")
    [answered, thanks] = await slack.wait_for_dms(BEN, 2)
    assert "Your answer: Pasta" in answered["text"]
    assert await slack.answers(BEN) == {"dish": "pasta"}

    await slack.click(BEN, thanks, "Don't ask me again")
    [*_, stopped] = await slack.wait_for_dms(BEN, 3)
    assert "Type /palaute start if you change your mind" in stopped["text"]
    contact = await slack.contact(BEN)
    assert contact is not None and contact.opted_out_at is not None

    # Aino opts out with the command, before she was ever surveyed; she is told in Finnish.
    ack = slack.fake.new_response_url()
    body = slash_command_body("/palaute", "stop", AINO, response_url=ack)
    assert (await slack.inbound.post(body, FORM_CONTENT_TYPE))[0] == 200
    [stopped_fi] = await slack.wait_for_dms(AINO, 1)
    assert stopped_fi["text"].startswith("Et saa meiltä enää kyselyjä")

    preview = await slack.command("send offsite <#C0GENERAL|general>")
    text = preview.params["text"]
    assert "2 will be asked" in text  # the admin and the lead
    assert "2 not asked: the contact opted out of surveys" in text
    assert "1 bot(s) or deactivated account(s) left out" in text


async def test_a_contact_addressed_by_email_through_the_api(slack: SlackHarness) -> None:
    url = f"http://127.0.0.1:{slack.app.http.port}/api/v1/touchpoints"
    headers = {"Authorization": "Bearer test-api-token"}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url,
            json={"touchpoint": "offsite", "contact": {"slack": "aino@example.com"}},
            headers=headers,
        ) as response:
            assert response.status == 202
            assert (await response.json())["contact"] == f"slack:{AINO}"
        async with session.post(
            url,
            json={"touchpoint": "offsite", "contact": {"slack": "nobody@example.com"}},
            headers=headers,
        ) as response:
            assert response.status == 422
            assert "no Slack user has the email" in (await response.json())["error"]
    [kysymys] = await slack.wait_for_dms(AINO, 1)
    assert kysymys["text"].startswith("Kuinka todennäköisesti")


async def test_an_email_lookup_waits_out_a_rate_limit(slack: SlackHarness) -> None:
    slack.fake.rate_limit_next("users.lookupByEmail", retry_after=1)
    url = f"http://127.0.0.1:{slack.app.http.port}/api/v1/touchpoints"
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url,
            json={"touchpoint": "offsite", "contact": {"slack": "ben@example.com"}},
            headers={"Authorization": "Bearer test-api-token"},
        ) as response,
    ):
        assert response.status == 202, await response.text()
    limited, found = slack.fake.calls_to("users.lookupByEmail")
    assert (limited.status, found.status) == (429, 200)
    assert found.timestamp - limited.timestamp >= 1.0
    await slack.wait_for_dms(BEN, 1)


async def test_a_rate_limit_is_waited_out(slack: SlackHarness) -> None:
    slack.fake.rate_limit_next("chat.postMessage", retry_after=1)
    await slack.app.triggers.trigger(_request("offsite", BEN))
    [limited, posted] = await slack.fake.wait_for_calls("chat.postMessage", 2, timeout=5)
    assert (limited.status, posted.status) == (429, 200)
    assert posted.timestamp - limited.timestamp >= 0.9
    [question] = slack.dms(BEN)
    assert question["text"].startswith("How likely")


async def test_someone_the_bot_cannot_message_is_marked_unreachable(slack: SlackHarness) -> None:
    slack.fake.fail_next("chat.postMessage", "cannot_dm_bot")
    await slack.app.triggers.trigger(_request("offsite", AINO))

    async def failed() -> bool:
        invitations = await slack.invitations(AINO)
        return bool(invitations) and invitations[0].state is InvitationState.FAILED

    await eventually(failed, what="the invitation to fail")
    contact = await slack.contact(AINO)
    assert contact is not None and contact.unreachable_at is not None


async def test_requests_acknowledged_before_a_crash_are_processed_at_start(
    app_factory: AppFactory, fake_slack: FakeSlack, database_location: str
) -> None:
    store = await Store.open(database_location)
    body = slash_command_body("/palaute", "stop", AINO, fake=fake_slack)
    item = {"mode": "http", "body": body, "headers": {"content-type": FORM_CONTENT_TYPE}}
    await store.inbox.store_many("slack", [("sha256:left-over", json.dumps(item))], now=time.time())
    await store.close()

    slack = await start_slack_app(app_factory, fake_slack, database_location)
    await slack.wait_for_dms(AINO, 1)
    contact = await slack.contact(AINO)
    assert contact is not None and contact.opted_out_at is not None
    assert await slack.app.store.inbox.unprocessed("slack") == []


def _request(touchpoint: str, user: str) -> TriggerRequest:
    return TriggerRequest(touchpoint, ContactSpec("slack", user))


@pytest.mark.parametrize(
    ("error", "person_reachable"),
    [
        ("restricted_action", True),  # a workspace preference: not about Ben
        ("restricted_action_read_only_channel", False),
        ("restricted_action_thread_only_channel", False),
        ("no_permission", False),
        ("invalid_blocks", True),
        ("msg_blocks_too_long", True),
        ("invalid_metadata_schema", True),
    ],
)
async def test_a_refusal_from_slack_is_not_retried(
    slack: SlackHarness, error: str, person_reachable: bool
) -> None:
    slack.fake.fail_next("chat.postMessage", error)
    await slack.app.triggers.trigger(_request("offsite", BEN))

    async def failed() -> bool:
        return (await slack.app.store.outbox.counts()).get("failed") == 1

    await eventually(failed, what=f"the message refused with {error} to fail at once")
    [(_, _, _, _, reason)] = await slack.app.store.outbox.failures()
    assert reason is not None and error in reason
    assert len(slack.fake.calls_to("chat.postMessage")) == 1
    contact = await slack.contact(BEN)
    assert contact is not None and (contact.unreachable_at is None) is person_reachable


@pytest.mark.parametrize("error", ["internal_error", "fatal_error", "service_unavailable"])
async def test_a_passing_trouble_at_slack_is_retried(slack: SlackHarness, error: str) -> None:
    slack.fake.fail_next("chat.postMessage", error)
    await slack.app.triggers.trigger(_request("offsite", BEN))
    [refused, posted] = await slack.fake.wait_for_calls("chat.postMessage", 2)
    assert (refused.error, posted.ok) == (error, True)
    [question] = slack.dms(BEN)
    assert question["text"].startswith("How likely")


MENU = "\n".join(
    [
        "[touchpoints.canteen]",
        'survey = "canteen"',
        "[[surveys.canteen.questions]]",
        'id = "dish"',
        'type = "choice"',
        "optional = true",
        'text = "Which of our 120 dishes did you have?"',
        "choices = [" + ", ".join(f'"Dish {i}"' for i in range(1, 121)) + "]",
    ]
)


async def test_a_menu_of_120_choices_loses_neither_a_choice_nor_skip(
    app_factory: AppFactory, fake_slack: FakeSlack, database_location: str
) -> None:
    slack = await start_slack_app(app_factory, fake_slack, database_location, MENU)
    await slack.app.triggers.trigger(_request("canteen", BEN))
    await slack.app.triggers.trigger(_request("canteen", AINO))
    [question] = await slack.wait_for_dms(BEN, 1)
    [kysymys] = await slack.wait_for_dms(AINO, 1)
    await slack.select(BEN, question, "Dish 120")
    await slack.select(AINO, kysymys, "Skip")
    [answered, _] = await slack.wait_for_dms(BEN, 2)
    assert "Your answer: Dish 120" in answered["text"]
    await slack.wait_for_dms(AINO, 2)
    assert await slack.answers(BEN) == {"dish": "dish_120"}
    [invitation] = await slack.invitations(AINO)
    assert await slack.app.store.answers.for_invitation(invitation.id) == ({}, {"dish"})
