"""What an adapter gets from palaute: `ChannelContext`, never the app itself.

A channel is built from its context alone (`ChannelSpec.build`), so that what it may use is in
one place: its own settings, the shared durable inbox, what it keeps across restarts, contact
lookup, the signer for links, a hook for periodic jobs and the clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from bot.channels.intake import DurableInbox
from bot.clock import Clock
from bot.tokens import TokenSigner
from storage.records import Contact, Invitation
from storage.settings import SettingsRepository
from storage.unit_of_work import DatabaseBackend

if TYPE_CHECKING:
    from bot.answers.surveys import SurveyService
    from bot.config import Config
    from bot.delivery.triggers import TriggerService
    from storage.store import Store

AddJob = Callable[[Callable[[], Awaitable[Any]], timedelta, str], None]
"""(job, every, job id) → run `job` every so often while palaute runs."""


class ContactLookup(Protocol):
    async def find(self, channel: str, address: str) -> Contact | None: ...

    async def set_unreachable(self, contact_id: int, *, now: float, reason: str) -> None:
        """For what the platform reports later (WhatsApp's failed statuses)."""


class InvitationLookup(Protocol):
    async def get(self, invitation_id: int) -> Invitation | None: ...


@dataclass(frozen=True)
class AnswerServices:
    """For a channel whose own pages show the questions and take the answers (web), instead of
    translating platform messages to `Incoming` values."""

    store: Store
    config: Config
    surveys: SurveyService
    triggers: TriggerService


@dataclass(frozen=True)
class ChannelContext:
    name: str
    settings: Any
    """The channel's own section of the config, as its `ConfigSection` read it (None without)."""
    clock: Clock
    default_language: str
    base_url: Callable[[], str]
    """palaute's public address (with the port the server really got, when it asked for 0)."""
    public_url: str | None
    """`[server] public_url`: set when platforms can reach palaute (webhooks)."""
    kept: SettingsRepository
    """Small values a channel keeps across restarts (a generated secret, a chat's new id)."""
    contacts: ContactLookup
    signer: TokenSigner
    add_job: AddJob
    intake: DurableInbox | None = None
    """The shared durable inbox, for a channel whose spec says `uses_intake`."""
    answers: Callable[[], AnswerServices] | None = None
    """For a channel that serves its own survey pages; called once palaute runs."""
    invitations: InvitationLookup | None = None
    """A prompt's survey (touchpoint, properties, language), for a channel that opens
    conversations with a per-touchpoint message (WhatsApp's templates)."""
    database: DatabaseBackend | None = None
    """For a channel with tables of its own, read and written through its repository in
    storage/ (WhatsApp's chats and message statuses: storage/whatsapp.py)."""

    def inbox(self) -> DurableInbox:
        if self.intake is None:
            raise RuntimeError(f"the {self.name} channel's spec does not ask for the inbox")
        return self.intake
