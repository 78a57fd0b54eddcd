"""Talking to a detractor from the alert: team replies go to the customer's chat, and the
customer's answers come back into the alert's thread, until the follow-up is resolved.

Adapters deliver a reply in a team chat (a Slack thread reply under the alert, a Telegram
reply to it) as `Incoming(TEXT)` whose `message_ref` is the alert's message ref. The customer
gets the text with the survey it is about; their later messages, while no survey of theirs is
open, are posted into the thread of every copy of the alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.alerts import is_alert_message
from bot.channels.base import Incoming, IncomingKind
from bot.channels.capacity import CAPACITIES
from bot.clock import Clock
from bot.config import Config
from bot.message_split import split_message
from conversations.texts import text
from storage.followups import Followup, FollowupMessage, ReplyDirection
from storage.outbox import PRIORITY_ALERT, PRIORITY_CONVERSATION
from storage.store import Store
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class ReplyRelay:
    def __init__(
        self, store: Store, config: Config, clock: Clock, wake: Callable[[], None]
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.wake = wake
        self.language = config.defaults.language
        self.reply_channels: set[str] = set()
        """Channels a customer can be written to (those that push messages)."""

    async def team_reply(self, incoming: Incoming) -> bool:
        """Relay a reply to an alert; False when `incoming` is not one (then nothing happens)."""
        if incoming.kind is not IncomingKind.TEXT or not incoming.message_ref:
            return False
        message = await self.store.followups.by_message(incoming.channel, incoming.message_ref)
        if message is None or not is_alert_message(message, incoming):
            return False
        followup = await self.store.followups.get(message.followup_id)
        if followup is None:
            return False
        author = incoming.display_name or incoming.address
        refusal = await self._refusal(followup)
        now = self.clock.now()
        async with self.store.database.transaction() as connection:
            if refusal is not None:
                await self._to_thread(connection, message, text(refusal, self.language))
            else:
                assert followup.contact_channel and followup.contact_address
                language = await self._customer_language(followup)
                survey = self.config.surveys.get(followup.survey_id)
                organisation = self.config.organisation.name
                title = (
                    survey.title_for_customer(language, organisation)
                    if survey
                    else text("survey_title_plain", language)
                )
                relayed = text(
                    "relay_to_customer", language, survey=title,
                    author=author.split(" ")[0], message=incoming.text,
                )  # fmt: skip
                for piece in _pieces(relayed, followup.contact_channel):
                    await self.store.outbox.enqueue(
                        connection,
                        channel=followup.contact_channel,
                        address=followup.contact_address,
                        kind="text",
                        payload={"text": piece},
                        priority=PRIORITY_CONVERSATION,
                        now=now,
                    )
                await self.store.followups.add_reply(
                    connection, followup.id, ReplyDirection.TO_CUSTOMER, incoming.text,
                    author=author, now=now,
                )  # fmt: skip
                copy = text("relay_team_copy", self.language, author=author, message=incoming.text)
                for other in await self.store.followups.messages(followup.id):
                    if other != message and other.message_ref:
                        await self._to_thread(connection, other, copy)
        self.wake()
        log.info("follow-up #%s: %s", followup.id, refusal or "team reply relayed to the customer")
        return True

    async def customer_message(self, incoming: Incoming, contact_id: int) -> bool:
        """Post a customer's message into the alert threads of the follow-up they are in."""
        followup = await self.store.followups.relaying_to(contact_id)
        if followup is None or incoming.kind is not IncomingKind.TEXT or not incoming.text:
            return False
        who = followup.contact_name or f"{followup.contact_channel}:{followup.contact_address}"
        note = text("relay_from_customer", self.language, customer=who, message=incoming.text)
        now = self.clock.now()
        async with self.store.database.transaction() as connection:
            for message in await self.store.followups.messages(followup.id):
                if message.message_ref:
                    await self._to_thread(connection, message, note)
            await self.store.followups.add_reply(
                connection, followup.id, ReplyDirection.FROM_CUSTOMER, incoming.text,
                author=who, now=now,
            )  # fmt: skip
        self.wake()
        return True

    async def _refusal(self, followup: Followup) -> str | None:
        """The text key explaining why a reply cannot be relayed, or None when it can."""
        survey = self.config.surveys.get(followup.survey_id)
        if followup.resolved_at is not None:
            return "relay_closed"
        if survey is not None and survey.anonymous:
            return "relay_anonymous"
        if (
            not followup.contact_channel
            or not followup.contact_address
            or followup.contact_channel not in self.reply_channels
        ):
            return "relay_unreachable"
        if followup.contact_id is not None:
            contact = await self.store.contacts.get(followup.contact_id)
            if contact is None or contact.unreachable_at is not None:
                return "relay_unreachable"
            if contact.opted_out_at is not None:
                return "relay_opted_out"
        return None

    async def _customer_language(self, followup: Followup) -> str:
        invitation = await self.store.invitations.get(followup.invitation_id)
        if invitation is not None and invitation.language:
            return invitation.language
        contact = (
            await self.store.contacts.get(followup.contact_id) if followup.contact_id else None
        )
        return (contact.language if contact else None) or self.config.defaults.language

    async def _to_thread(self, connection: UnitOfWork, message: FollowupMessage, note: str) -> None:
        assert message.message_ref is not None
        for piece in _pieces(note, message.channel):
            await self.store.outbox.enqueue(
                connection,
                channel=message.channel,
                address=message.address,
                kind="team",
                payload={"text": piece, "thread_ref": message.message_ref},
                priority=PRIORITY_ALERT,
                now=self.clock.now(),
            )


def _pieces(message: str, channel: str) -> list[str]:
    """A relayed message as the channel can take it: several messages (in order, one chat's
    outbox keeps them so) when it is longer than one message of that channel may be."""
    capacity = CAPACITIES.get(channel)
    if capacity is None:
        return [message]
    return split_message(message, capacity.max_text_length)
