"""Self-test of tests/fakes/slack_api.py, driven by the real slack_sdk and slack_bolt."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond, AsyncSay
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes import slack_api
from tests.fakes.slack_api import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    RESPONSE_URL,
    UPLOAD,
    FakeSlack,
    SlackInbound,
    block_actions_body,
    event_callback_body,
    sign,
    slash_command_body,
)
from tests.loopback import serve

# The fixture; tests/conftest.py may provide it too.
fake_slack = slack_api.fake_slack

# The smallest valid PNG: signature, IHDR 1x1, IDAT, IEND.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4ee000000"
    "0049454e44ae426082"
)


def button(i: int) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": f"score_{i}",
        "value": str(i),
        "text": {"type": "plain_text", "text": str(i)},
    }


@pytest.fixture
def client(fake_slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url + "/api/")


async def test_auth_test_and_token_checks(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["user_id"] == "U0BOT"
    assert response["team_id"] == "T0TEST"
    assert response["bot_id"]
    [call] = fake_slack.calls_to("auth.test")
    assert call.token == "xoxb-test-token"
    assert call.status == 200
    assert call.ok

    with pytest.raises(SlackApiError) as wrong:
        await client.auth_test(token="xoxb-wrong")
    assert wrong.value.response["error"] == "invalid_auth"

    with pytest.raises(SlackApiError) as unknown:
        await client.api_call("nope.nothing")
    assert unknown.value.response["error"] == "unknown_method"


async def test_open_dm_and_post_blocks(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    opened = await client.conversations_open(users="U1")
    dm = opened["channel"]["id"]
    assert dm.startswith("D")
    assert (await client.conversations_open(users="U1"))["channel"]["id"] == dm

    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "How likely…?"}},
        {"type": "actions", "block_id": "nps", "elements": [button(i) for i in range(11)]},
    ]
    posted = await client.chat_postMessage(channel=dm, text="How likely…?", blocks=blocks)
    assert posted["channel"] == dm
    assert posted["ts"] == "1700000000.000100"
    assert posted["message"]["blocks"] == blocks

    # Also a form-encoded, JSON-string `blocks` parameter is recorded decoded.
    await client.api_call(
        "chat.postMessage", data={"channel": "U1", "text": "x", "blocks": json.dumps(blocks)}
    )
    first, second = fake_slack.calls_to("chat.postMessage")
    assert first.params["blocks"] == blocks
    assert second.params["blocks"] == blocks
    assert second.response["channel"] == dm  # posting to a user id goes to their DM

    messages = fake_slack.messages(dm)
    assert [m["ts"] for m in messages] == ["1700000000.000100", "1700000000.000200"]
    assert messages[0]["blocks"] == blocks
    assert fake_slack.messages("C0OTHER") == []


async def test_chat_update_changes_stored_message(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="question")
    await client.chat_update(
        channel="C1",
        ts=posted["ts"],
        text="thanks",
        blocks=[{"type": "section", "text": {"type": "plain_text", "text": "Thanks!"}}],
    )
    [message] = fake_slack.messages("C1")
    assert message["ts"] == posted["ts"]
    assert message["text"] == "thanks"
    assert message["blocks"][0]["text"]["text"] == "Thanks!"

    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="C1", ts="1.000000", text="x")
    assert missing.value.response["error"] == "message_not_found"


async def test_invalid_blocks(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    too_many = [{"type": "actions", "elements": [button(i) for i in range(26)]}]
    with pytest.raises(SlackApiError) as error:
        await client.chat_postMessage(channel="C1", text="x", blocks=too_many)
    assert error.value.response["error"] == "invalid_blocks"
    assert fake_slack.messages() == []
    assert fake_slack.calls_to("chat.postMessage")[0].error == "invalid_blocks"

    with pytest.raises(SlackApiError) as no_text:
        await client.api_call("chat.postMessage", json={"channel": "C1"})
    assert no_text.value.response["error"] == "no_text"


async def test_users_lookup_and_info(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    fake_slack.add_user("U1", name="aino", email="aino@example.com", locale="fi-FI")
    found = await client.users_lookupByEmail(email="aino@example.com")
    assert found["user"]["id"] == "U1"

    with pytest.raises(SlackApiError) as missing:
        await client.users_lookupByEmail(email="nobody@example.com")
    assert missing.value.response["error"] == "users_not_found"

    info = await client.users_info(user="U1", include_locale=True)
    assert info["user"]["locale"] == "fi-FI"
    assert info["user"]["tz"] == "Europe/Helsinki"
    assert info["user"]["tz_offset"] in (7200, 10800)
    assert "locale" not in (await client.users_info(user="U1"))["user"]


async def test_conversations_members_pagination(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    members = [f"U{i}" for i in range(7)]
    fake_slack.add_channel("C1", members)
    pages = [
        page["members"] async for page in await client.conversations_members(channel="C1", limit=3)
    ]
    assert pages == [members[0:3], members[3:6], members[6:7]]
    assert [
        c.params.get("cursor") is None for c in fake_slack.calls_to("conversations.members")
    ] == [
        True,
        False,
        False,
    ]
    info = await client.conversations_info(channel="C1", include_num_members=True)
    assert info["channel"]["num_members"] == 7


async def test_rate_limit_next_then_retry_handler(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.rate_limit_next("chat.postMessage", retry_after=1)
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="C1", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    assert limited.value.response["error"] == "ratelimited"

    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    fake_slack.rate_limit_next("chat.postMessage", retry_after=1)
    started = time.monotonic()
    posted = await client.chat_postMessage(channel="C1", text="x")
    assert posted["ok"]
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [429, 429, 200]


async def test_per_channel_rate_limit(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    now = [1000.0]
    fake_slack.clock = lambda: now[0]
    fake_slack.rate_limits_enabled = True
    for _ in range(fake_slack.rate_limit_burst):
        await client.chat_postMessage(channel="C1", text="burst")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="C1", text="one too many")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    await client.chat_postMessage(channel="C2", text="another channel is fine")
    now[0] += 1.0
    await client.chat_postMessage(channel="C1", text="after a second")
    assert len(fake_slack.messages("C1")) == fake_slack.rate_limit_burst + 1


async def test_fail_next(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    fake_slack.fail_next("users.info", "user_not_found")
    fake_slack.fail_next("users.info", "internal_error", status=500)
    with pytest.raises(SlackApiError) as first:
        await client.users_info(user="U0BOT")
    assert first.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as second:
        await client.users_info(user="U0BOT")
    assert second.value.response.status_code == 500
    assert (await client.users_info(user="U0BOT"))["user"]["is_bot"]


async def test_files_upload_v2(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.files_upload_v2(
        channel="C1", filename="nps.png", content=PNG, title="NPS", initial_comment="Weekly"
    )
    file_id = response["file"]["id"]
    assert response["file"]["mimetype"] == "image/png"
    assert fake_slack.files[file_id].content == PNG
    assert fake_slack.files[file_id].title == "NPS"
    [upload] = fake_slack.calls_to(UPLOAD)
    assert upload.body == PNG
    [get_url] = fake_slack.calls_to("files.getUploadURLExternal")
    assert get_url.params["length"] == str(len(PNG))
    [complete] = fake_slack.calls_to("files.completeUploadExternal")
    assert complete.params["files"] == [{"id": file_id, "title": "NPS"}]
    [shared] = fake_slack.messages("C1")
    assert shared["text"] == "Weekly"
    assert shared["files"][0]["id"] == file_id


async def test_views_ephemeral_permalink_reactions_usergroups(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    modal = {
        "type": "modal",
        "callback_id": "feedback",
        "title": {"type": "plain_text", "text": "Palaute"},
        "blocks": [
            {
                "type": "input",
                "block_id": "b",
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {"type": "plain_text_input"},
            }
        ],
    }
    opened = await client.views_open(trigger_id="1.2.abc", view=modal)
    view_id = opened["view"]["id"]
    updated = await client.views_update(view_id=view_id, view={**modal, "callback_id": "done"})
    assert updated["view"]["callback_id"] == "done"
    assert fake_slack.views[view_id]["callback_id"] == "done"
    with pytest.raises(SlackApiError) as long_title:
        title = {"type": "plain_text", "text": "x" * 25}
        await client.views_open(trigger_id="1.2.abc", view={**modal, "title": title})
    assert long_title.value.response["error"] == "invalid_arguments"

    fake_slack.add_channel("C1", ["U0BOT", "U1"])
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert ephemeral["message_ts"]
    assert fake_slack.ephemeral_messages[0]["user"] == "U1"
    with pytest.raises(SlackApiError) as outsider:
        await client.chat_postEphemeral(channel="C1", user="U9", text="x")
    assert outsider.value.response["error"] == "user_not_in_channel"

    posted = await client.chat_postMessage(channel="C1", text="x")
    link = await client.chat_getPermalink(channel="C1", message_ts=posted["ts"])
    assert link["permalink"].endswith("/archives/C1/p" + posted["ts"].replace(".", ""))
    await client.reactions_add(channel="C1", name="tada", timestamp=posted["ts"])
    assert fake_slack.messages("C1")[0]["reactions"][0]["name"] == "tada"

    fake_slack.add_usergroup("S1", ["U1", "U2"])
    assert (await client.usergroups_users_list(usergroup="S1"))["users"] == ["U1", "U2"]


async def test_wait_for_calls(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    await client.auth_test()
    [call] = await fake_slack.wait_for_calls("auth.test", 1)
    assert call.method == "auth.test"
    with pytest.raises(AssertionError, match=r"expected 1 call\(s\) to chat.postMessage"):
        await fake_slack.wait_for_calls("chat.postMessage", 1, timeout=0.05)


def test_sign_is_accepted_by_signature_verifier() -> None:
    body = slash_command_body("/palaute", "nps", "U1")
    headers = sign("secret", body)
    assert SignatureVerifier("secret").is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = sign("secret", body, timestamp=int(time.time()) - 3600)
    assert not SignatureVerifier("secret").is_valid_request(body, stale)


# ---------------------------------------------------------------------- slack_bolt end to end


@pytest_asyncio.fixture
async def bolt(fake_slack: FakeSlack) -> AsyncIterator[tuple[AsyncApp, SlackInbound, list[Any]]]:
    """A slack_bolt AsyncApp talking to the fake, served over HTTP on an ephemeral port."""
    seen: list[Any] = []
    app = AsyncApp(
        client=AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url + "/api/"),
        signing_secret=fake_slack.signing_secret,
        request_verification_enabled=True,
    )

    @app.command("/palaute")
    async def command(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        await ack(f"got {command['text']}")
        await respond(f"deferred {command['text']}")

    @app.event("app_mention")
    async def mention(event: dict[str, Any], say: AsyncSay, request: AsyncBoltRequest) -> None:
        seen.append(request.headers.get("x-slack-retry-num", [None])[0])
        await say("hello")

    @app.action("score_9")
    async def score(ack: AsyncAck, body: dict[str, Any]) -> None:
        seen.append(body["actions"][0]["value"])
        await ack()

    runner, url = await serve(app.web_app(path="/slack/events"), access_log=None)
    try:
        yield (
            app,
            SlackInbound(f"{url}/slack/events", fake_slack.signing_secret),
            seen,
        )
    finally:
        await runner.cleanup()


async def test_bolt_slash_command_and_signature(
    fake_slack: FakeSlack, bolt: tuple[AsyncApp, SlackInbound, list[Any]]
) -> None:
    _, inbound, _ = bolt
    body = slash_command_body("/palaute", "nps", "U1", fake=fake_slack)
    status, text = await inbound.post(body, FORM_CONTENT_TYPE)
    assert status == 200
    assert "got nps" in text
    [deferred] = await fake_slack.wait_for_calls(RESPONSE_URL, 1)
    assert deferred.params["text"] == "deferred nps"
    assert fake_slack.calls_to("auth.test")  # bolt authorized against the fake

    bad_status, _ = await inbound.post(body, FORM_CONTENT_TYPE, bad_signature=True)
    assert bad_status == 401
    stale_status, _ = await inbound.post(body, FORM_CONTENT_TYPE, timestamp=int(time.time()) - 3600)
    assert stale_status == 401
    assert len(fake_slack.calls_to(RESPONSE_URL)) == 1


async def test_bolt_event_and_action(
    fake_slack: FakeSlack, bolt: tuple[AsyncApp, SlackInbound, list[Any]]
) -> None:
    _, inbound, seen = bolt
    event = {"type": "app_mention", "user": "U1", "text": "<@U0BOT> hi", "channel": "C1"}
    status, _ = await inbound.post(
        event_callback_body(event), JSON_CONTENT_TYPE, retry_num=1, retry_reason="http_timeout"
    )
    assert status == 200
    [said] = await fake_slack.wait_for_calls("chat.postMessage", 1)
    assert said.params["channel"] == "C1"
    assert said.params["text"] == "hello"
    assert seen == ["1"]

    body = block_actions_body("U1", "score_9", "9", channel_id="C1", message_ts=said.response["ts"])
    status, _ = await inbound.post(body, FORM_CONTENT_TYPE)
    assert status == 200
    assert seen == ["1", "9"]


# ---------------------------------------------------------------------- strictness


def select(options: int, value_length: int = 5) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": "pick",
        "placeholder": {"type": "plain_text", "text": "Pick"},
        "options": [
            {"text": {"type": "plain_text", "text": str(i)}, "value": str(i).rjust(value_length)}
            for i in range(options)
        ],
    }


@pytest.mark.parametrize(
    ("element", "pointer"),
    [
        ({**button(1), "value": "x" * 2001}, "value"),
        ({**button(1), "text": {"type": "plain_text", "text": "x" * 76}}, "text"),
        (select(101), "options"),
        (select(3, value_length=151), "value"),
    ],
    ids=["button-value-2001", "button-text-76", "select-101-options", "option-value-151"],
)
async def test_blocks_are_checked_by_slack_sdks_models(
    fake_slack: FakeSlack, client: AsyncWebClient, element: dict[str, Any], pointer: str
) -> None:
    blocks = [{"type": "actions", "elements": [element]}]
    with pytest.raises(SlackApiError) as error:
        await client.chat_postMessage(channel="C1", text="x", blocks=blocks)
    assert error.value.response["error"] == "invalid_blocks"
    assert any(pointer in m for m in error.value.response["response_metadata"]["messages"])
    assert fake_slack.messages() == []

    # Just within the limits is fine, in a post and in an update.
    fine = {**element}
    if pointer == "options":
        fine = select(100)
    elif pointer == "text":
        fine["text"] = {"type": "plain_text", "text": "x" * 75}
    elif element["type"] == "button":
        fine["value"] = "ä" * 2000
    else:
        fine = select(3, value_length=150)
    posted = await client.chat_postMessage(
        channel="C1", text="x", blocks=[{"type": "actions", "elements": [fine]}]
    )
    with pytest.raises(SlackApiError) as update:
        await client.chat_update(channel="C1", ts=posted["ts"], text="x", blocks=blocks)
    assert update.value.response["error"] == "invalid_blocks"


async def test_option_groups_are_checked_too(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    menu = select(1)
    del menu["options"]
    for group_size, label, ok in (
        (100, "1–100", True),
        (101, "1–101", False),
        (1, "x" * 76, False),
    ):
        options = select(group_size)["options"]
        menu["option_groups"] = [
            {"label": {"type": "plain_text", "text": label}, "options": options}
        ]
        blocks = [{"type": "actions", "elements": [menu]}]
        if ok:
            await client.chat_postMessage(channel="C1", text="x", blocks=blocks)
            continue
        with pytest.raises(SlackApiError) as error:
            await client.chat_postMessage(channel="C1", text="x", blocks=blocks)
        assert error.value.response["error"] == "invalid_blocks"


async def test_unknown_block_types_and_long_headers_are_invalid_blocks(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    for blocks in (
        [{"type": "no_such_block"}],
        [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
    ):
        with pytest.raises(SlackApiError) as error:
            await client.chat_postMessage(channel="C1", text="x", blocks=blocks)
        assert error.value.response["error"] == "invalid_blocks", blocks


async def test_response_url_bodies_are_checked_like_messages(fake_slack: FakeSlack) -> None:
    webhook = AsyncWebhookClient(fake_slack.new_response_url())
    blocks = [{"type": "actions", "elements": [{**button(1), "value": "x" * 2001}]}]
    refused = await webhook.send(text="x", blocks=blocks)
    assert (refused.status_code, refused.body) == (400, "invalid_blocks")
    empty = await webhook.send_dict({})
    assert (empty.status_code, empty.body) == (400, "no_text")
    fine = await webhook.send(text="x", blocks=[{**blocks[0], "elements": [button(1)]}])
    assert fine.status_code == 200


async def test_users_info_is_rate_limited_at_tier_4(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    now = [1000.0]
    fake_slack.clock = lambda: now[0]
    fake_slack.add_user("U1")
    for _ in range(100):
        await client.users_info(user="U1")
    with pytest.raises(SlackApiError) as limited:
        await client.users_info(user="U1")
    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert int(limited.value.response.headers["Retry-After"]) >= 1
    now[0] += 60.0
    assert (await client.users_info(user="U1"))["ok"]


@pytest.mark.parametrize(
    "text",
    [
        "<!channel> see this",
        "hey <!here|here>",
        "<!everyone>",
        "<https://evil.example|invoice>",
        "<mailto:a@example.com>",
        "<@U0NOBODY>",
        "<#C0NOWHERE>",
    ],
)
async def test_live_markup_in_text_is_flagged(
    fake_slack: FakeSlack, client: AsyncWebClient, text: str
) -> None:
    await client.chat_postMessage(channel="C1", text=text)
    assert fake_slack.markup_problems, text
    fake_slack.markup_problems.clear()
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    await client.chat_postMessage(
        channel="C1",
        text=escaped,
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": escaped}}],
    )
    assert fake_slack.markup_problems == []


async def test_customer_text_must_arrive_escaped(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.add_user("U1")
    fake_slack.add_channel("C1", ["U1"])
    fake_slack.customer_texts.add("Tom & Jerry <3")
    # Mentions of people and channels Slack knows are palaute's own (an organizer's reply).
    await client.chat_postMessage(channel="C1", text="Sent to <@U1> in <#C1>")
    assert fake_slack.markup_problems == []

    def about_tom() -> list[str]:
        return [p for p in fake_slack.markup_problems if "customer text 'Tom" in p]

    mrkdwn = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Tom & Jerry <3*"}}]
    await client.chat_postMessage(channel="C1", text="x", blocks=mrkdwn)
    assert len(about_tom()) == 1
    # plain_text is shown as is: no escaping needed there.
    plain = [{"type": "section", "text": {"type": "plain_text", "text": "Tom & Jerry <3"}}]
    await client.chat_postMessage(channel="C1", text="Tom &amp; Jerry &lt;3", blocks=plain)
    assert len(about_tom()) == 1

    await AsyncWebhookClient(fake_slack.new_response_url()).send(text="Tom & Jerry <3")
    assert len(about_tom()) == 2
    fake_slack.markup_problems.clear()


@pytest.mark.parametrize("option", [{"parse": "full"}, {"link_names": True}])
async def test_parse_full_and_link_names_are_flagged(
    fake_slack: FakeSlack, client: AsyncWebClient, option: dict[str, Any]
) -> None:
    # With either, Slack turns a bare "@here" or "#general" into a live mention.
    await client.chat_postMessage(channel="C1", text="hi @here", **option)
    assert fake_slack.markup_problems
    fake_slack.markup_problems.clear()
