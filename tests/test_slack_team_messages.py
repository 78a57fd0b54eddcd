"""Team reports and alerts in a Slack channel, and how Web API failures reach the dispatcher."""

from __future__ import annotations

import pytest

from bot.channels.base import Attachment, Button, DeliveryError, MessageRejected
from bot.channels.slack.channel import SlackChannel
from bot.channels.slack.settings import SlackConfig
from bot.team.document import TeamDocument
from storage.store import Store
from tests.channel_context import channel_context
from tests.fakes.slack_api import UPLOAD, FakeSlack

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4ee000000"
    "0049454e44ae426082"
)


@pytest.fixture
def channel(fake_slack: FakeSlack, store: Store) -> SlackChannel:
    config = SlackConfig(
        bot_token=fake_slack.bot_token,
        signing_secret=fake_slack.signing_secret,
        base_url=fake_slack.api_url,
    )
    return SlackChannel(config, channel_context("slack", config, store))


async def test_a_report_with_a_chart_and_an_alert_with_buttons(
    channel: SlackChannel, fake_slack: FakeSlack
) -> None:
    report = TeamDocument(body="Weekly digest: NPS +40", attachment=Attachment("nps.png", PNG))
    ref = await channel.send_team("C0REPORTS", report)
    [posted] = fake_slack.calls_to("chat.postMessage")
    assert ref == f"C0REPORTS:{posted.response['ts']}"
    assert posted.params["text"] == "Weekly digest: NPS +40"
    [file] = fake_slack.files.values()
    assert (file.content, file.channels, file.completed) == (PNG, ["C0REPORTS"], True)
    assert len(fake_slack.calls_to(UPLOAD)) == 1

    alert = TeamDocument(body="NPS 3 from Ben", buttons=((Button("Claim", "claim:7"),),))
    alert_ref = await channel.send_team("C0REPORTS", alert)
    claimed = TeamDocument(body="NPS 3 from Ben, claimed by Olivia")
    await channel.edit_team("C0REPORTS", alert_ref, claimed)
    [update] = fake_slack.calls_to("chat.update")
    assert update.params["ts"] == alert_ref.split(":")[1]
    [message] = [m for m in fake_slack.messages("C0REPORTS") if m["ts"] == update.params["ts"]]
    assert message["text"] == "NPS 3 from Ben, claimed by Olivia"
    assert [b["type"] for b in message["blocks"]] == ["section"]  # the button is gone

    await channel.send_team("C0REPORTS", TeamDocument(body="Follow-up done", thread_ref=alert_ref))
    assert fake_slack.calls_to("chat.postMessage")[-1].params["thread_ts"] == update.params["ts"]


async def test_editing_a_deleted_message_is_not_an_error(
    channel: SlackChannel, fake_slack: FakeSlack
) -> None:
    await channel.edit("U0BEN", "D0BEN:1700000000.999999", "Your answer: 9")
    assert fake_slack.calls_to("chat.update")[0].error == "message_not_found"


@pytest.mark.parametrize(
    ("error", "status", "outcome"),
    [
        ("cannot_dm_bot", 200, "unreachable"),
        ("user_disabled", 200, "unreachable"),
        ("internal_error", 500, "retry"),
        ("account_inactive", 200, "retry"),  # palaute's token, not the customer
        ("invalid_blocks", 200, "dropped"),
    ],
)
async def test_web_api_errors_as_delivery_errors(
    channel: SlackChannel, fake_slack: FakeSlack, error: str, status: int, outcome: str
) -> None:
    fake_slack.fail_next("chat.postMessage", error, status=status)
    with pytest.raises(DeliveryError) as caught:
        await channel.send_text("U0BEN", "Thanks!")
    failure = caught.value
    if outcome == "dropped":
        assert isinstance(failure, MessageRejected)
    else:
        assert not isinstance(failure, MessageRejected)
        assert failure.permanent is (outcome == "unreachable")
    assert failure.retry_after is None


async def test_a_rate_limit_carries_retry_after(
    channel: SlackChannel, fake_slack: FakeSlack
) -> None:
    fake_slack.rate_limit_next("chat.postMessage", retry_after=7)
    with pytest.raises(DeliveryError) as caught:
        await channel.send_text("U0BEN", "Thanks!")
    assert (caught.value.permanent, caught.value.retry_after) == (False, 7.0)
    # The SDK itself did not retry: the dispatcher owns pacing.
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_an_unreachable_slack_is_a_temporary_failure(
    fake_slack: FakeSlack, store: Store
) -> None:
    await fake_slack.stop()
    config = SlackConfig(bot_token="xoxb-x", signing_secret="s", base_url=fake_slack.api_url)
    channel = SlackChannel(config, channel_context("slack", config, store))
    with pytest.raises(DeliveryError) as caught:
        await channel.send_text("C0REPORTS", "Hello")
    assert not caught.value.permanent


async def test_a_text_longer_than_slack_takes_is_sent_shortened(
    channel: SlackChannel, fake_slack: FakeSlack
) -> None:
    # chat.postMessage answers msg_too_long past 40,000 characters of `text`; escaping can
    # make a text five times longer. The blocks carry what fits in 50 sections.
    long = "<&>" * 20_000
    ref = await channel.send_text("C0REPORTS", long, ((Button("Skip", "s"),),))
    await channel.edit("C0REPORTS", ref, long)
    await channel.send_team("C0REPORTS", TeamDocument(body=long))
    posted = fake_slack.calls_to("chat.postMessage") + fake_slack.calls_to("chat.update")
    assert [c.ok for c in posted] == [True, True, True]
    assert all(len(c.params["text"]) <= 40_000 for c in posted)
    assert posted[0].params["blocks"][-1]["elements"][0]["value"] == "s"
