"""Step 1: the adapter. It only translates: palaute's messages to Parrot API calls, Parrot's
events (through the shared durable inbox) to `Incoming` values."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.base import (
    Button,
    Channel,
    Incoming,
    IncomingKind,
    Limits,
    OutgoingPrompt,
    permanent_failure,
    rejected_message,
    temporary_failure,
)
from bot.channels.context import ChannelContext
from bot.channels.lanes import Lanes
from bot.tokens import same_secret
from tests.parrot.settings import ParrotSettings

log = logging.getLogger(__name__)

EVENTS_PATH = "/parrot/events"
SECRET_HEADER = "X-Parrot-Secret"


class ParrotChannel(Channel):
    name = "parrot"
    limits = Limits(per_second=50, burst=10, per_chat_per_second=5, per_chat_burst=5)

    def __init__(self, settings: ParrotSettings, context: ChannelContext) -> None:
        super().__init__()
        self.settings = settings
        self.context = context
        self.inbox = context.inbox()
        self._session: aiohttp.ClientSession | None = None
        self._secret: str | None = None
        self._handling: set[asyncio.Task[None]] = set()
        self._lanes = Lanes()

    def http_routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(EVENTS_PATH, self._receive)]

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {self.settings.token}"}
        )
        self._secret = await self.context.kept.get_or_create_secret("parrot_webhook_secret")
        await self.inbox.open(self._hand_over)
        url = f"{self.context.base_url()}{EVENTS_PATH}"
        await self._call("/v1/webhook", {"url": url, "secret": self._secret})

    async def stop(self) -> None:
        self.inbox.close()
        await asyncio.gather(*self._handling, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    # ------------------------------------------------------------------ incoming

    async def _receive(self, request: web.Request) -> web.Response:
        if self._secret is None or not same_secret(
            request.headers.get(SECRET_HEADER, ""), self._secret
        ):
            return web.Response(status=403)
        raw = await request.text()
        try:
            event_id = json.loads(raw)["event_id"]
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text="not a Parrot event")
        await self.inbox.accept([(str(event_id), raw)])  # stored before Parrot hears 200
        return web.Response()

    async def _hand_over(self, key: str, raw: str) -> None:
        task = asyncio.create_task(self._handle(key, raw))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, key: str, raw: str) -> None:
        try:
            incoming = _incoming(json.loads(raw))
            async with self._lanes.lane(incoming.address):  # one user's events in order
                await self.deliver(incoming)
        except Exception as error:
            log.exception("Parrot event %s could not be handled", key)
            await self.inbox.failed(key, f"handling it failed: {error}")
        else:
            await self.inbox.processed(key)

    # ------------------------------------------------------------------ outgoing

    async def send_prompt(self, address: str, prompt: OutgoingPrompt) -> str:
        if prompt.intro:
            await self.send_text(address, prompt.intro)
        return await self.send_text(address, prompt.text, prompt.rows)

    async def send_text(
        self, address: str, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> str:
        rows = [[{"label": b.label, "payload": b.payload} for b in row] for row in buttons]
        sent = await self._call("/v1/messages", {"to": address, "text": text, "buttons": rows})
        return f"{address}:{sent['id']}"

    async def edit(self, address: str, message_ref: str, text: str) -> None:
        message_id = message_ref.rpartition(":")[2]
        await self._call(f"/v1/messages/{message_id}/edit", {"text": text})

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._session is None:
            raise temporary_failure("the Parrot channel is not running")
        try:
            async with self._session.post(self.settings.api_url + path, json=body) as response:
                if response.status == 400:
                    raise rejected_message(f"Parrot: {await response.text()}")
                if response.status in (401, 404):
                    raise permanent_failure(f"Parrot: {response.status}")
                if response.status != 200:
                    raise temporary_failure(f"Parrot answered {response.status}")
                found: dict[str, Any] = await response.json()
                return found
        except aiohttp.ClientError as error:
            raise temporary_failure(f"Parrot is not reachable: {error}") from error


def _incoming(event: dict[str, Any]) -> Incoming:
    user = str(event["user"])
    if "payload" in event:
        return Incoming(
            channel=ParrotChannel.name,
            address=user,
            kind=IncomingKind.BUTTON,
            payload=str(event["payload"]),
            message_ref=f"{user}:{event['message']}",
        )
    return Incoming(
        channel=ParrotChannel.name, address=user, kind=IncomingKind.TEXT, text=str(event["text"])
    )
