"""Outgoing webhooks: answers and follow-ups to n8n, Zapier or a CRM, signed and retried.

Events are queued in the outbox (kind "webhook", channel "webhook", address = the URL) in the
transaction or right after the answer that caused them, and sent by `WebhookChannel` through
the dispatcher: in order per URL, retried with backoff, never lost to a restart. Requests
follow the Standard Webhooks scheme (https://www.standardwebhooks.com): `webhook-id` (the same
on every retry), `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">`. A secret written as `whsec_<base64>` is used decoded, any other as is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bot.alerts import alert_threshold, raises_alert
from bot.channels.base import (
    Button,
    Channel,
    Limits,
    OutgoingPrompt,
    permanent_failure,
    temporary_failure,
)
from bot.clock import Clock
from bot.config import Config, WebhookConfig
from conversations.engine import Conversation, Step
from conversations.survey import Survey
from storage.followups import Followup
from storage.outbox import PRIORITY_BULK
from storage.records import Invitation
from storage.store import Store
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

CHANNEL = "webhook"
KIND = "webhook"
COMPLETED = "response.completed"
DETRACTOR = "response.detractor"
RESOLVED = "followup.resolved"
ERASED = "contact.erased"
TIMEOUT_SECONDS = 10.0


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def signing_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent and signed; the same on every retry of a message."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class WebhookPublisher:
    """Queues webhook events for every `[[webhooks]]` entry that subscribes to them."""

    def __init__(
        self, store: Store, config: Config, clock: Clock, wake: Callable[[], None]
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.wake = wake

    def subscribed(self, event: str) -> list[WebhookConfig]:
        return [hook for hook in self.config.webhooks if event in hook.events]

    async def publish(
        self,
        connection: UnitOfWork,
        event: str,
        data: Mapping[str, Any],
        *,
        hooks: Sequence[WebhookConfig] | None = None,
    ) -> int:
        now = self.clock.now()
        hooks = self.subscribed(event) if hooks is None else hooks
        for hook in hooks:
            await self.store.outbox.enqueue(
                connection,
                channel=CHANNEL,
                address=hook.url,
                kind=KIND,
                payload={
                    "id": f"msg_{uuid.uuid4().hex}",
                    "body": {"type": event, "timestamp": _iso(now), "data": dict(data)},
                },
                priority=PRIORITY_BULK,
                now=now,
            )
        return len(hooks)

    async def on_answer(
        self,
        connection: UnitOfWork,
        invitation: Invitation,
        conversation: Conversation,
        step: Step,
    ) -> None:
        """SurveyService listener, in the answer's transaction: `response.detractor` and
        `response.completed`."""
        question = step.question
        events = []
        alerting = question is not None and raises_alert(
            self.config.team.alerts, question, step.value
        )
        if alerting:
            events.append(DETRACTOR)
        if step.conversation.finished:
            events.append(COMPLETED)
        events = [e for e in events if self.subscribed(e)]
        if not events:
            return
        data = await self.response_data(invitation, step.conversation)
        for event in events:
            extra: dict[str, Any] = {}
            if event == DETRACTOR and question is not None:
                extra["question"] = question.id
                extra["threshold"] = alert_threshold(self.config.team.alerts, question)
            await self.publish(connection, event, {**data, **extra})

    async def response_data(
        self, invitation: Invitation, conversation: Conversation
    ) -> dict[str, Any]:
        survey = conversation.survey
        headline = survey.headline
        score = None
        if headline is not None and headline.id in conversation.answers:
            score = {"kind": headline.kind.value, "value": conversation.answers[headline.id]}
        data: dict[str, Any] = {
            "invitation_id": invitation.id,
            "survey": survey.id,
            "touchpoint": invitation.touchpoint,
            "channel": invitation.channel,
            "language": conversation.language,
            "properties": dict(invitation.properties),
            "answers": dict(conversation.answers),
            "skipped": sorted(conversation.skipped),
            "score": score,
            "answered_at": _iso(self.clock.now()),
        }
        contact = await self._contact(invitation.contact_id, survey)
        if contact is not None:
            data["contact"] = contact
        return data

    async def _contact(
        self, contact_id: int | None, survey: Survey | None
    ) -> dict[str, Any] | None:
        if contact_id is None or (survey is not None and survey.anonymous):
            return None
        contact = await self.store.contacts.get(contact_id)
        if contact is None:
            return None
        return {
            "channel": contact.channel,
            "address": contact.address,
            "ref": contact.ref,
            "name": contact.display_name,
        }

    async def on_resolved(self, connection: UnitOfWork, followup: Followup) -> None:
        """FollowupService hook, inside the transaction that resolves the follow-up."""
        if not self.subscribed(RESOLVED):
            return
        data: dict[str, Any] = {
            "followup_id": followup.id,
            "invitation_id": followup.invitation_id,
            "survey": followup.survey_id,
            "touchpoint": followup.touchpoint,
            "properties": dict(followup.properties),
            "score": None
            if followup.score is None
            else {"kind": followup.score_kind, "value": followup.score},
            "comment": followup.comment,
            "opened_at": _iso(followup.created_at),
            "owner": followup.owner,
            "claimed_at": _iso(followup.claimed_at),
            "resolved_by": followup.resolved_by,
            "resolved_at": _iso(followup.resolved_at),
        }
        contact = await self._contact(
            followup.contact_id, self.config.surveys.get(followup.survey_id)
        )
        if contact is not None:
            data["contact"] = contact
        await self.publish(connection, RESOLVED, data)
        self.wake()

    async def on_erased(
        self,
        connection: UnitOfWork,
        invitation_ids: Sequence[int],
        followup_ids: Sequence[int],
    ) -> int:
        """`contact.erased` to every webhook, whatever it subscribed to: any of them may keep a
        copy of what was erased. Only ids the subscriber was sent before: no personal data."""
        return await self.publish(
            connection,
            ERASED,
            {"invitation_ids": list(invitation_ids), "followup_ids": list(followup_ids)},
            hooks=self.config.webhooks,
        )


class WebhookChannel(Channel):
    """Delivers "webhook" outbox messages; not a chat, so it refuses every chat message."""

    name = CHANNEL
    limits = Limits(per_second=20, burst=20, per_chat_per_second=10, per_chat_burst=10)
    pushes_prompts = False

    def __init__(
        self, hooks: Sequence[WebhookConfig], *, timestamp: Callable[[], float] = time.time
    ) -> None:
        super().__init__()
        self.hooks = {hook.url: hook for hook in hooks}
        self.timestamp = timestamp
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            headers={"User-Agent": "palaute-webhooks/1"},
        )

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send_prompt(self, address: str, prompt: OutgoingPrompt) -> str:
        raise permanent_failure("a webhook receives events, not survey questions")

    async def send_text(
        self, address: str, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> str:
        raise permanent_failure("a webhook receives events, not messages")

    async def edit(self, address: str, message_ref: str, text: str) -> None:
        raise permanent_failure("a webhook receives events, not messages")

    async def send_webhook(self, url: str, payload: Mapping[str, Any]) -> str:
        hook = self.hooks.get(url)
        if hook is None:
            raise permanent_failure(f"{url} is no longer in [[webhooks]]")
        if self._session is None:
            raise temporary_failure("the webhook sender is not running")
        message_id = str(payload["id"])
        body = encode_body(payload["body"])
        timestamp = int(self.timestamp())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(hook.secret, message_id, timestamp, body),
        }
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise temporary_failure(f"{url}: {type(error).__name__}: {error}") from None
        if 200 <= status < 300:
            return message_id
        if status == 410:
            raise permanent_failure(f"{url} answered 410 Gone")
        wait = float(retry_after) if retry_after and retry_after.isdecimal() else None
        raise temporary_failure(f"{url} answered HTTP {status}", retry_after=wait)
