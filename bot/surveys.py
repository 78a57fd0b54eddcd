"""Running conversations: starting a survey, taking an answer, and what the customer sees next.

Every answer is committed in the same transaction as the messages it causes (the edit of the
tapped question, the next question or the thanks), so an answer the customer saw accepted is
never lost and its follow-up messages survive a restart in the outbox.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.channels.base import Button, OutgoingPrompt
from bot.channels.capacity import CAPACITIES
from bot.clock import Clock
from bot.config import Config
from bot.survey_fit import fitted_echo
from bot.tokens import decode_id, encode_id
from conversations.engine import Conversation, Done, Prompt, Step
from conversations.localization import pick_language
from conversations.questions import AnswerValue
from conversations.survey import Survey
from conversations.texts import text
from storage.outbox import ANSWERS_CUSTOMER, PRIORITY_CONVERSATION, PRIORITY_INVITATION
from storage.records import Invitation, InvitationState
from storage.store import Store
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

ANSWER_PREFIX = "a"
"""`a:<invitation>:<question index>:<value>`: buttons sent before option keys (still accepted)."""
OPTION_PREFIX = "o"
"""`o:<invitation>:<question index>:<option key>`: every button palaute sends now."""
OPT_OUT_PAYLOAD = "stop"


@dataclass(frozen=True)
class AnswerPayload:
    invitation_id: int
    question_index: int
    value: str | None = None
    """The answer itself (old buttons); None when the button names an option by its key."""
    option_key: str | None = None


def option_key(value: str) -> str:
    """A short, stable name of an option's value: at most 8 characters whatever the value.

    A digest rather than the option's position, so that reordering a question's choices in the
    config never turns a tap on a message already sent into another choice.
    """
    return encode_id(int.from_bytes(hashlib.sha256(value.encode()).digest()[:5], "big"))


def answer_payload(invitation_id: int, question_index: int, value: str) -> str:
    """Button payload for an answer: at most 28 bytes, so it fits Telegram's 64-byte callback
    data (and any platform's button value) whatever the label or value of the option."""
    return f"{OPTION_PREFIX}:{encode_id(invitation_id)}:{question_index}:{option_key(value)}"


def parse_answer_payload(payload: str) -> AnswerPayload | None:
    """None for anything that is not a well-formed answer payload (forged or from elsewhere)."""
    parts = payload.split(":", 3)
    if len(parts) != 4 or parts[0] not in (ANSWER_PREFIX, OPTION_PREFIX):
        return None
    try:
        invitation_id, question_index = decode_id(parts[1]), int(parts[2])
    except ValueError:
        return None
    if parts[0] == ANSWER_PREFIX:
        return AnswerPayload(invitation_id, question_index, value=parts[3])
    return AnswerPayload(invitation_id, question_index, option_key=parts[3])


@dataclass(frozen=True)
class AnswerOutcome:
    """What one reply led to, for channels that render the result themselves (the web)."""

    conversation: Conversation | None
    step: Step | None
    closed: bool = False
    """The invitation expired or is unknown: the answer was not stored."""

    @property
    def next(self) -> Prompt | Done | None:
        return self.conversation.prompt() if self.conversation else None


AnswerListener = Callable[[UnitOfWork, Invitation, Conversation, Step], Awaitable[None]]
"""Called inside the transaction that stores an answer, so that what it queues (an alert, a
webhook) is committed with the answer or not at all. It must not open a transaction itself."""


class SurveyService:
    def __init__(
        self, store: Store, config: Config, clock: Clock, wake: Callable[[], None]
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.wake = wake
        self.listeners: list[AnswerListener] = []
        self.pushing_channels: set[str] = set()

    def survey(self, invitation: Invitation) -> Survey:
        return self.config.surveys[invitation.survey_id]

    def language_for(self, survey: Survey, *candidates: str | None) -> str:
        return pick_language(
            [*candidates, self.config.defaults.language], survey.languages, survey.default_language
        )

    async def conversation(self, invitation: Invitation) -> Conversation:
        survey = self.survey(invitation)
        answers, skipped = await self.store.answers.for_invitation(invitation.id)
        return Conversation(
            survey=survey,
            language=self.language_for(survey, invitation.language),
            properties=invitation.properties,
            answers=answers,
            skipped=frozenset(skipped),
        )

    def outgoing(
        self, invitation: Invitation, conversation: Conversation, prompt: Prompt
    ) -> OutgoingPrompt:
        index = next(
            i for i, q in enumerate(conversation.survey.questions) if q.id == prompt.question_id
        )
        rows = tuple(
            tuple(
                Button(option.label, answer_payload(invitation.id, index, option.value))
                for option in row
            )
            for row in prompt.rows
        )
        return OutgoingPrompt(text=prompt.text, rows=rows)

    def prompt_payload(
        self,
        invitation: Invitation,
        conversation: Conversation,
        prompt: Prompt,
        *,
        intro: str | None = None,
    ) -> dict[str, object]:
        """The outbox payload of a question: its text, buttons and (first time) the greeting."""
        outgoing = self.outgoing(invitation, conversation, prompt)
        payload: dict[str, object] = {
            "text": outgoing.text,
            "rows": [
                [{"label": b.label, "payload": b.payload} for b in row] for row in outgoing.rows
            ],
            "question_id": prompt.question_id,
        }
        if intro:
            payload["intro"] = intro
        return payload

    async def enqueue_start(
        self,
        connection: UnitOfWork,
        invitation: Invitation,
        address: str,
        *,
        reminder: bool = False,
    ) -> None:
        """Queue the greeting and the current question (the first, or where a reminder resumes)."""
        conversation = await self.conversation(invitation)
        prompt = conversation.prompt()
        if not isinstance(prompt, Prompt):
            return
        intro = text("reminder", conversation.language) if reminder else conversation.intro
        await self.store.outbox.enqueue(
            connection,
            channel=invitation.channel or "",
            address=address,
            kind="prompt",
            payload=self.prompt_payload(invitation, conversation, prompt, intro=intro),
            invitation_id=invitation.id,
            priority=PRIORITY_INVITATION,
            now=self.clock.now(),
        )

    async def go_back(self, invitation_id: int, question_index: int) -> Conversation | None:
        """Withdraw the answer before the question at `question_index` (the one on the
        customer's screen), so that it is asked again. None when the survey is not being
        answered any more (finished, expired); unchanged when the screen was out of date."""
        now = self.clock.now()
        async with self.store.database.transaction() as connection:
            invitation = await self.store.invitations.get(invitation_id)
            if (
                invitation is None
                or invitation.state is not InvitationState.ANSWERING
                or (invitation.expires_at is not None and now >= invitation.expires_at)
            ):
                return None
            conversation = await self.conversation(invitation)
            prompt = conversation.prompt()
            questions = conversation.survey.questions
            on_screen = (
                questions[question_index].id if 0 <= question_index < len(questions) else None
            )
            if not isinstance(prompt, Prompt) or prompt.question_id != on_screen:
                return conversation  # a second press, or an old page: nothing to undo
            await self.store.answers.withdraw_last(connection, invitation.id)
        return await self.conversation(invitation)

    async def answer(
        self,
        invitation_id: int,
        raw: str,
        *,
        channel: str,
        address: str | None,
        question_index: int | None = None,
        message_ref: str | None = None,
        option: str | None = None,
    ) -> AnswerOutcome:
        """Store one reply and queue what follows. `address` is where the customer is (None: web).

        `option` is the key of the tapped button's option (`option_key`); it stands for `raw`.
        """
        now = self.clock.now()
        pushes = channel in self.pushing_channels and address is not None
        async with self.store.database.transaction() as connection:
            invitation = await self.store.invitations.get(invitation_id)
            if invitation is None:
                return AnswerOutcome(None, None, closed=True)
            expired = invitation.state is InvitationState.EXPIRED or (
                invitation.expires_at is not None
                and now >= invitation.expires_at
                and invitation.state is not InvitationState.COMPLETED
            )
            if expired:
                if invitation.state is not InvitationState.EXPIRED:
                    await self.store.invitations.transition(
                        connection,
                        invitation.id,
                        InvitationState.EXPIRED,
                        now=now,
                        reason="answered after expiry",
                    )
                if pushes and address is not None:
                    await self._enqueue_text(
                        connection, channel, address, text("survey_closed", invitation.language)
                    )
                return AnswerOutcome(None, None, closed=True)
            if invitation.state not in (
                InvitationState.SENT,
                InvitationState.ANSWERING,
                InvitationState.COMPLETED,
            ):
                return AnswerOutcome(None, None, closed=True)
            conversation = await self.conversation(invitation)
            question_id = None
            if question_index is not None:
                questions = conversation.survey.questions
                if not 0 <= question_index < len(questions):
                    log.warning(
                        "ignored an answer for question %s of invitation %s",
                        question_index,
                        invitation_id,
                    )
                    return AnswerOutcome(conversation, None)
                question_id = questions[question_index].id
                if option is not None:
                    chosen = [
                        o.value
                        for o in conversation.options(questions[question_index])
                        if option_key(o.value) == option
                    ]
                    if len(chosen) != 1:
                        log.warning(
                            "ignored a tap on an option no longer offered, invitation %s",
                            invitation_id,
                        )
                        return AnswerOutcome(conversation, None)
                    raw = chosen[0]
            step = conversation.answer(raw, question_id)
            if step.stale or step.question is None:
                return AnswerOutcome(conversation, step)
            if not step.accepted:
                if pushes and address is not None and step.reprompt:
                    await self._enqueue_text(connection, channel, address, step.reprompt)
                return AnswerOutcome(conversation, step)
            stored = await self.store.answers.insert(
                connection, invitation, channel, step.question, step.value, now=now
            )
            if not stored:
                return AnswerOutcome(conversation, step)
            finished = step.conversation.finished
            await self.store.invitations.transition(
                connection,
                invitation.id,
                InvitationState.COMPLETED if finished else InvitationState.ANSWERING,
                now=now,
            )
            if pushes and address is not None:
                await self._enqueue_after_answer(connection, invitation, step, address, message_ref)
            for listener in self.listeners:
                # A failing listener loses its own work, never the customer's answer.
                try:
                    async with connection.savepoint():
                        await listener(connection, invitation, step.conversation, step)
                except Exception:
                    log.exception("an answer listener failed for invitation %s", invitation.id)
        self.wake()
        return AnswerOutcome(step.conversation, step)

    async def _enqueue_after_answer(
        self,
        connection: UnitOfWork,
        invitation: Invitation,
        step: Step,
        address: str,
        message_ref: str | None,
    ) -> None:
        assert step.question is not None
        channel = invitation.channel or ""
        ref = message_ref or await self.store.prompts.find(
            connection, invitation.id, step.question.id
        )
        conversation = step.conversation
        now = self.clock.now()
        if ref:
            capacity = CAPACITIES.get(channel)
            echo = fitted_echo(
                conversation,
                step.question,
                step.value,
                capacity.max_text_length if capacity else None,
            )
            await self.store.outbox.enqueue(
                connection,
                channel=channel,
                address=address,
                kind="edit",
                payload={"message_ref": ref, "text": echo},
                invitation_id=invitation.id,
                priority=PRIORITY_CONVERSATION,
                now=now,
            )
        following = conversation.prompt()
        if isinstance(following, Prompt):
            await self.store.outbox.enqueue(
                connection,
                channel=channel,
                address=address,
                kind="prompt",
                payload=self.prompt_payload(invitation, conversation, following),
                invitation_id=invitation.id,
                priority=PRIORITY_CONVERSATION,
                now=now,
            )
        else:
            await self.store.outbox.enqueue(
                connection,
                channel=channel,
                address=address,
                kind="text",
                payload={
                    "text": following.text,
                    "rows": [
                        [
                            {
                                "label": text("opt_out_button", conversation.language),
                                "payload": OPT_OUT_PAYLOAD,
                            }
                        ]
                    ],
                },
                invitation_id=invitation.id,
                priority=PRIORITY_CONVERSATION,
                now=now,
            )

    async def _enqueue_text(
        self, connection: UnitOfWork, channel: str, address: str, message: str
    ) -> None:
        await self.store.outbox.enqueue(
            connection,
            channel=channel,
            address=address,
            kind="text",
            payload={"text": message, ANSWERS_CUSTOMER: True},
            priority=PRIORITY_CONVERSATION,
            now=self.clock.now(),
        )
        # The callers return early, past answer()'s own wake; claiming waits for this commit.
        self.wake()

    async def send_text(
        self,
        channel: str,
        address: str,
        message: str,
        rows: list[list[dict[str, str]]] | None = None,
    ) -> None:
        """Queue a plain reply (command answers, confirmations) at conversation priority."""
        async with self.store.database.transaction() as connection:
            await self.store.outbox.enqueue(
                connection,
                channel=channel,
                address=address,
                kind="text",
                payload={"text": message, "rows": rows or [], ANSWERS_CUSTOMER: True},
                priority=PRIORITY_CONVERSATION,
                now=self.clock.now(),
            )
        self.wake()

    async def record_answer_value(
        self, invitation: Invitation, question_id: str, value: AnswerValue | None
    ) -> None:
        """Used by tools that import answers; goes through the same insert as live answers."""
        survey = self.survey(invitation)
        async with self.store.database.transaction() as connection:
            await self.store.answers.insert(
                connection,
                invitation,
                invitation.channel or "import",
                survey.question(question_id),
                value,
                now=self.clock.now(),
            )
