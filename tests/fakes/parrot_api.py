"""Parrot: a tiny chat platform for the fourth-channel test, served over real HTTP on loopback.

Parrot is made up, so this module is its documentation, and the fake enforces every rule it
states (a lenient fake proves nothing):

- Every call carries `Authorization: Bearer <token>`; another token gets 401.
- `POST /v1/messages` `{"to": "p-<digits>", "text": …, "buttons": [[{"label", "payload"}]]}`
  sends a message and answers `{"id": "<message id>"}`. `text` is 1 to `MAX_TEXT` characters,
  a message has at most `MAX_BUTTONS` buttons, a label 1 to `MAX_LABEL` characters, a payload
  1 to `MAX_PAYLOAD` bytes. Anything else, or a field it does not know, gets 400.
- `POST /v1/messages/<id>/edit` `{"text": …}` replaces a message's text and drops its buttons.
- `POST /v1/webhook` `{"url": …, "secret": …}` sets where Parrot posts what users do. Each event
  is `{"event_id", "user", "text"}` or `{"event_id", "user", "payload", "message"}` (a button
  tap on that message), posted with `X-Parrot-Secret: <secret>`. Parrot delivers an event
  again, with the same event_id, when the webhook did not answer 200.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.loopback import serve

MAX_TEXT = 1000
MAX_BUTTONS = 12
MAX_LABEL = 30
MAX_PAYLOAD = 64
USER = re.compile(r"p-[0-9]+")
SECRET_HEADER = "X-Parrot-Secret"


@dataclass
class ParrotMessage:
    id: str
    to: str
    text: str
    buttons: list[list[dict[str, str]]] = field(default_factory=list)
    edited: bool = False

    @property
    def labels(self) -> list[str]:
        return [button["label"] for row in self.buttons for button in row]

    def payload_of(self, label: str) -> str:
        return next(b["payload"] for row in self.buttons for b in row if b["label"] == label)


class BadCall(Exception):
    pass


class FakeParrot:
    def __init__(self, token: str = "parrot-token") -> None:
        self.token = token
        self.messages: dict[str, ParrotMessage] = {}
        self.webhook: dict[str, str] | None = None
        self._ids = itertools.count(1)
        self._events = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/messages", self._send)
        app.router.add_post("/v1/messages/{id}/edit", self._edit)
        app.router.add_post("/v1/webhook", self._set_webhook)
        self._runner, self.base_url = await serve(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def sent_to(self, user: str) -> list[ParrotMessage]:
        return [m for m in self.messages.values() if m.to == user]

    # ------------------------------------------------------------------ what users do

    async def tap(self, message: ParrotMessage, label: str, *, event_id: str | None = None) -> str:
        """The user taps a button; returns the event_id (to deliver it again)."""
        event = {"user": message.to, "payload": message.payload_of(label), "message": message.id}
        return await self.post_event(event, event_id)

    async def type(self, user: str, text: str) -> str:
        return await self.post_event({"user": user, "text": text})

    async def post_event(self, event: dict[str, str], event_id: str | None = None) -> str:
        """Post an event to the webhook until it answers 200 (as Parrot redelivers)."""
        assert self.webhook is not None, "palaute has not set its webhook"
        event_id = event_id or f"ev{next(self._events)}"
        body = json.dumps({"event_id": event_id, **event})
        headers = {SECRET_HEADER: self.webhook["secret"], "Content-Type": "application/json"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook["url"], data=body, headers=headers) as response,
        ):
            assert response.status == 200, await response.text()
        return event_id

    # ------------------------------------------------------------------ the API

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _body(self, request: web.Request, allowed: set[str]) -> dict[str, Any]:
        if not self._authorized(request):
            raise web.HTTPUnauthorized(text="wrong token")
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="not JSON") from None
        if not isinstance(body, dict) or set(body) - allowed:
            raise web.HTTPBadRequest(text=f"fields must be among {sorted(allowed)}")
        return body

    async def _send(self, request: web.Request) -> web.Response:
        body = await self._body(request, {"to", "text", "buttons"})
        to, text, buttons = body.get("to"), body.get("text"), body.get("buttons", [])
        if not isinstance(to, str) or not USER.fullmatch(to):
            return web.Response(status=400, text="to: not a Parrot user")
        problem = _text_problem(text) or _buttons_problem(buttons)
        if problem:
            return web.Response(status=400, text=problem)
        message = ParrotMessage(str(next(self._ids)), to, text, buttons)
        self.messages[message.id] = message
        return web.json_response({"id": message.id})

    async def _edit(self, request: web.Request) -> web.Response:
        body = await self._body(request, {"text"})
        message = self.messages.get(request.match_info["id"])
        if message is None:
            return web.Response(status=404, text="no such message")
        problem = _text_problem(body.get("text"))
        if problem:
            return web.Response(status=400, text=problem)
        message.text, message.buttons, message.edited = body["text"], [], True
        return web.json_response({"id": message.id})

    async def _set_webhook(self, request: web.Request) -> web.Response:
        body = await self._body(request, {"url", "secret"})
        url, secret = body.get("url"), body.get("secret")
        if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            return web.Response(status=400, text="url: must be http(s)")
        if not (isinstance(secret, str) and secret):
            return web.Response(status=400, text="secret: required")
        self.webhook = {"url": url, "secret": secret}
        return web.json_response({"ok": True})


def _text_problem(text: Any) -> str | None:
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
        return f"text: 1 to {MAX_TEXT} characters"
    return None


def _buttons_problem(buttons: Any) -> str | None:
    if not isinstance(buttons, list) or not all(isinstance(row, list) for row in buttons):
        return "buttons: rows of buttons"
    flat = [button for row in buttons for button in row]
    if len(flat) > MAX_BUTTONS:
        return f"buttons: at most {MAX_BUTTONS}"
    for button in flat:
        if not isinstance(button, dict) or set(button) != {"label", "payload"}:
            return "buttons: each has a label and a payload, nothing else"
        label, payload = button["label"], button["payload"]
        if not isinstance(label, str) or not 1 <= len(label) <= MAX_LABEL:
            return f"buttons: a label is 1 to {MAX_LABEL} characters"
        if not isinstance(payload, str) or not 1 <= len(payload.encode()) <= MAX_PAYLOAD:
            return f"buttons: a payload is 1 to {MAX_PAYLOAD} bytes"
    return None
