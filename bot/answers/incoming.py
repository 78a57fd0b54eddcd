"""What palaute does with a message from a chat: commands, button taps and typed answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.answers.surveys import OPT_OUT_PAYLOAD, SurveyService, parse_answer_payload
from bot.channels.base import Incoming, IncomingKind
from bot.channels.registry import channel_text
from bot.clock import Clock
from bot.config import DefaultsConfig
from bot.delivery.triggers import ContactSpec, TriggerError, TriggerRequest, TriggerService
from bot.erasure import Confirmation, ErasureService
from bot.team.followups import FollowupService
from bot.team.relay import ReplyRelay
from bot.tokens import InvalidToken, TokenKind, TokenSigner, decode_id
from conversations.localization import normalize_language
from conversations.texts import text
from storage.audiences import AudienceRepository
from storage.contacts import ContactRepository
from storage.invitations import InvitationRepository
from storage.records import Invitation, InvitationState
from storage.unit_of_work import DatabaseBackend

log = logging.getLogger(__name__)

DELETE_PAYLOAD = "delete"


@dataclass(frozen=True)
class IncomingStorage:
    """What `IncomingHandler` reads and writes itself (the services it calls keep their own)."""

    database: DatabaseBackend
    contacts: ContactRepository
    invitations: InvitationRepository
    audiences: AudienceRepository


@dataclass(frozen=True)
class IncomingSettings:
    """The config `IncomingHandler` reads: the default language, and audiences' names."""

    defaults: DefaultsConfig
    audience_name: Callable[[str, str], str | None]
    """What customers see an audience called in a language (`Config.audience_name`)."""


class IncomingHandler:
    def __init__(
        self,
        store: IncomingStorage,
        config: IncomingSettings,
        clock: Clock,
        *,
        surveys: SurveyService,
        triggers: TriggerService,
        followups: FollowupService,
        relay: ReplyRelay,
        erasure: ErasureService,
        signer: TokenSigner,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.surveys = surveys
        self.triggers = triggers
        self.followups = followups
        """Takes the team's alert buttons (`f:<id>:claim`) before any customer handling."""
        self.relay = relay
        """Takes team replies to alerts, and customers' answers to them."""
        self.erasure = erasure
        self.signer = signer

    async def __call__(self, incoming: Incoming) -> None:
        try:
            await self.handle(incoming)
        except Exception:
            log.exception("handling a %s message from %s failed", incoming.channel, incoming.kind)
            await self.surveys.send_text(
                incoming.channel, incoming.address, text("apology", incoming.language)
            )

    async def handle(self, incoming: Incoming) -> None:
        if incoming.kind is IncomingKind.BUTTON and self.followups.handles(incoming):
            await self.followups.handle(incoming)
            return
        if await self.relay.team_reply(incoming):
            return
        if incoming.shared_chat:
            # A team chat is nobody's survey: what is not about an alert there is left alone.
            log.debug("ignored a %s %s in a shared chat", incoming.channel, incoming.kind)
            return
        language = normalize_language(incoming.language)
        async with self.store.database.transaction() as connection:
            contact_id = await self.store.contacts.ensure(
                connection,
                channel=incoming.channel,
                address=incoming.address,
                now=self.clock.now(),
                display_name=incoming.display_name,
                language=language,
            )
        contact = await self.store.contacts.get(contact_id)
        assert contact is not None
        if contact.unreachable_at is not None:
            await self.store.contacts.set_reachable(contact_id)
        language = contact.language or language
        reply_language = language or self.config.defaults.language
        if incoming.kind is IncomingKind.COMMAND:
            await self._command(
                incoming, contact_id, reply_language, contact.opted_out_at is not None
            )
            return
        if incoming.kind is IncomingKind.BUTTON:
            await self._button(incoming, contact_id, reply_language)
            return
        invitation = await self.store.invitations.open_for_contact(contact_id)
        if invitation is None and await self.relay.customer_message(incoming, contact_id):
            return
        if invitation is None:
            await self.surveys.send_text(
                incoming.channel,
                incoming.address,
                channel_text("help", incoming.channel, reply_language),
            )
            return
        await self.surveys.answer(
            invitation.id, incoming.text, channel=incoming.channel, address=incoming.address
        )

    async def _button(self, incoming: Incoming, contact_id: int, language: str) -> None:
        payload = incoming.payload or ""
        if payload == OPT_OUT_PAYLOAD:
            await self.store.contacts.set_opted_out(
                contact_id, True, now=self.clock.now(), reason="pressed opt-out button"
            )
            await self.surveys.send_text(
                incoming.channel,
                incoming.address,
                channel_text("stopped", incoming.channel, language),
            )
            return
        if payload == DELETE_PAYLOAD:
            await self.erasure.forget(
                channel=incoming.channel,
                address=incoming.address,
                confirmation=Confirmation(
                    incoming.channel, incoming.address, text("deleted", language)
                ),
            )
            return
        parsed = parse_answer_payload(payload)
        if parsed is None:
            log.warning("ignored a button with an unknown payload from %s", incoming.channel)
            return
        invitation = await self.store.invitations.get(parsed.invitation_id)
        if invitation is None or invitation.contact_id != contact_id:
            log.warning("ignored a forged or foreign answer button on %s", incoming.channel)
            return
        await self.surveys.answer(
            invitation.id,
            parsed.value or "",
            channel=incoming.channel,
            address=incoming.address,
            question_index=parsed.question_index,
            message_ref=incoming.message_ref,
            option=parsed.option_key,
        )

    async def _command(
        self, incoming: Incoming, contact_id: int, language: str, opted_out: bool
    ) -> None:
        command = (incoming.command or "").lower()
        now = self.clock.now()
        reply = incoming.address
        if command == "start":
            if opted_out:
                await self.store.contacts.set_opted_out(contact_id, False, now=now, reason="")
            if incoming.payload:
                await self._start_payload(incoming, contact_id, language)
                return
            await self.surveys.send_text(
                incoming.channel,
                reply,
                channel_text("restarted" if opted_out else "welcome", incoming.channel, language),
            )
        elif command == "stop":
            await self.store.contacts.set_opted_out(
                contact_id, True, now=now, reason=f"sent /{command}"
            )
            await self.surveys.send_text(
                incoming.channel, reply, channel_text("stopped", incoming.channel, language)
            )
        elif command == "delete":
            await self.surveys.send_text(
                incoming.channel,
                reply,
                text("delete_confirm", language),
                rows=[[{"label": text("delete_button", language), "payload": DELETE_PAYLOAD}]],
            )
        else:
            await self.surveys.send_text(
                incoming.channel, reply, channel_text("help", incoming.channel, language)
            )

    async def _start_payload(self, incoming: Incoming, contact_id: int, language: str) -> None:
        try:
            token = self.signer.verify(incoming.payload or "")
        except InvalidToken as error:
            log.warning("ignored an invalid start link on %s: %s", incoming.channel, error)
            await self.surveys.send_text(
                incoming.channel, incoming.address, text("invalid_link", language)
            )
            return
        now = self.clock.now()
        if token.kind is TokenKind.JOIN:
            async with self.store.database.transaction() as connection:
                await self.store.audiences.add_member(
                    connection, token.value, contact_id, source=f"{incoming.channel} link", now=now
                )
            audience = self.config.audience_name(token.value, language)
            thanks = (
                text("joined", language, audience=audience)
                if audience
                else text("joined_plain", language)  # never the audience's internal id
            )
            await self.surveys.send_text(incoming.channel, incoming.address, thanks)
        elif token.kind is TokenKind.LINK_REF:
            ref_contact = await self.store.contacts.get(decode_id(token.value))
            chat = (incoming.channel, incoming.address)
            if (
                ref_contact is not None
                and ref_contact.channel
                and ((ref_contact.channel, ref_contact.address) != chat)
            ):
                # A forwarded personal link must not move someone else's data to this chat.
                log.warning("a personal link already linked elsewhere was opened on %s", chat[0])
                ref_contact = None
            if ref_contact is None or ref_contact.ref is None:
                await self.surveys.send_text(
                    incoming.channel, incoming.address, text("invalid_link", language)
                )
                return
            await self.store.contacts.link_ref(
                ref_contact.ref, incoming.channel, incoming.address, now=now
            )
            await self.surveys.send_text(
                incoming.channel, incoming.address, text("linked", language)
            )
        elif token.kind is TokenKind.OPEN_SURVEY:
            try:
                result = await self.triggers.trigger(
                    TriggerRequest(
                        touchpoint=token.value,
                        contact=ContactSpec(channel=incoming.channel, address=incoming.address),
                        occurred_at=now
                        - self.triggers.touchpoint(token.value).delay.total_seconds(),
                        idempotency_key=f"link:{token.value}:{incoming.channel}:{incoming.address}",
                        language=language,
                    )
                )
            except TriggerError as error:
                log.warning("a survey link could not start: %s", error)
                await self.surveys.send_text(
                    incoming.channel, incoming.address, text("invalid_link", language)
                )
                return
            if not result.created:
                await self._reopen(incoming, result.invitation, language)
        else:
            await self.surveys.send_text(
                incoming.channel, incoming.address, text("invalid_link", language)
            )

    async def _reopen(self, incoming: Incoming, invitation: Invitation, language: str) -> None:
        """A survey link opened again: the question where they left off, or a note it is done."""
        if invitation.state is InvitationState.COMPLETED:
            await self.surveys.send_text(
                incoming.channel, incoming.address, text("survey_done", language)
            )
        elif invitation.state in (InvitationState.SENT, InvitationState.ANSWERING):
            async with self.store.database.transaction() as connection:
                await self.surveys.enqueue_start(connection, invitation, incoming.address)
            self.surveys.wake()
