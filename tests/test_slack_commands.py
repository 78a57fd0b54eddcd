"""`/palaute` for organizers: what they are told when a command cannot do what they asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import PalauteApp
from bot.channels.slack.commands import _section
from bot.config import Config
from tests.conftest import AppFactory
from tests.fakes.slack_api import RESPONSE_URL, FakeSlack
from tests.slack_harness import ADMIN, AINO, SlackHarness, buttons, start_slack_app

EVENT_TOUCHPOINT = """
[touchpoints.summer_party]
survey = "event"
"""


@pytest.fixture
async def slack(app_factory: AppFactory, fake_slack: FakeSlack, db_path: Path) -> SlackHarness:
    return await start_slack_app(app_factory, fake_slack, db_path, EVENT_TOUCHPOINT)


async def reply(slack: SlackHarness, text: str) -> str:
    return str((await slack.command(text)).params["text"])


async def test_mistakes_in_a_send_are_explained(slack: SlackHarness) -> None:
    assert "Usage: `/palaute send" in await reply(slack, "send")
    assert 'unknown touchpoint "nope"' in await reply(slack, "send nope offsite-2026")
    missing = await reply(slack, f"send summer_party <@{AINO}>")
    assert "Add `event_name=…` to the command." in missing
    assert "no audience `offsite-2026`" in await reply(slack, "send offsite offsite-2026")
    assert "passed `@aino` on as plain text" in await reply(slack, "send offsite @aino")
    assert "Could not read the command" in await reply(slack, 'send offsite "unclosed')
    assert "I don't know `sned`" in await reply(slack, "sned offsite")


async def test_properties_and_email_targets(slack: SlackHarness) -> None:
    preview = await reply(slack, "send summer_party aino@example.com event_name=“Summer party”")
    assert "*Send `summer_party` to aino@example.com?*" in preview
    assert "1 will be asked now" in preview
    unknown = await reply(slack, "send offsite <mailto:who@example.com|who@example.com>")
    assert "1 not asked: no Slack user has the email who@example.com" in unknown
    assert await slack.invitations(AINO) == []  # a preview stores nothing


async def test_cancelling_a_send(slack: SlackHarness) -> None:
    preview = await slack.command(f"send offsite <@{AINO}>")
    await slack.click(
        "U0ADMIN", preview.params, "Cancel", response_url=slack.fake.new_response_url()
    )
    [_, cancelled] = await slack.fake.wait_for_calls(RESPONSE_URL, 2)
    assert cancelled.params["text"] == "Cancelled: nothing was sent."
    assert await slack.invitations(AINO) == []


async def test_scores_arguments(slack: SlackHarness) -> None:
    assert "No answers yet." in await reply(slack, "scores")
    assert "Scores over the last 30 days" in await reply(slack, "scores")
    assert "`fortnight` is neither a survey" in await reply(slack, "scores fortnight")


async def test_what_an_organizer_typed_is_echoed_as_text_never_as_markup(
    slack: SlackHarness,
) -> None:
    unknown = await reply(slack, "<!here> <https://evil.example|x>")
    assert unknown.startswith("I don't know `&lt;!here&gt;`")
    assert "`/palaute send &lt;touchpoint&gt; &lt;audience" in unknown  # the usage, literally
    missing = await reply(slack, "send offsite <https://evil.example|x>&co")
    assert "no audience `&lt;https://evil.example|x&gt;&amp;co`" in missing
    prop = await reply(slack, "send offsite U0AINO <!channel>")
    assert "`&lt;!channel&gt;` is not a property" in prop
    assert slack.fake.markup_problems == []


async def test_a_rate_limited_lookup_is_waited_out_when_sending_to_a_channel(
    slack: SlackHarness,
) -> None:
    slack.fake.rate_limit_next("users.info", retry_after=1)
    preview = await reply(slack, "send offsite <#C0GENERAL>")
    assert "*Send `offsite` to everyone in <#C0GENERAL>?*" in preview
    assert "4 will be asked now" in preview
    assert "1 bot(s) or deactivated account(s) left out" in preview
    calls = slack.fake.calls_to("users.info")
    [limited] = [c for c in calls if c.status == 429]
    retried = [c for c in calls if c.ok and c.params["user"] == limited.params["user"]]
    assert retried and retried[0].timestamp - limited.timestamp >= 1.0


async def test_why_slack_would_not_list_a_channel_is_told_as_it_is(slack: SlackHarness) -> None:
    slack.fake.fail_next("conversations.members", "not_in_channel")
    not_in = await reply(slack, "send offsite <#C0GENERAL>")
    assert "palaute may have to be added to it first" in not_in
    slack.fake.fail_next("users.info", "internal_error", status=500, times=5)
    trouble = await reply(slack, "send offsite <#C0GENERAL>")
    assert "Slack did not answer (internal_error); please try again." in trouble
    assert "added to it" not in trouble


async def test_a_long_send_waits_server_side_and_is_sent_once_even_after_a_restart(
    app_factory: AppFactory, fake_slack: FakeSlack, db_path: Path
) -> None:
    first_app: list[PalauteApp] = []

    async def start_once(config: Config) -> PalauteApp:
        app = PalauteApp(config)
        await app.start()
        first_app.append(app)
        return app

    first = await start_slack_app(start_once, fake_slack, db_path, EVENT_TOUCHPOINT)
    name = "Kesäjuhlat " + "ä" * 400  # ~2400 characters as JSON with ensure_ascii
    try:
        preview = await first.command(f'send summer_party <@{AINO}> "event_name={name}"')
    finally:
        await first_app[0].stop()  # palaute restarts before the organizer confirms
    assert preview.ok, preview.response_text
    assert "1 will be asked now" in preview.params["text"]
    confirm = buttons(preview.params)["Send to 1"]
    assert len(confirm["value"]) <= 64  # a reference, not the request

    slack = await start_slack_app(app_factory, fake_slack, db_path, EVENT_TOUCHPOINT)
    for _ in range(2):  # the organizer presses twice
        await slack.click(
            ADMIN, preview.params, "Send to 1", response_url=fake_slack.new_response_url()
        )
    [_, sent, again] = await fake_slack.wait_for_calls(RESPONSE_URL, 3)
    assert "1 will be asked" in sent.params["text"]
    assert again.params["text"] == "This send was already confirmed: nothing was sent twice."
    [invitation] = await slack.invitations(AINO)
    assert invitation.properties["event_name"] == name
    greeting, question = (await slack.wait_for_dms(AINO, 2))[:2]  # asked once, in two messages
    assert name in greeting["text"]
    assert question["text"].startswith("Ennen tapahtumaa")


async def test_a_reply_slack_refuses_is_told_in_plain_text(slack: SlackHarness) -> None:
    slack.fake.fail_next(RESPONSE_URL, "invalid_blocks", status=400)
    before = len(slack.fake.calls_to(RESPONSE_URL))
    await slack.command(f"send offsite <@{AINO}>")
    [refused, told] = (await slack.fake.wait_for_calls(RESPONSE_URL, before + 2))[before:]
    assert refused.status == 400 and refused.params["blocks"]
    assert told.ok and "blocks" not in told.params
    assert "*Send `offsite` to <@U0AINO>?*" in told.params["text"]
    assert "Slack refused this reply (invalid_blocks)" in told.params["text"]


def test_a_long_reply_is_cut_within_a_section_and_never_inside_an_entity() -> None:
    text = _section("a" * 2997 + "&amp;" * 10)["text"]["text"]
    assert len(text) <= 3000 and text.endswith("a…")
