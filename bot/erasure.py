"""Forgetting a person (`palaute forget`, /delete in Telegram and Slack): their data, the
team's copies and the webhook subscribers' copies.

In one transaction: every row of theirs is deleted (storage.erasure), each alert about them
already posted in a team chat, and each note of theirs relayed into an alert's thread, gets
a `team_edit` that replaces it with a note saying it was erased, and every webhook gets a
signed `contact.erased` event naming the invitation and follow-up ids it was sent before
(nothing else: no address, name or text). Then the WAL is checkpointed, so that the deleted
rows are gone from the file's bytes as well. Someone who had opted out stays opted out, as a
keyed hash (storage.suppressions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Config
from bot.reports.render import Line, Section, TeamDocument, team_payload
from bot.webhooks import WebhookPublisher
from conversations.texts import text
from storage.erasure import Erased, PostedMessage
from storage.outbox import PRIORITY_ALERT, PRIORITY_CONVERSATION
from storage.store import Store
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

ERASE_WHEN_SENT = "erase_when_sent"
"""Outbox payload flag: the row is deleted once sent (the confirmation of an erasure)."""


@dataclass(frozen=True)
class Confirmation:
    """The reply that tells the person it is done, queued in the erasure's transaction."""

    channel: str
    address: str
    text: str


@dataclass(frozen=True)
class ErasureResult:
    erased: Erased
    team_edits: int
    webhook_events: int
    checkpointed: bool


def erased_notice(message: PostedMessage, language: str) -> dict[str, object]:
    """The `team_edit` payload that replaces an alert (or a note in its thread)."""
    if message.followup_id is not None:
        document = TeamDocument(
            title=text("alert_erased_title", language, id=message.followup_id),
            sections=(Section(None, (Line(text("alert_erased", language)),)),),
        )
    else:
        document = TeamDocument(title=text("relay_erased", language))
    return {**team_payload(document), "message_ref": message.message_ref}


class ErasureService:
    def __init__(
        self, store: Store, config: Config, clock: Clock, wake: Callable[[], None]
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.wake = wake
        self.webhooks = WebhookPublisher(store, config, clock, wake)

    async def forget(
        self,
        *,
        channel: str | None = None,
        address: str | None = None,
        ref: str | None = None,
        confirmation: Confirmation | None = None,
    ) -> ErasureResult:
        """Erase everyone stored under this identity (however its address was spelled)."""
        now = self.clock.now()
        async with self.store.database.transaction() as connection:
            contacts = await self.store.contacts.matching(
                connection, channel=channel, address=address, ref=ref
            )
            erased = await self.store.erasure.erase(connection, contacts, now=now)
            edits = await self._tell_the_team(connection, erased.posted, now)
            events = 0
            if erased.invitation_ids:
                events = await self.webhooks.on_erased(
                    connection, erased.invitation_ids, erased.followup_ids
                )
            if confirmation is not None:
                await self.store.outbox.enqueue(
                    connection,
                    channel=confirmation.channel,
                    address=confirmation.address,
                    kind="text",
                    payload={"text": confirmation.text, "rows": [], ERASE_WHEN_SENT: True},
                    priority=PRIORITY_CONVERSATION,
                    now=now,
                )
        self.wake()
        checkpointed = await self.store.database.checkpoint() if erased.contacts else True
        if not checkpointed:
            log.warning(
                "erased a contact, but the database's write-ahead log could not be emptied"
                " (a long read held it); it is emptied at the next checkpoint"
            )
        log.info(
            "erased %d contact(s): %d invitation(s), %d outbox and %d inbox row(s),"
            " %d team message(s) to edit, %d webhook event(s)",
            erased.contacts, len(erased.invitation_ids), erased.outbox_rows, erased.inbox_rows,
            edits, events,
        )  # fmt: skip
        return ErasureResult(erased, edits, events, checkpointed)

    async def _tell_the_team(
        self, connection: UnitOfWork, posted: list[PostedMessage], now: float
    ) -> int:
        language = self.config.defaults.language
        for message in posted:
            await self.store.outbox.enqueue(
                connection,
                channel=message.channel,
                address=message.address,
                kind="team_edit",
                payload=erased_notice(message, language),
                priority=PRIORITY_ALERT,
                now=now,
            )
        return len(posted)
