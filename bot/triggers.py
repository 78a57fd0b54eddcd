"""From "something happened" to a scheduled invitation, applying the timing rules.

Suppressed invitations are stored too, with the reason, so that nobody wonders where a survey
went: opted out, surveyed too recently, not sampled, daily cap reached.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.channels.capacity import CAPACITIES
from bot.clock import Clock, to_datetime
from bot.config import Config, TouchpointConfig
from bot.survey_fit import property_overflows
from bot.timing import local_day_bounds, outside_quiet_hours
from storage.addresses import normalize_address
from storage.invitations import KeyedInvitation, NewInvitation
from storage.records import Contact, Invitation, InvitationState
from storage.store import Store
from storage.unit_of_work import UnitOfWork

CHANNELS = ("telegram", "slack", "web")
_CHAT_ID = re.compile(r"-?[0-9]{1,20}")
"""A Telegram chat id: ASCII digits ("²", "١٢٣" and "--5" pass str.isdigit() but not int())."""


class TriggerError(ValueError):
    """A touchpoint that cannot be accepted; `field` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


IDEMPOTENCY_FIELD = "Idempotency-Key"
OCCURRED_RANGE = "must be a time between 1970 and a year from now"
OCCURRED_AHEAD = timedelta(days=366)


def request_fingerprint(body: object) -> str:
    """A hash of a JSON request that ignores key order and spacing: what makes a retry a retry."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class ContactSpec:
    channel: str | None = None
    address: str | None = None
    ref: str | None = None

    @classmethod
    def parse(cls, text: str, field: str = "contact") -> ContactSpec:
        """'telegram:123', 'slack:U0123', 'web:…' or 'ref:crm-42'."""
        kind, _, value = text.partition(":")
        value = normalize_address(value)
        if not value:
            raise TriggerError(
                field,
                f'"{text}" must be telegram:CHAT_ID, slack:USER_ID, web:EMAIL_OR_PHONE'
                " or ref:EXTERNAL_ID",
            )
        if kind == "ref":
            return cls(ref=value)
        if kind not in CHANNELS:
            raise TriggerError(field, f'unknown channel "{kind}" (use telegram, slack, web or ref)')
        if kind == "telegram" and not _CHAT_ID.fullmatch(value):
            raise TriggerError(field, f'a Telegram chat id is a number, not "{value}"')
        return cls(channel=kind, address=value)

    @property
    def label(self) -> str:
        return f"ref:{self.ref}" if self.ref else f"{self.channel}:{self.address}"


@dataclass(frozen=True)
class TriggerRequest:
    touchpoint: str
    contact: ContactSpec
    properties: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: float | None = None
    idempotency_key: str | None = None
    language: str | None = None
    again: bool = False
    """Ask even a contact who already answered, or is answering, this touchpoint with the same
    properties (an organizer's explicit `--again`); recurring touchpoints always ask again."""
    opened_by_customer: bool = False
    """The customer came for this survey (opened an open link): quiet hours, the fatigue guard,
    sampling and daily caps are for the surveys palaute pushes, not for one a person asks for."""
    fingerprint: str | None = None
    """`request_fingerprint` of what the caller sent with its idempotency key; a stored
    touchpoint with the same key and another fingerprint is a different request."""


ContactResolver = Callable[[TriggerRequest], Awaitable[TriggerRequest]]


@dataclass(frozen=True)
class TriggerResult:
    invitation: Invitation
    contact_label: str
    created: bool
    """False when an idempotency key matched an earlier request, or the contact was already
    asked (`already_asked`)."""
    already_asked: bool = False
    """The contact has completed, or is still in, the survey of this touchpoint with these
    properties: the earlier invitation is returned instead of asking again."""


class TriggerService:
    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        channels: Collection[str] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.channels = frozenset(config.channels if channels is None else channels)
        """Channels a contact may be surveyed on: the configured ones, or those the app runs."""
        self.rng = rng or random.Random()
        self.on_created: Callable[[], None] = lambda: None
        """Called after a new invitation is stored, so that one due now is sent at once."""
        self.resolvers: dict[str, ContactResolver] = {}
        """Per channel: turns the contact a touchpoint names (e.g. a Slack email) into a chat identity."""

    def touchpoint(self, name: str) -> TouchpointConfig:
        try:
            return self.config.touchpoint(name)
        except KeyError:
            known = ", ".join(sorted({*self.config.touchpoints, *self.config.surveys}))
            raise TriggerError(
                "touchpoint", f'unknown touchpoint "{name}" (known: {known})'
            ) from None

    def validate(self, request: TriggerRequest) -> tuple[TouchpointConfig, dict[str, str]]:
        touchpoint = self.touchpoint(request.touchpoint)
        occurred = request.occurred_at
        if occurred is not None and not (
            0 <= occurred <= self.clock.now() + OCCURRED_AHEAD.total_seconds()
        ):
            # Beyond that, due and expiry times run past the year 9999 that datetime can hold.
            raise TriggerError("occurred_at", OCCURRED_RANGE)
        properties = {
            **touchpoint.properties,
            **{str(k): _property_text(k, v) for k, v in request.properties.items()},
        }
        survey = self.config.surveys[touchpoint.survey]
        missing = sorted(survey.required_properties() - set(properties))
        if missing:
            raise TriggerError(
                f"properties.{missing[0]}",
                f'survey "{survey.id}" uses {{{missing[0]}}} in its texts, so the touchpoint needs this property',
            )
        channel = request.contact.channel
        if channel is not None and channel not in self.channels:
            raise TriggerError(
                "contact",
                f"the {channel} channel is not configured: add a [{channel}] section to the"
                " config, or survey this contact on a channel that is",
            )
        for channel in self._channels_for(request.contact):
            capacity = CAPACITIES.get(channel)
            if capacity is None:
                continue
            for name, message in property_overflows(survey, capacity, properties):
                raise TriggerError(f"properties.{name}", message)
        return touchpoint, properties

    def _channels_for(self, contact: ContactSpec) -> list[str]:
        """Where the survey may go: the contact's channel, or for a `ref:` contact any that
        could be theirs."""
        if contact.channel is not None:
            return [contact.channel]
        return sorted(self.channels)

    async def check_idempotency(self, request: TriggerRequest) -> None:
        """Refuse now a key that was used for another request (`trigger` checks again)."""
        if not request.idempotency_key:
            return
        async with self.store.database.transaction() as connection:
            self._same_request(
                await self.store.invitations.keyed(connection, request.idempotency_key), request
            )

    @staticmethod
    def _same_request(existing: KeyedInvitation | None, request: TriggerRequest) -> None:
        if existing is not None and existing.request_fingerprint != request.fingerprint:
            raise TriggerError(
                IDEMPOTENCY_FIELD,
                "this Idempotency-Key was used for a different request: send a new key for a"
                " new touchpoint",
            )

    async def trigger(self, request: TriggerRequest, *, dry_run: bool = False) -> TriggerResult:
        touchpoint, properties = self.validate(request)
        resolve = self.resolvers.get(request.contact.channel or "")
        if resolve is not None:
            request = await resolve(request)
        now = self.clock.now()
        occurred = request.occurred_at if request.occurred_at is not None else now
        async with self.store.database.transaction() as connection:
            if request.idempotency_key:
                existing = await self.store.invitations.keyed(connection, request.idempotency_key)
                self._same_request(existing, request)
                if existing is not None:
                    return TriggerResult(existing.invitation, request.contact.label, created=False)
            spec = request.contact
            contact_id = await self.store.contacts.ensure(
                connection,
                channel=spec.channel,
                address=spec.address,
                ref=spec.ref,
                now=now,
                language=request.language,
            )
            contact = await self.store.contacts.get_in(connection, contact_id)
            assert contact is not None
            if not (request.again or request.opened_by_customer or touchpoint.every):
                earlier = await self.store.invitations.already_asked(
                    connection, contact.id, touchpoint.id, properties
                )
                if earlier is not None:
                    result = TriggerResult(
                        earlier, contact.label, created=False, already_asked=True
                    )
                    if dry_run:
                        raise _DryRun(result)
                    return result
            new = await self._plan(
                connection, touchpoint, contact, properties, occurred, now, request
            )
            invitation_id = await self.store.invitations.insert(connection, new, now=now)
            if dry_run:
                # Plan inside the transaction, then leave no trace.
                raise _DryRun(
                    TriggerResult(_preview(invitation_id, new), contact.label, created=True)
                )
        stored = await self.store.invitations.get(invitation_id)
        assert stored is not None
        invitation = stored
        if invitation.state is InvitationState.SCHEDULED:
            self.on_created()
        return TriggerResult(invitation, contact.label, created=True)

    async def preview(self, request: TriggerRequest) -> TriggerResult:
        """What `trigger` would do, without storing anything."""
        try:
            await self.trigger(request, dry_run=True)
        except _DryRun as result:
            return result.result
        raise AssertionError("dry run did not stop")

    async def _plan(
        self,
        connection: UnitOfWork,
        touchpoint: TouchpointConfig,
        contact: Contact,
        properties: dict[str, str],
        occurred: float,
        now: float,
        request: TriggerRequest,
    ) -> NewInvitation:
        timezone = contact.timezone or self.config.defaults.timezone
        due = to_datetime(max(occurred + touchpoint.delay.total_seconds(), now))
        if not request.opened_by_customer:
            due = outside_quiet_hours(due, touchpoint.quiet_hours, timezone)
        state, reason = InvitationState.SCHEDULED, None
        if contact.opted_out_at is not None:
            state, reason = InvitationState.SUPPRESSED, "the contact opted out of surveys"
        elif contact.unreachable_at is not None and not request.opened_by_customer:
            state, reason = (
                InvitationState.UNREACHABLE,
                f"the contact cannot be reached: {contact.unreachable_reason or 'unknown reason'}",
            )
        elif not request.opened_by_customer:
            state, reason = await self._guard(connection, touchpoint, contact, due)
        due_at = due.timestamp()
        return NewInvitation(
            touchpoint=touchpoint.id,
            survey_id=touchpoint.survey,
            contact_id=contact.id,
            channel=contact.channel,
            occurred_at=occurred,
            properties=properties,
            state=state,
            reason=reason,
            due_at=due_at,
            remind_at=due_at + touchpoint.remind_after.total_seconds()
            if touchpoint.remind_after
            else None,
            expires_at=due_at + touchpoint.expire_after.total_seconds()
            if touchpoint.expire_after
            else None,
            token=secrets.token_urlsafe(18),
            idempotency_key=request.idempotency_key,
            language=request.language or contact.language,
            request_fingerprint=request.fingerprint,
        )

    async def _guard(
        self,
        connection: UnitOfWork,
        touchpoint: TouchpointConfig,
        contact: Contact,
        due: datetime,
    ) -> tuple[InvitationState, str | None]:
        """Whether a survey palaute would push may go: sampling, fatigue and daily caps."""
        if touchpoint.sample < 1.0 and self.rng.random() >= touchpoint.sample:
            return InvitationState.SUPPRESSED, f"not sampled (sample = {touchpoint.sample})"
        min_days = self.config.defaults.min_days_between_surveys
        if min_days > 0:
            last = await self.store.invitations.last_surveyed_at(connection, contact.id)
            window = timedelta(days=min_days).total_seconds()
            if last is not None and abs(due.timestamp() - last) < window:
                return (
                    InvitationState.SUPPRESSED,
                    f"another survey is due within {min_days} days (min_days_between_surveys)",
                )
        if touchpoint.max_per_day is not None:
            start, end = local_day_bounds(due, self.config.defaults.timezone)
            count = await self.store.invitations.count_due_between(
                connection, touchpoint.id, start.timestamp(), end.timestamp()
            )
            if count >= touchpoint.max_per_day:
                return InvitationState.SUPPRESSED, f"max_per_day = {touchpoint.max_per_day} reached"
        return InvitationState.SCHEDULED, None


class _DryRun(Exception):
    def __init__(self, result: TriggerResult) -> None:
        super().__init__("dry run")
        self.result = result


def _preview(invitation_id: int, new: NewInvitation) -> Invitation:
    return Invitation(
        id=invitation_id,
        touchpoint_id=0,
        contact_id=new.contact_id,
        survey_id=new.survey_id,
        touchpoint=new.touchpoint,
        channel=new.channel,
        state=new.state,
        reason=new.reason,
        language=new.language,
        token=None,
        due_at=new.due_at,
        remind_at=new.remind_at,
        expires_at=new.expires_at,
        sent_at=None,
        completed_at=None,
        properties=dict(new.properties),
    )


def _property_text(key: object, value: object) -> str:
    if isinstance(value, dict | list):
        raise TriggerError(f"properties.{key}", "must be a text or a number, not a nested value")
    return str(value)


def describe_due(invitation: Invitation, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(invitation.due_at, ZoneInfo(timezone)).strftime(
        "%Y-%m-%d %H:%M %Z"
    )
