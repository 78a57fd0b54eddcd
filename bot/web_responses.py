"""Web survey responses: from a link and a browser to the conversation it shows and the answers it stores.

A personal link names one invitation. An open link names a touchpoint; each browser gets its own
invitation, created at its first answer rather than at the first view, so that link previews
and crawlers leave no empty responses behind and rate limiting only meets real answers. The
first view of each browser is recorded on its own (`link_views`), so that the link's response
rate is out of the browsers that saw the survey, and the invitation counts as sent at that view.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.clock import Clock
from bot.config import Config
from bot.link_params import InvalidLinkParams, LinkParams, read_link_params
from bot.surveys import SurveyService
from bot.tokens import InvalidToken, TokenKind, TokenSigner
from bot.triggers import ContactSpec, TriggerError, TriggerRequest, TriggerService
from bot.web_guard import IpRateLimiter
from conversations.engine import Conversation
from storage.records import Invitation, InvitationState
from storage.store import Store

CHANNEL = "web"
BROWSER_ONLY = "known only by a browser that answered an open link: no address to write to"
_MAX_TOKEN_LENGTH = 64


class LinkNotFound(LookupError):
    """The token is unknown, forged, or names a touchpoint this palaute no longer has."""


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after:.0f}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class OpenLink:
    touchpoint: str
    properties: dict[str, str]
    params: LinkParams

    def key(self, browser_id: str) -> str:
        """One response per browser and link (links with other properties are other surveys)."""
        return f"web:{self.touchpoint}:{self.params.digest}:{browser_id}"


@dataclass(frozen=True)
class PersonalLink:
    invitation: Invitation


Link = OpenLink | PersonalLink


class Closure(StrEnum):
    EXPIRED = "expired"
    """The answering time is over: 410."""
    UNAVAILABLE = "unavailable"
    """Never answerable (opted out, not sampled, daily cap reached): 410 too."""


@dataclass(frozen=True)
class Shown:
    """What the page shows: the conversation (stored or not yet) and a reprompt if any."""

    conversation: Conversation
    error: str | None = None


Outcome = Shown | Closure


class WebResponses:
    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Clock,
        surveys: SurveyService,
        triggers: TriggerService,
        signer: TokenSigner,
        limiter: IpRateLimiter | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.surveys = surveys
        self.triggers = triggers
        self.signer = signer
        self.limiter = limiter or IpRateLimiter()

    async def resolve(self, token: str, params: str | None) -> Link:
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            raise LinkNotFound("no such link")
        try:
            opened = self.signer.verify(token, kind=TokenKind.OPEN_SURVEY)
        except InvalidToken:
            invitation = await self.store.invitations.by_token(token)
            if invitation is None or invitation.survey_id not in self.config.surveys:
                raise LinkNotFound("no such invitation") from None
            return PersonalLink(invitation)
        try:
            link_params = read_link_params(self.signer, opened.value, params)
            _, properties = self.triggers.validate(
                TriggerRequest(opened.value, ContactSpec(CHANNEL, "-"), link_params.properties)
            )
        except (InvalidLinkParams, TriggerError) as error:
            raise LinkNotFound(str(error)) from None
        return OpenLink(opened.value, properties, link_params)

    async def show(self, link: Link, browser_id: str | None, languages: list[str]) -> Outcome:
        """The page for a GET: nothing is created, a scheduled invitation becomes answerable."""
        invitation = await self._invitation(link, browser_id)
        if invitation is None:
            assert isinstance(link, OpenLink)
            return Shown(self._fresh(link, languages))
        return await self._open(invitation, languages)

    async def answer(
        self,
        link: Link,
        browser_id: str,
        languages: list[str],
        client: str,
        question_index: int,
        raw: str,
    ) -> Outcome:
        invitation = await self._invitation(link, browser_id)
        if invitation is None:
            assert isinstance(link, OpenLink)
            wait = self.limiter.allow(client)
            if wait > 0:
                raise RateLimited(wait)
            invitation = await self._create(link, browser_id, languages)
        opened = await self._open(invitation, languages)
        if not isinstance(opened, Shown):
            return opened
        outcome = await self.surveys.answer(
            invitation.id, raw, channel=CHANNEL, address=None, question_index=question_index
        )
        if outcome.closed or outcome.conversation is None:
            return Closure.EXPIRED
        step = outcome.step
        error = step.reprompt if step is not None and not step.accepted else None
        return Shown(outcome.conversation, error)

    async def back(
        self, link: Link, browser_id: str, languages: list[str], question_index: int
    ) -> Outcome:
        """The customer wants to change their previous answer before finishing."""
        invitation = await self._invitation(link, browser_id)
        if invitation is None:
            assert isinstance(link, OpenLink)
            return Shown(self._fresh(link, languages))
        conversation = await self.surveys.go_back(invitation.id, question_index)
        if conversation is None:
            return await self._open(invitation, languages)
        return Shown(conversation)

    async def _invitation(self, link: Link, browser_id: str | None) -> Invitation | None:
        if isinstance(link, PersonalLink):
            return link.invitation
        if browser_id is None:
            return None
        return await self.store.invitations.find_by_idempotency_key(link.key(browser_id))

    async def record_view(self, link: Link, browser_id: str) -> None:
        """A browser saw an open link's survey: it was offered an invitation."""
        if not isinstance(link, OpenLink):
            return
        touchpoint = self.triggers.touchpoint(link.touchpoint)
        await self.store.link_views.record(
            key=link.key(browser_id),
            survey_id=touchpoint.survey,
            touchpoint=link.touchpoint,
            channel=CHANNEL,
            properties=link.params.properties,
            now=self.clock.now(),
        )

    def _language(self, link: OpenLink, languages: list[str]) -> str:
        touchpoint = self.triggers.touchpoint(link.touchpoint)
        return self.surveys.language_for(self.config.surveys[touchpoint.survey], *languages)

    def _fresh(self, link: OpenLink, languages: list[str]) -> Conversation:
        survey = self.config.surveys[self.triggers.touchpoint(link.touchpoint).survey]
        return Conversation(survey, self._language(link, languages), link.properties)

    async def _create(self, link: OpenLink, browser_id: str, languages: list[str]) -> Invitation:
        touchpoint = self.triggers.touchpoint(link.touchpoint)
        now = self.clock.now()
        result = await self.triggers.trigger(
            TriggerRequest(
                touchpoint=link.touchpoint,
                contact=ContactSpec(CHANNEL, browser_id),
                properties=link.params.properties,
                # The customer is here now: the touchpoint's delay has passed.
                occurred_at=now - touchpoint.delay.total_seconds(),
                idempotency_key=link.key(browser_id),
                language=self._language(link, languages),
                opened_by_customer=True,
            )
        )
        invitation = result.invitation
        if not result.created:
            return invitation
        async with self.store.database.transaction() as connection:
            viewed_at = await self.store.link_views.first_view(connection, link.key(browser_id))
            if viewed_at is not None:
                # Sent when the browser first saw it: the response rate counts it once, there.
                await self.store.invitations.stamp_sent(connection, invitation.id, now=viewed_at)
            if invitation.contact_id is None:
                return invitation
            # A browser is somebody palaute cannot write to: a later survey of the audience
            # counts it as unreachable, not as sent and unanswered.
            await self.store.contacts.set_unreachable(
                invitation.contact_id, now=now, reason=BROWSER_ONLY, work=connection
            )
            if link.params.audience:
                await self.store.audiences.add_member(
                    connection,
                    link.params.audience,
                    invitation.contact_id,
                    source="web link",
                    now=now,
                )
        return invitation

    async def _open(self, invitation: Invitation, languages: list[str]) -> Outcome:
        """Make the invitation answerable if it may be, and rebuild its conversation."""
        now = self.clock.now()
        if invitation.state in (
            InvitationState.SUPPRESSED,
            InvitationState.UNREACHABLE,
            InvitationState.FAILED,
        ):
            return Closure.UNAVAILABLE
        if invitation.state is InvitationState.EXPIRED or (
            invitation.expires_at is not None
            and now >= invitation.expires_at
            and invitation.state is not InvitationState.COMPLETED
        ):
            return Closure.EXPIRED
        language = invitation.language
        if language is None:
            language = self.surveys.language_for(self.surveys.survey(invitation), *languages)
        if (
            invitation.state is InvitationState.SCHEDULED
            or invitation.sent_at is None
            or invitation.language is None
        ):
            async with self.store.database.transaction() as connection:
                # Opened by the customer: quiet hours and delays were for pushing, not for this.
                await self.store.invitations.start_now(connection, invitation.id, now=now)
                await self.store.invitations.adopt_language(connection, invitation.id, language)
            if invitation.sent_at is None:
                await self.store.invitations.mark_delivered(invitation.id, now=now)
            invitation = await self.store.invitations.get(invitation.id) or invitation
        return Shown(await self.surveys.conversation(invitation))
