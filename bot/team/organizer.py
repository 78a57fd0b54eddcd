"""What organizers do from a chat, whatever the chat: send a survey to people (previewed, then
confirmed), and see the scores.

A channel's commands (bot.channels.slack.commands for Slack's `/palaute`) parse what was typed, find
the people a platform-specific target names (a Slack channel's members), and word the answer;
everything else is here. A send waiting for its confirmation is kept in the database
(storage.pending_sends): the confirming button carries only its token, survives a restart,
and sends once however often it is pressed.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import Config
from bot.delivery.triggers import (
    ContactSpec,
    TriggerError,
    TriggerRequest,
    TriggerResult,
    TriggerService,
)
from bot.durations import parse_duration
from bot.team.scores import ScoreRow, live_as_of, rolling_scores
from storage.records import Invitation, InvitationState
from storage.store import Store

PENDING_FOR = timedelta(days=1)
"""How long a send waits for its confirmation (a Slack preview's response_url lasts 30 minutes,
but the button stays in the organizer's chat)."""
STARTS_NOW_WITHIN = 60.0
"""Seconds: invitations due this soon are said to go out now."""

_RECENTLY = re.compile(r"^surveyed \S+ before")

Trigger = Callable[[TriggerRequest], Awaitable[TriggerResult]]


class InvitationTicker(Protocol):
    async def tick(self) -> Any: ...


@dataclass(frozen=True)
class SendRequest:
    touchpoint: str
    target: str
    """As the organizer wrote it: an audience's name, or what their channel resolves."""
    properties: dict[str, str] = field(default_factory=dict)
    nonce: str = field(default_factory=lambda: secrets.token_hex(6))
    """Names this send in its invitations' idempotency keys, so a retry stores nothing twice."""

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.touchpoint, "to": self.target, "p": self.properties, "n": self.nonce}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SendRequest:
        return cls(str(data["t"]), str(data["to"]), dict(data.get("p") or {}), str(data["n"]))


@dataclass
class Recipients:
    label: str
    """How the channel names them to the organizer (in its own markup)."""
    contacts: list[ContactSpec]
    left_out: int = 0
    """Bots and deactivated accounts in a channel or group."""


@dataclass
class Outcome:
    """What a send did, or would do."""

    asked: list[TriggerResult] = field(default_factory=list)
    held_back: Counter[str] = field(default_factory=Counter)
    """Why the others are not asked, with how many each."""

    def add(self, result: TriggerResult) -> None:
        invitation = result.invitation
        if invitation.state is InvitationState.SCHEDULED:
            self.asked.append(result)
        else:
            reason = _RECENTLY.sub("surveyed recently", invitation.reason or invitation.state)
            self.held_back[reason] += 1

    @property
    def first_due(self) -> Invitation | None:
        """The invitation that goes out first, if anyone is asked."""
        if not self.asked:
            return None
        return min(self.asked, key=lambda r: r.invitation.due_at).invitation


class NoSuchAudience(Exception):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"there is no audience {name!r} with members")
        self.name = name
        self.known = known


class NotASurveyOrWindow(Exception):
    def __init__(self, word: str, surveys: list[str]) -> None:
        super().__init__(f"{word!r} is neither a survey nor a window")
        self.word = word
        self.surveys = surveys


class Confirmation(StrEnum):
    ALREADY_SENT = "already_sent"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ScoresQuery:
    survey_id: str | None
    window: timedelta


class Organizer:
    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Clock,
        triggers: TriggerService,
        invitations: InvitationTicker,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.triggers = triggers
        self.invitations = invitations

    # ------------------------------------------------------------------ send

    def validate(self, request: SendRequest, channel: str) -> None:
        """Raises bot.delivery.triggers.TriggerError for a touchpoint or properties that cannot be sent
        on `channel` (`field` names the property missing, as `properties.<name>`)."""
        anyone = ContactSpec(channel, "-")  # what is checked does not depend on who
        self.triggers.validate(TriggerRequest(request.touchpoint, anyone, request.properties))

    async def preview(self, request: SendRequest, recipients: Recipients) -> Outcome:
        """Who would be asked and who not, and why; nothing is stored."""
        return await self._run(request, recipients, self.triggers.preview)

    async def keep(self, request: SendRequest, *, channel: str, requested_by: str) -> str:
        """Store the send until it is confirmed; returns the token the confirmation names."""
        pending = self.store.pending_sends
        now = self.clock.now()
        await pending.prune(now - PENDING_FOR.total_seconds())
        token = secrets.token_urlsafe(16)
        await pending.create(
            token, channel=channel, requested_by=requested_by, request=request.to_dict(), now=now
        )
        return token

    async def confirm(self, token: str, *, click: str) -> SendRequest | Confirmation:
        """The send `token` names, confirmed once by `click` (one press: a press handled again
        after a crash is the same click and may finish what it started)."""
        now = self.clock.now()
        pending = await self.store.pending_sends.confirm(
            token, click=click, now=now, newer_than=now - PENDING_FOR.total_seconds()
        )
        if pending is not None:
            return SendRequest.from_dict(pending.request)
        if await self.store.pending_sends.state(token) == "confirmed":
            return Confirmation.ALREADY_SENT
        return Confirmation.EXPIRED

    async def release(self, token: str) -> None:
        """Confirmable again: the send could not be made."""
        await self.store.pending_sends.release(token)

    async def send(self, request: SendRequest, recipients: Recipients, *, channel: str) -> Outcome:
        """Invite every recipient; the invitations' idempotency keys keep a repeated send of
        the same request from storing anything twice."""

        async def trigger(trigger_request: TriggerRequest) -> TriggerResult:
            key = f"{channel}-send:{request.nonce}:{trigger_request.contact.label}"
            return await self.triggers.trigger(replace(trigger_request, idempotency_key=key))

        outcome = await self._run(request, recipients, trigger)
        # Start what is due now at once: a tick already running when the first invitations
        # were stored would otherwise leave the rest to the next one.
        await self.invitations.tick()
        return outcome

    def starts_now(self, invitation: Invitation) -> bool:
        return invitation.due_at <= self.clock.now() + STARTS_NOW_WITHIN

    async def _run(self, request: SendRequest, recipients: Recipients, trigger: Trigger) -> Outcome:
        outcome = Outcome()
        for contact in recipients.contacts:
            try:
                outcome.add(
                    await trigger(TriggerRequest(request.touchpoint, contact, request.properties))
                )
            except TriggerError as error:
                outcome.held_back[error.message] += 1
        return outcome

    async def audience(self, name: str) -> list[ContactSpec]:
        """The members of a stored audience; NoSuchAudience when it has none."""
        members = await self.store.audiences.members(name)
        if not members:
            known = [known for known, _count in await self.store.audiences.names()]
            raise NoSuchAudience(name, known)
        return [
            ContactSpec(m.channel, m.address) if m.channel else ContactSpec(ref=m.ref)
            for m in members
        ]

    def touchpoints(self) -> list[str]:
        """What can be sent: every touchpoint, and every survey (a survey is its own)."""
        return sorted({*self.config.touchpoints, *self.config.surveys})

    # ------------------------------------------------------------------ scores

    def scores_query(self, words: list[str]) -> ScoresQuery:
        """`[survey] [window]` in any order; the longest `[team] windows` by default."""
        survey_id: str | None = None
        window = timedelta(days=max(self.config.team.windows))
        for word in words:
            if word in self.config.surveys:
                survey_id = word
                continue
            try:
                window = parse_duration(word)
            except ValueError:
                raise NotASurveyOrWindow(word, sorted(self.config.surveys)) from None
        return ScoresQuery(survey_id, window)

    async def scores(self, query: ScoresQuery) -> list[ScoreRow]:
        """The live scores (today so far counts) over the query's window."""
        return await rolling_scores(
            self.store,
            self.config.surveys,
            now=live_as_of(self.clock.now(), self.config.team.timezone),
            window=query.window,
            survey_id=query.survey_id,
            timezone=self.config.team.timezone,
        )
