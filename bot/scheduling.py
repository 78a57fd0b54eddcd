"""The periodic work, driven by APScheduler: due invitations, reminders, expiry, recurring surveys."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.config import Config
from bot.surveys import SurveyService
from bot.triggers import ContactSpec, TriggerRequest, TriggerService
from storage.database import StorageError
from storage.records import Invitation, InvitationState
from storage.store import Store
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
RECURRING_HORIZON = timedelta(hours=6)
"""How often recurring surveys are planned, and how far ahead."""


class InvitationScheduler:
    """Turns due invitations into outbox messages; reminders and expiry on the same tick."""

    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Clock,
        surveys: SurveyService,
        triggers: TriggerService,
        wake: Callable[[], None],
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.surveys = surveys
        self.triggers = triggers
        self.wake = wake
        self.scheduler: AsyncIOScheduler | None = None
        self._tick_lock = asyncio.Lock()

    def start(self, scheduler: AsyncIOScheduler) -> None:
        self.scheduler = scheduler
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=TICK_SECONDS,
            id="invitations",
            max_instances=1,
            coalesce=True,
        )
        if any(tp.every for tp in self.config.touchpoints.values()):
            scheduler.add_job(
                self.plan_recurring,
                "interval",
                hours=6,
                id="recurring",
                max_instances=1,
                coalesce=True,
            )

    async def tick(self) -> int:
        """One pass; returns how many invitations were started. Safe to call at any time."""
        async with self._tick_lock:
            return await self._tick()

    async def _tick(self) -> int:
        now = self.clock.now()
        started = 0
        # One conversation per chat: a typed answer belongs to the survey that is open there.
        due = await self.store.invitations.due(now, one_at_a_time=self.surveys.pushing_channels)
        for invitation in due:
            try:
                started += await self._start(invitation, now)
            except StorageError:
                raise  # the database, not this invitation: the next tick tries again
            except Exception as error:
                # One invitation that cannot be prepared must not hold back every later one.
                await self._fail(invitation, prepare_failure(error), now)
        for invitation in await self.store.invitations.reminders_due(now):
            try:
                await self._remind(invitation, now)
            except StorageError:
                raise
            except Exception as error:
                log.warning(
                    "the reminder of invitation %s is skipped: %s",
                    invitation.id,
                    prepare_failure(error),
                )
                async with self.store.database.transaction() as connection:
                    await self.store.invitations.mark_reminded(connection, invitation.id, now)
        expired = await self.store.invitations.expire_overdue(now)
        if expired:
            log.info("%d invitation(s) expired unanswered", expired)
        if started:
            self.wake()
        return started

    async def _start(self, invitation: Invitation, now: float) -> int:
        """Queue one due invitation; 1 when its survey was queued. Every state change is a
        compare-and-set from `scheduled`: a second tick (or process) that read the same due
        invitation changes nothing and queues nothing."""
        scheduled = InvitationState.SCHEDULED
        async with self.store.database.transaction() as connection:
            contact = (
                await self.store.contacts.get(invitation.contact_id)
                if invitation.contact_id
                else None
            )
            if contact is None or not contact.channel or not contact.address:
                return await self._hold(
                    connection,
                    invitation.id,
                    InvitationState.UNREACHABLE,
                    f"no chat identity is linked to {contact.label if contact else 'this contact'}",
                    now,
                )
            if contact.opted_out_at is not None:
                return await self._hold(
                    connection,
                    invitation.id,
                    InvitationState.SUPPRESSED,
                    "the contact opted out of surveys",
                    now,
                )
            if contact.channel == "web":
                # A web contact answers at its link; there is nothing to push.
                if await self.store.invitations.transition(
                    connection, invitation.id, InvitationState.SENT, now=now, expected=scheduled
                ):
                    # The link is with the customer from now on: the response rate counts it.
                    await self.store.invitations.stamp_sent(connection, invitation.id, now=now)
                return 0
            if contact.channel not in self.surveys.pushing_channels:
                return await self._hold(
                    connection,
                    invitation.id,
                    InvitationState.FAILED,
                    f"the {contact.channel} channel is not configured",
                    now,
                )
            if invitation.survey_id not in self.config.surveys:
                return await self._hold(
                    connection,
                    invitation.id,
                    InvitationState.FAILED,
                    f"its survey {invitation.survey_id!r} is no longer in the config",
                    now,
                )
            if not await self.store.invitations.transition(
                connection, invitation.id, InvitationState.SENT, now=now, expected=scheduled
            ):
                return 0  # another tick took it
            if invitation.channel != contact.channel:
                await self.store.invitations.set_channel(connection, invitation.id, contact.channel)
                invitation = replace(invitation, channel=contact.channel)
            await self.surveys.enqueue_start(connection, invitation, contact.address)
            return 1

    async def _hold(
        self,
        connection: UnitOfWork,
        invitation_id: int,
        state: InvitationState,
        reason: str,
        now: float,
    ) -> int:
        """Keep a due invitation from going out, with its reason (compare-and-set from
        `scheduled`, like every change here); nothing was queued."""
        await self.store.invitations.transition(
            connection,
            invitation_id,
            state,
            now=now,
            reason=reason,
            expected=InvitationState.SCHEDULED,
        )
        return 0

    async def _fail(self, invitation: Invitation, reason: str, now: float) -> None:
        log.warning("invitation %s failed: %s", invitation.id, reason)
        async with self.store.database.transaction() as connection:
            await self._hold(connection, invitation.id, InvitationState.FAILED, reason, now)

    async def _remind(self, invitation: Invitation, now: float) -> None:
        async with self.store.database.transaction() as connection:
            contact = (
                await self.store.contacts.get(invitation.contact_id)
                if invitation.contact_id
                else None
            )
            if not await self.store.invitations.mark_reminded(connection, invitation.id, now):
                return  # reminded by another tick meanwhile
            if (
                contact
                and contact.address
                and contact.opted_out_at is None
                and contact.channel in self.surveys.pushing_channels
            ):
                await self.surveys.enqueue_start(
                    connection, invitation, contact.address, reminder=True
                )

    async def plan_recurring(self) -> int:
        """Relationship surveys (`every = "90d"`): each member once per period, spread evenly."""
        planned = 0
        now = self.clock.now()
        for touchpoint in self.config.touchpoints.values():
            if not touchpoint.every:
                continue
            period = touchpoint.every
            members = (
                await self.store.audiences.members(touchpoint.audience)
                if touchpoint.audience
                else []
            )
            seconds = period.total_seconds()
            for index, contact in enumerate(members):
                last = await self.store.invitations.last_due_for(contact.id, touchpoint.id)
                if last is None:
                    # First cycle: spread the audience evenly over one period from now.
                    when = now + seconds * index / max(len(members), 1)
                elif last + seconds > now + RECURRING_HORIZON.total_seconds():
                    continue
                else:
                    when = max(last + seconds, now)
                request = TriggerRequest(
                    touchpoint=touchpoint.id,
                    contact=ContactSpec(
                        channel=contact.channel,
                        address=contact.address,
                        ref=contact.ref if not contact.channel else None,
                    ),
                    occurred_at=when - touchpoint.delay.total_seconds(),
                    idempotency_key=f"every:{touchpoint.id}:{contact.id}:{int(when // seconds)}",
                )
                result = await self.triggers.trigger(request)
                planned += result.created
        return planned


def prepare_failure(error: Exception) -> str:
    """Why an invitation could not be prepared, for `palaute status` and the log."""
    if isinstance(error, KeyError):
        # str.format_map: a placeholder of the survey's texts that the touchpoint lacks.
        return f"could not be prepared: the property {error} is missing for the survey's texts"
    return f"could not be prepared: {type(error).__name__}: {error}"


def build_scheduler(timezone: str) -> AsyncIOScheduler:
    return AsyncIOScheduler(
        timezone=timezone,
        job_defaults={"misfire_grace_time": int(timedelta(hours=12).total_seconds())},
    )
