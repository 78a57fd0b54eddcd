"""Closing the loop on detractors: the alert, who takes it, and when it is resolved.

An answer at or below the alert rules opens a follow-up and queues an alert to every team
chat in the same transaction. The alert's buttons (`f:<id>:claim`, `f:<id>:resolve`) come back
as `Incoming` button presses; each change re-renders every copy of the alert from the stored
state, so the copies agree whatever order the presses and sends happen in.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from bot.alerts import (
    CLAIM,
    alert_document,
    is_alert_message,
    parse_followup_payload,
    raises_alert,
)
from bot.channels.base import Incoming
from bot.clock import Clock
from bot.config import Config
from bot.erasure import erased_notice
from bot.reports.render import team_payload
from conversations.engine import Conversation, Step
from conversations.localization import render, resolve
from conversations.questions import QuestionKind
from storage.erasure import PostedMessage
from storage.followups import Followup
from storage.outbox import PRIORITY_ALERT
from storage.records import Invitation, OutboxMessage
from storage.store import Store
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

ResolvedHook = Callable[[UnitOfWork, Followup], Awaitable[None]]


def report_targets(config: Config) -> list[tuple[str, str]]:
    """`[team] report_to` as (channel, address) pairs: "slack:C0123" → ("slack", "C0123")."""
    targets = []
    for target in config.team.report_to:
        channel, _, address = target.partition(":")
        targets.append((channel, address))
    return targets


class FollowupService:
    def __init__(
        self, store: Store, config: Config, clock: Clock, wake: Callable[[], None]
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.wake = wake
        self.language = config.defaults.language
        self.zone = ZoneInfo(config.team.timezone)
        self.on_resolved: list[ResolvedHook] = []
        self.reply_channels: set[str] = set()
        """Customers on these channels can be written to from the alert (see bot.relay)."""
        """Run in the transaction that resolves a follow-up (the `followup.resolved` webhook)."""

    # ------------------------------------------------------------------ answers

    async def on_answer(
        self,
        connection: UnitOfWork,
        invitation: Invitation,
        conversation: Conversation,
        step: Step,
    ) -> None:
        """SurveyService listener, in the answer's transaction: open a follow-up for a detractor,
        update its alerts with later comments."""
        question = step.question
        if question is None:
            return
        if raises_alert(self.config.team.alerts, question, step.value):
            # The first alerting answer opens the follow-up; the invitation has one at most.
            await self.open_in(connection, invitation.id, question.id)
            return
        if question.kind is QuestionKind.TEXT and step.value:
            followup = await self.store.followups.for_invitation(invitation.id)
            if followup is not None:
                await self.refresh_in(connection, followup.id)

    async def open(self, invitation_id: int, question_id: str | None = None) -> int | None:
        """Open a follow-up and queue its alerts; None when the invitation already has one."""
        async with self.store.database.transaction() as connection:
            followup_id = await self.open_in(connection, invitation_id, question_id)
        self.wake()
        return followup_id

    async def open_in(
        self, connection: UnitOfWork, invitation_id: int, question_id: str | None = None
    ) -> int | None:
        """`question_id`: the answer that raised the alert, whose score the alert shows."""
        now = self.clock.now()
        followup_id = await self.store.followups.create(
            connection, invitation_id, now=now, question_id=question_id
        )
        if followup_id is None:
            return None
        followup = await self.store.followups.get(followup_id)
        assert followup is not None
        payload = await self._payload(followup)
        for channel, address in report_targets(self.config):
            await self.store.followups.add_message(connection, followup_id, channel, address)
            await self.store.outbox.enqueue(
                connection,
                channel=channel,
                address=address,
                kind="team",
                payload=payload,
                priority=PRIORITY_ALERT,
                now=now,
            )
        log.info("detractor alert #%s opened for invitation %s", followup_id, invitation_id)
        return followup_id

    # ------------------------------------------------------------------ rendering

    async def _comments(self, followup: Followup) -> list[tuple[str, str]]:
        answers, _skipped = await self.store.answers.for_invitation(followup.invitation_id)
        survey = self.config.surveys.get(followup.survey_id)
        found = []
        for question_id, value in answers.items():
            if not isinstance(value, str) or isinstance(value, bool):
                continue
            label = question_id
            if survey is not None:
                try:
                    question = survey.question(question_id)
                    if question.kind is not QuestionKind.TEXT:
                        continue
                    label = render(
                        resolve(question.text, self.language, survey.default_language),
                        followup.properties,
                    )
                except (KeyError, ValueError):
                    pass
            found.append((label, value))
        return found

    async def _payload(self, followup: Followup) -> dict[str, object]:
        survey = self.config.surveys.get(followup.survey_id)
        document = alert_document(
            followup,
            survey,
            await self._comments(followup),
            language=self.language,
            zone=self.zone,
            can_reply=followup.contact_channel in self.reply_channels
            and not (survey is not None and survey.anonymous),
        )
        return {**team_payload(document), "followup_id": followup.id}

    async def refresh(self, followup_id: int) -> int:
        """Queue an edit of every alert already posted; returns how many."""
        async with self.store.database.transaction() as connection:
            count = await self.refresh_in(connection, followup_id)
        if count:
            self.wake()
        return count

    async def refresh_in(self, connection: UnitOfWork, followup_id: int) -> int:
        followup = await self.store.followups.get(followup_id)
        if followup is None:
            return 0
        payload = await self._payload(followup)
        messages = [m for m in await self.store.followups.messages(followup_id) if m.message_ref]
        for message in messages:
            await self._enqueue_edit(connection, message.channel, message.address,
                                     str(message.message_ref), payload)  # fmt: skip
        return len(messages)

    async def _enqueue_edit(
        self,
        connection: UnitOfWork,
        channel: str,
        address: str,
        message_ref: str,
        payload: dict[str, object],
    ) -> None:
        await self.store.outbox.enqueue(
            connection,
            channel=channel,
            address=address,
            kind="team_edit",
            payload={**payload, "message_ref": message_ref},
            priority=PRIORITY_ALERT,
            now=self.clock.now(),
        )

    async def on_sent(self, message: OutboxMessage, ref: str) -> None:
        """Dispatcher hook: remember where an alert landed; fix it if it changed meanwhile."""
        followup_id = message.payload.get("followup_id")
        if message.kind != "team" or not isinstance(followup_id, int):
            return
        await self.store.followups.set_message_ref(
            followup_id, message.channel, message.address, ref
        )
        followup = await self.store.followups.get(followup_id)
        if followup is None:
            # Erased while the alert was on its way (bot.erasure): it must not stay up as sent.
            notice = erased_notice(
                PostedMessage(message.channel, message.address, ref, followup_id), self.language
            )
            async with self.store.database.transaction() as connection:
                await self._enqueue_edit(connection, message.channel, message.address, ref, notice)
            self.wake()
            return
        payload = await self._payload(followup)
        if payload["text"] != message.payload.get("text"):
            async with self.store.database.transaction() as connection:
                await self._enqueue_edit(connection, message.channel, message.address, ref, payload)
            self.wake()

    # ------------------------------------------------------------------ buttons

    def handles(self, incoming: Incoming) -> bool:
        return parse_followup_payload(incoming.payload) is not None

    async def handle(self, incoming: Incoming) -> bool:
        """An alert button: take or resolve the follow-up. False when the press was ignored."""
        parsed = parse_followup_payload(incoming.payload)
        if parsed is None:
            return False
        followup_id, action = parsed
        if not await self._from_its_alert(followup_id, incoming):
            log.warning(
                "ignored a follow-up button for #%s from outside its alert (%s)",
                followup_id,
                incoming.channel,
            )
            return False
        return await self.act(followup_id, action, incoming.display_name or incoming.address)

    async def act(self, followup_id: int, action: str, who: str) -> bool:
        """Take (CLAIM) or resolve a follow-up as `who`, from an alert's button or the
        dashboard; every copy of its alert follows. False when it was taken or resolved already."""
        now = self.clock.now()
        async with self.store.database.transaction() as connection:
            if action == CLAIM:
                changed = await self.store.followups.claim(connection, followup_id, who, now=now)
            else:
                changed = await self.store.followups.resolve(connection, followup_id, who, now=now)
                if changed:
                    followup = await self.store.followups.get(followup_id)
                    assert followup is not None
                    for hook in self.on_resolved:
                        await hook(connection, followup)
        if changed:
            log.info("follow-up #%s: %s by %s", followup_id, action, who)
        # Refreshed even when nothing changed, so a stale copy of the alert catches up.
        await self.refresh(followup_id)
        return changed

    async def _from_its_alert(self, followup_id: int, incoming: Incoming) -> bool:
        """Only a press on one of the follow-up's own alerts (or in its chat) counts."""
        for message in await self.store.followups.messages(followup_id):
            if is_alert_message(message, incoming):
                return True
            if message.channel == incoming.channel and incoming.address == message.address:
                return True
        return False
