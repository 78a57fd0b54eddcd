"""A palaute app with the Slack channel in HTTP mode, talking to the fake Slack over real HTTP.

`SlackHarness` posts what Slack would post (signed slash commands, clicks, DMs) to the app's
/slack/events endpoint and finds what the customer and the organizer were shown.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import PalauteApp
from bot.config import Config
from storage.records import Contact, Invitation
from tests.conftest import AppFactory, make_config
from tests.fakes.slack_api import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    RESPONSE_URL,
    FakeSlack,
    RecordedCall,
    SlackInbound,
    block_actions_body,
    event_callback_body,
    slash_command_body,
)

ADMIN = "U0ADMIN"
ORGANIZERS = "S0ORGANIZERS"
AINO = "U0AINO"
BEN = "U0BEN"
LEAD = "U0LEAD"

SLACK_TOML = """
[server]
port = 0
public_url = "http://127.0.0.1"
api_token = "test-api-token"

[slack]
bot_token = "${{SLACK_BOT_TOKEN}}"
signing_secret = "${{SLACK_SIGNING_SECRET}}"
base_url = "{api_url}"
admins = ["{admin}", "{organizers}"]

[touchpoints.offsite]
survey = "nps"

[[surveys.lunch.questions]]
id = "dish"
type = "choice"
text = "Which dish did you have?"
choices = ["Soup", "Salad", "Pasta", "Curry", "Fish", "Pizza", "Tacos"]
"""

_ts = itertools.count(1)


def slack_config(fake: FakeSlack, db_path: Path | str, extra: str = "") -> Config:
    toml = SLACK_TOML.format(api_url=fake.api_url, admin=ADMIN, organizers=ORGANIZERS) + extra
    return make_config(
        toml,
        db_path,
        {"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": fake.signing_secret},
    )


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 5.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s")
        await asyncio.sleep(0.02)


def block_texts(message: dict[str, Any]) -> list[str]:
    """Every text shown in a message's blocks (sections, context, buttons, menu options)."""
    found: list[str] = []
    for block in message.get("blocks") or []:
        if "text" in block:
            found.append(block["text"]["text"])
        for element in block.get("elements") or []:
            if "text" in element:
                found.append(
                    element["text"]["text"]
                    if isinstance(element["text"], dict)
                    else element["text"]
                )
            for option in element.get("options") or []:
                found.append(option["text"]["text"])
            for group in element.get("option_groups") or []:
                found += [option["text"]["text"] for option in group["options"]]
    return found


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A message's buttons by label."""
    return {
        element["text"]["text"]: element
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    }


@dataclass
class SlackHarness:
    app: PalauteApp
    fake: FakeSlack

    @property
    def inbound(self) -> SlackInbound:
        return SlackInbound(
            f"http://127.0.0.1:{self.app.http.port}/slack/events", self.fake.signing_secret
        )

    async def command(
        self, text: str, user: str = ADMIN, channel: str = "C0GENERAL"
    ) -> RecordedCall:
        """Run `/palaute text`; returns the ephemeral reply posted to its response_url."""
        before = len(self.fake.calls_to(RESPONSE_URL))
        body = slash_command_body("/palaute", text, user, channel, fake=self.fake)
        status, _ = await self.inbound.post(body, FORM_CONTENT_TYPE)
        assert status == 200
        return (await self.fake.wait_for_calls(RESPONSE_URL, before + 1))[before]

    async def click(
        self,
        user: str,
        message: dict[str, Any],
        label: str,
        *,
        response_url: str | None = None,
    ) -> None:
        button = buttons(message)[label]
        body = block_actions_body(
            user,
            button["action_id"],
            button["value"],
            channel_id=message.get("channel", "C0GENERAL"),
            message_ts=message.get("ts", "1700000000.000001"),
            message=message,
            response_url=response_url,
        )
        status, _ = await self.inbound.post(body, FORM_CONTENT_TYPE)
        assert status == 200

    async def select(self, user: str, message: dict[str, Any], label: str) -> None:
        [menu] = [
            element
            for block in message["blocks"]
            if block["type"] == "actions"
            for element in block["elements"]
            if element["type"] == "static_select"
        ]
        options = menu.get("options") or [
            option for group in menu["option_groups"] for option in group["options"]
        ]
        [value] = [o["value"] for o in options if o["text"]["text"] == label]
        body = block_actions_body(
            user,
            menu["action_id"],
            value,
            channel_id=message["channel"],
            message_ts=message["ts"],
            action_type="static_select",
            message=message,
        )
        status, _ = await self.inbound.post(body, FORM_CONTENT_TYPE)
        assert status == 200

    async def dm(
        self,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        event_id: str | None = None,
        retry_num: int | None = None,
    ) -> str:
        """The user writes to the bot in their DM; returns the event_id."""
        event: dict[str, Any] = {
            "type": "message",
            "channel": "D" + user[1:],
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": f"{int(time.time())}.{next(_ts):06d}",
            "client_msg_id": f"msg-{next(_ts)}",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        body = event_callback_body(event, event_id=event_id)
        status, _ = await self.inbound.post(body, JSON_CONTENT_TYPE, retry_num=retry_num)
        assert status == 200
        return str(json.loads(body)["event_id"])

    def dms(self, user: str) -> list[dict[str, Any]]:
        return self.fake.messages("D" + user[1:])

    async def wait_for_dms(self, user: str, count: int) -> list[dict[str, Any]]:
        async def enough() -> bool:
            return len(self.dms(user)) >= count

        await eventually(enough, what=f"{count} DM(s) to {user}")
        return self.dms(user)

    async def contact(self, user: str) -> Contact | None:
        return await self.app.store.contacts.find("slack", user)

    async def invitations(self, user: str) -> list[Invitation]:
        contact = await self.contact(user)
        if contact is None:
            return []
        rows = await self.app.store.database.fetch_all(
            "SELECT id FROM invitations WHERE contact_id = ? ORDER BY id", (contact.id,)
        )
        found = [await self.app.store.invitations.get(row["id"]) for row in rows]
        return [i for i in found if i is not None]

    async def answers(self, user: str) -> dict[str, Any]:
        [invitation] = await self.invitations(user)
        answers, _skipped = await self.app.store.answers.for_invitation(invitation.id)
        return answers

    async def add_to_audience(self, audience: str, *users: str) -> None:
        store = self.app.store
        now = self.app.clock.now()
        async with store.database.transaction() as connection:
            for user in users:
                contact_id = await store.contacts.ensure(
                    connection, channel="slack", address=user, now=now
                )
                await store.audiences.add_member(
                    connection, audience, contact_id, source="test", now=now
                )


async def start_slack_app(
    app_factory: AppFactory, fake: FakeSlack, db_path: Path, extra_toml: str = ""
) -> SlackHarness:
    fake.add_user(ADMIN, name="Olivia Organizer")
    fake.add_user(AINO, name="Aino", email="aino@example.com", locale="fi-FI")
    fake.add_user(BEN, name="Ben", email="ben@example.com", locale="en-GB")
    fake.add_user(LEAD, name="Leo Lead")
    fake.add_usergroup(ORGANIZERS, [LEAD])
    fake.add_channel("C0GENERAL", [ADMIN, AINO, BEN, LEAD, fake.bot_user_id])
    app = await app_factory(slack_config(fake, db_path, extra_toml))
    return SlackHarness(app, fake)
