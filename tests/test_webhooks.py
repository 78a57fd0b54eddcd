"""Outgoing webhooks against a local receiver that checks Standard Webhooks signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiohttp import web

from bot.app import PalauteApp
from bot.channels.base import Incoming, IncomingKind
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.team.webhooks import sign
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config
from tests.database_rows import until_rows
from tests.loopback import serve
from tests.team_channel import TEAM_TOML, eventually, team_channels
from tests.test_followups import PRIVATE_SURVEY

KEY = b"0123456789abcdef0123456789abcdef"
WHSEC = "whsec_" + base64.b64encode(KEY).decode()


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    valid: bool


@dataclass
class Receiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    fail_next: int = 0

    def events(self, path: str) -> list[str]:
        return [d.body["type"] for d in self.deliveries if d.path == path and d.valid]


def verify(key: bytes, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's side of the scheme, written from the spec rather than from palaute."""
    message_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False
    expected = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    signatures = headers["webhook-signature"].split(" ")
    return any(
        s.startswith("v1,") and hmac.compare_digest(base64.b64decode(s[3:]), expected)
        for s in signatures
    )


RETRY_PLANNED = (
    "SELECT 1 FROM outbox WHERE kind = 'webhook' AND state = 'pending' AND last_error IS NOT NULL"
)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver("")

    async def handle(request: web.Request) -> web.Response:
        raw = await request.read()
        key = KEY if request.path == "/hook" else b"plain-secret"
        headers = {k.lower(): v for k, v in request.headers.items()}
        found.deliveries.append(
            Delivery(request.path, headers, json.loads(raw), verify(key, headers, raw))
        )
        if found.fail_next:
            found.fail_next -= 1
            return web.Response(status=503)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{name}", handle)
    runner, found.url = await serve(app)
    yield found
    await runner.cleanup()


def _config(db_path: Path | str, receiver: Receiver, extra: str = "") -> Any:
    toml = (
        TEAM_TOML
        + extra
        + f"""
[[webhooks]]
url = "{receiver.url}/hook"
secret = "${{HOOK_SECRET}}"

[[webhooks]]
url = "{receiver.url}/crm"
events = ["response.completed"]
secret = "plain-secret"
"""
    )
    return make_config(toml, db_path, environ={"HOOK_SECRET": WHSEC})


async def _answer_all(
    app: PalauteApp, survey: str, answers: list[str], address: str = "UCUST"
) -> int:
    result = await app.triggers.trigger(
        TriggerRequest(survey, ContactSpec("slack", address), {"store": "Itis"})
    )
    await app.invitations.tick()
    for index, answer in enumerate(answers):
        await app.surveys.answer(
            result.invitation.id, answer, channel="slack", address=address, question_index=index
        )
    return result.invitation.id


async def test_events_are_signed_retried_in_order_and_filtered(
    app_factory: AppFactory, database_location: str, receiver: Receiver
) -> None:
    clock = FakeClock(1_790_000_000)
    channels, slack, _telegram = team_channels()
    app = await app_factory(
        _config(database_location, receiver), clock=clock, channels=channels, http=False
    )
    receiver.fail_next = 1  # the first delivery fails: the dispatcher retries it later
    invitation_id = await _answer_all(app, "nps", ["3", "Too slow", "Faster delivery"])
    # Time moves on once the 503 is recorded: a retry planned after the advance would wait for
    # a clock that never moves again (the request reaches the receiver before that).
    await until_rows(app.store, RETRY_PLANNED, bool, what="the retry planned")
    clock.advance(10)  # past the backoff
    await eventually(
        lambda: (
            receiver.events("/hook")
            == ["response.detractor", "response.detractor", "response.completed"]
        )
    )
    await eventually(lambda: receiver.events("/crm") == ["response.completed"])
    assert all(d.valid for d in receiver.deliveries)
    first, retry, completed = (d for d in receiver.deliveries if d.path == "/hook")
    assert (
        first.headers["webhook-id"]
        == retry.headers["webhook-id"]
        != completed.headers["webhook-id"]
    )
    assert first.body == retry.body
    detractor = first.body["data"]
    assert detractor["score"] == {"kind": "nps", "value": 3} and detractor["threshold"] == 6
    assert detractor["invitation_id"] == invitation_id and detractor["properties"] == {
        "store": "Itis"
    }
    assert detractor["contact"]["address"] == "UCUST"
    data = completed.body["data"]
    assert data["answers"] == {"nps": 3, "why": "Too slow", "fix": "Faster delivery"}
    assert completed.body["timestamp"].endswith("Z")

    await eventually(lambda: len(slack.team) == 1)
    await app.incoming(
        Incoming("slack", "UANNA", IncomingKind.BUTTON, payload="f:1:resolve",
                 message_ref=slack.team[0].ref, display_name="Anna")
    )  # fmt: skip
    await eventually(lambda: receiver.events("/hook")[-1:] == ["followup.resolved"])
    resolved = receiver.deliveries[-1].body["data"]
    assert resolved["resolved_by"] == resolved["owner"] == "Anna"
    assert resolved["comment"] == "Too slow\nFaster delivery" and resolved["followup_id"] == 1
    assert receiver.events("/crm") == ["response.completed"]


async def test_anonymous_answers_leave_the_contact_out(
    app_factory: AppFactory, database_location: str, receiver: Receiver
) -> None:
    channels, _slack, _telegram = team_channels()
    app = await app_factory(
        _config(database_location, receiver, PRIVATE_SURVEY),
        clock=FakeClock(1_790_000_000),
        channels=channels,
        http=False,
    )
    await _answer_all(app, "private", ["10", "Lovely"], address="USECRET")
    await eventually(lambda: "response.completed" in receiver.events("/crm"))
    body = next(d.body for d in receiver.deliveries if d.path == "/crm")
    assert "contact" not in body["data"] and "USECRET" not in json.dumps(body)


def test_signature_matches_the_standard_webhooks_example() -> None:
    # The example from the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )
