"""Slack's requests to palaute: verified, stored, acknowledged, and only then run through bolt.

Slack wants an answer within 3 seconds and retries events it believes were lost. So each
request (HTTP or Socket Mode) is verified and stored in the SQLite inbox, deduplicated by
event_id, before it is acknowledged, and is dispatched to the bolt app after the ack. A crash
after the ack loses nothing: what is left unprocessed runs at the next start. That is also why
the bolt app runs with `process_before_response=True` and without its own request
verification: the ack has already gone out, and a stored request is legitimately older than
five minutes when it is replayed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.channels.intake import DurableInbox
from bot.channels.lanes import Lanes

log = logging.getLogger(__name__)

_KEPT_HEADERS = ("content-type", "x-slack-retry-num", "x-slack-retry-reason")


def external_id(body: dict[str, Any], raw: str) -> str:
    """Events carry an event_id that retries repeat; anything else is known by its content."""
    event_id = body.get("event_id")
    if event_id:
        return str(event_id)
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


def bolt_request(item: dict[str, Any]) -> AsyncBoltRequest:
    """The bolt request for an inbox item, as stored by `SlackInbox.receive`."""
    return AsyncBoltRequest(body=item["body"], headers=item.get("headers"), mode=item["mode"])


class SlackInbox:
    """Slack's requests through the shared durable inbox (bot/channels/intake.py), then bolt."""

    def __init__(self, bolt: AsyncApp, intake: DurableInbox, *, signing_secret: str | None) -> None:
        self.bolt = bolt
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self._intake = intake
        self._lanes = Lanes()
        self._running: dict[str, asyncio.Task[None]] = {}

    async def receive(self, body: dict[str, Any], raw: str, item: dict[str, Any]) -> None:
        """Store a request (unless it was stored before); it runs once the inbox is open."""
        key = external_id(body, raw)
        if not await self._intake.accept([(key, json.dumps(item))]):
            log.info("Slack delivered %s again; it was already received", key)

    async def open(self) -> int:
        """Run what was acknowledged but not processed before the last stop, then each new
        request as it is stored."""
        return await self._intake.open(self._spawn)

    async def _spawn(self, key: str, payload: str) -> None:
        if key in self._running:
            return
        task = asyncio.create_task(self._process(key, payload), name=f"slack-inbox-{key}")
        self._running[key] = task
        task.add_done_callback(lambda _t: self._running.pop(key, None))

    async def _process(self, key: str, payload: str) -> None:
        try:
            request = bolt_request(json.loads(payload))
        except Exception as unreadable:  # stored by another version, or damaged: never runnable
            log.warning("Slack request %s cannot be read; it is skipped: %s", key, unreadable)
            await self._intake.failed(
                key, f"cannot be read: {type(unreadable).__name__}: {unreadable}"
            )
            return
        async with self._lanes.lane(request.context.user_id or ""):
            error: str | None = None
            try:
                response = await self.bolt.async_dispatch(request)
                if response.status >= 500:
                    # bolt caught a listener's exception (and logged it): this one is done with.
                    log.warning("Slack request %s failed in palaute (%s)", key, response.status)
                    error = f"handling it failed (bolt answered {response.status}; see the log)"
            except asyncio.CancelledError:
                raise  # stopped mid-way: left unprocessed, it runs again at the next start
            except Exception as failure:
                log.exception("processing Slack request %s failed", key)
                error = f"handling it failed: {type(failure).__name__}: {failure}"
            if error is None:
                await self._intake.processed(key)
            else:
                await self._intake.failed(key, error)

    async def drain(self, timeout: float = 5.0) -> None:
        """Stop taking requests (they wait in the inbox), and let those running finish."""
        self._intake.close()
        pending = list(self._running.values())
        if not pending:
            return
        _done, not_done = await asyncio.wait(pending, timeout=timeout)
        for task in not_done:
            task.cancel()
        await asyncio.gather(*not_done, return_exceptions=True)

    # ------------------------------------------------------------------ HTTP mode

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /slack/events: the Events API, interactivity and slash commands alike."""
        raw = (await request.read()).decode("utf-8", errors="replace")
        if self.verifier is None or not self._verified(raw, request):
            return web.Response(status=401, text="invalid signature or stale request")
        headers: dict[str, str | Sequence[str]] = {
            name: request.headers[name] for name in _KEPT_HEADERS if name in request.headers
        }
        try:
            body = AsyncBoltRequest(body=raw, headers=headers).body
        except Exception:  # bolt cannot read it: a form `payload` that is not JSON, or a list
            body = None
        if not isinstance(body, dict):  # e.g. `payload=[]`: signed, but not a Slack request
            return web.Response(status=400, text="not a Slack request")
        if body.get("type") == "url_verification":
            return web.json_response({"challenge": body.get("challenge")})
        if body.get("ssl_check"):
            return web.Response()
        await self.receive(body, raw, {"mode": "http", "body": raw, "headers": headers})
        return web.Response()

    def _verified(self, raw: str, request: web.Request) -> bool:
        assert self.verifier is not None
        try:
            # Also refuses timestamps more than five minutes off (replayed requests).
            return self.verifier.is_valid_request(raw, dict(request.headers))
        except ValueError:  # a timestamp that is not a number
            return False

    # ------------------------------------------------------------------ Socket Mode

    def socket_mode_handler(self, app_token: str) -> AsyncSocketModeHandler:
        return _InboxSocketModeHandler(self, app_token)


class _InboxSocketModeHandler(AsyncSocketModeHandler):
    """Acknowledges an envelope once it is in the inbox; bolt runs it after that."""

    def __init__(self, inbox: SlackInbox, app_token: str) -> None:
        super().__init__(inbox.bolt, app_token)
        self.inbox = inbox

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        payload = req.payload
        headers: dict[str, str] = {}
        if req.retry_attempt is not None:
            headers["x-slack-retry-num"] = str(req.retry_attempt)
        if req.retry_reason:
            headers["x-slack-retry-reason"] = req.retry_reason
        raw = json.dumps(payload, sort_keys=True)
        await self.inbox.receive(
            payload, raw, {"mode": "socket_mode", "body": payload, "headers": headers}
        )
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
