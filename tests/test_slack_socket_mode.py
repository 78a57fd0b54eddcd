"""The Slack channel in Socket Mode: envelopes over a real WebSocket, acknowledged once stored."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import AppFactory, make_config
from tests.fakes import slack_socket_mode
from tests.fakes.slack_api import event_callback_body, slash_command_body
from tests.fakes.slack_socket_mode import FakeSlackSocketMode, form_payload
from tests.slack_harness import AINO, SlackHarness, eventually

fake_slack_socket_mode = slack_socket_mode.fake_slack_socket_mode

SOCKET_TOML = """
[slack]
bot_token = "${{SLACK_BOT_TOKEN}}"
app_token = "${{SLACK_APP_TOKEN}}"
base_url = "{api_url}"
"""


async def test_socket_mode_commands_and_a_retried_event(
    app_factory: AppFactory, fake_slack_socket_mode: FakeSlackSocketMode, db_path: Path
) -> None:
    fake = fake_slack_socket_mode
    fake.add_user(AINO, name="Aino", locale="fi-FI")
    environ = {"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_APP_TOKEN": fake.app_token}
    config = make_config(SOCKET_TOML.format(api_url=fake.api_url), db_path, environ)
    app = await app_factory(config)
    slack = SlackHarness(app, fake)
    await fake.connected()
    [opened] = fake.calls_to("apps.connections.open")
    assert opened.token == fake.app_token
    assert app.channels["slack"].http_routes() == []  # type: ignore[attr-defined]

    command = form_payload(slash_command_body("/palaute", "stop", AINO, fake=fake))
    envelope = await fake.send("slash_commands", command)
    assert await fake.acked(envelope) == {"envelope_id": envelope}
    [stopped] = await slack.wait_for_dms(AINO, 1)
    assert stopped["text"].startswith("Et saa meiltä enää kyselyjä")

    event = {
        "type": "message",
        "channel": "D0AINO",
        "channel_type": "im",
        "user": AINO,
        "text": "hei",
        "ts": "1700000100.000100",
    }
    body = json.loads(event_callback_body(event, event_id="Ev0SOCKET"))
    first = await fake.send("events_api", body)
    again = await fake.send("events_api", body, retry_attempt=1, retry_reason="timeout")
    await fake.acked(first)
    await fake.acked(again)
    [_, help_text] = await slack.wait_for_dms(AINO, 2)
    assert "/palaute start" in help_text["text"]

    async def processed() -> bool:
        return await app.store.inbox.unprocessed("slack") == []

    await eventually(processed, what="the inbox to be processed")
    assert len(slack.dms(AINO)) == 2
    rows = await app.store.database.fetch_all("SELECT external_id FROM inbox")
    assert sorted(r["external_id"] for r in rows if not r["external_id"].startswith("sha")) == [
        "Ev0SOCKET"
    ]
