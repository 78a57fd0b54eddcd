"""Slack's side of Socket Mode for tests: apps.connections.open and the WebSocket it hands out.

`FakeSlackSocketMode` is a `FakeSlack` that also accepts an app-level token, answers
apps.connections.open with the URL of a WebSocket served on 127.0.0.1, says hello when the
app connects, sends envelopes (`send`) and records the app's acknowledgements (`acks`)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import pytest_asyncio
from aiohttp import WSMsgType, web

from tests.fakes.slack_api import FakeSlack


class FakeSlackSocketMode(FakeSlack):
    def __init__(self, app_token: str = "xapp-1-test-token", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_token = app_token
        self.valid_tokens.add(app_token)
        self._handlers["apps.connections.open"] = self._apps_connections_open
        self.acks: list[dict[str, Any]] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._changed = asyncio.Condition()
        self._envelopes = itertools.count(1)
        self._ws_runner: web.AppRunner | None = None
        self.socket_url = ""

    async def start(self) -> None:
        await super().start()
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._ws_runner = web.AppRunner(app, access_log=None)
        await self._ws_runner.setup()
        site = web.TCPSite(self._ws_runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._ws_runner.addresses[0][:2]
        self.socket_url = f"ws://{host}:{port}/link"

    async def stop(self) -> None:
        for socket in self._sockets:
            await socket.close()
        if self._ws_runner is not None:
            await self._ws_runner.cleanup()
            self._ws_runner = None
        await super().stop()

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.socket_url}

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": self.app_id}}
        )
        async with self._changed:
            self._sockets.append(socket)
            self._changed.notify_all()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                async with self._changed:
                    self.acks.append(json.loads(message.data))
                    self._changed.notify_all()
        return socket

    async def connected(self, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: bool(self._sockets))

    async def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Send an envelope ("events_api", "interactive", "slash_commands"); its envelope_id."""
        envelope_id = f"envelope-{next(self._envelopes)}"
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": retry_reason,
            }
        )
        return envelope_id

    async def acked(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((a for a in self.acks if a.get("envelope_id") == envelope_id), None)

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: found() is not None)
        ack = found()
        assert ack is not None
        return ack


def form_payload(body: str) -> dict[str, str]:
    """A form-encoded slash command body as the dict Socket Mode carries instead."""
    return dict(parse_qsl(body, keep_blank_values=True))


@pytest_asyncio.fixture
async def fake_slack_socket_mode() -> AsyncIterator[FakeSlackSocketMode]:
    fake = FakeSlackSocketMode()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
