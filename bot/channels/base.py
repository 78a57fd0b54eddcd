"""The channel interface every platform adapter implements.

An adapter only translates: palaute's prompts to platform messages, platform updates to
`Incoming` values handed to the one callback the app injects. Survey logic lives elsewhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from aiohttp import web

from bot.tokens import TokenKind, TokenSigner, encode_id
from storage.records import Invitation

if TYPE_CHECKING:
    from bot.team.document import TeamDocument


@dataclass(frozen=True)
class Button:
    label: str
    payload: str
    """Opaque to the platform; the adapter passes it back in `Incoming.payload`."""


@dataclass(frozen=True)
class OutgoingPrompt:
    text: str
    rows: tuple[tuple[Button, ...], ...] = ()
    intro: str | None = None
    """Sent as its own message before the question (the survey's greeting)."""
    invitation_id: int | None = None
    """The survey it belongs to, for a channel that opens conversations with a per-touchpoint
    message (WhatsApp's templates outside the 24-hour window)."""


class IncomingKind(StrEnum):
    TEXT = "text"
    BUTTON = "button"
    COMMAND = "command"


@dataclass(frozen=True)
class Incoming:
    channel: str
    address: str
    """Where replies go: a Telegram chat id (a group's, in a group), a Slack user id."""
    kind: IncomingKind
    text: str = ""
    payload: str | None = None
    """Button payload, or the argument of a command (`/start <payload>`)."""
    command: str | None = None
    message_ref: str | None = None
    """The message a button sat on, or the message a reply in a shared chat answers."""
    language: str | None = None
    display_name: str | None = None
    external_id: str | None = None
    shared_chat: bool = False
    """Sent in a chat many people share (a Telegram group or channel, a Slack channel), not in
    someone's own conversation with palaute: never a customer's answer (see docs/reporting.md)."""


@dataclass(frozen=True)
class Limits:
    """Published platform limits the dispatcher paces sends by."""

    per_second: float
    burst: int
    per_chat_per_second: float
    per_chat_burst: int
    per_group_per_minute: float | None = None
    edits_in_global: bool = True
    """Whether an edit of a message already there takes from the `per_second` budget."""


class DeliveryError(Exception):
    """A send failed. `permanent` failures (blocked, account gone) make the contact unreachable."""

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


def temporary_failure(reason: str, retry_after: float | None = None) -> DeliveryError:
    return DeliveryError(reason, permanent=False, retry_after=retry_after)


def permanent_failure(reason: str) -> DeliveryError:
    return DeliveryError(reason, permanent=True)


class MessageRejected(DeliveryError):
    """The platform refused this one message (malformed, too long): it is dropped, but the chat
    stays reachable and the messages after it are still sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=True)


def rejected_message(reason: str) -> DeliveryError:
    return MessageRejected(reason)


IncomingHandler = Callable[[Incoming], Awaitable[None]]


@dataclass
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "image/png"


class Channel(ABC):
    """A platform palaute talks to customers (and teams) on."""

    name: str
    limits: Limits
    pushes_prompts: bool = True
    """False for the web channel, whose pages pull the next question themselves."""

    def __init__(self) -> None:
        self._on_incoming: IncomingHandler | None = None

    def set_handler(self, handler: IncomingHandler) -> None:
        self._on_incoming = handler

    async def deliver(self, incoming: Incoming) -> None:
        if self._on_incoming is None:
            raise RuntimeError(f"{self.name} channel received a message before it was wired")
        await self._on_incoming(incoming)

    def share_with_workers(self) -> None:
        """Several workers run this channel on one database (called before `start`): what the
        platform allows one consumer of waits for `lease_changed(True)`, and nothing shared
        with the other workers is undone at a stop. Most channels share everything."""
        return

    async def lease_changed(self, held: bool) -> None:
        """This worker took (True) or lost (False) the lease for the work that runs once."""
        return

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def send_prompt(self, address: str, prompt: OutgoingPrompt) -> str:
        """Send a question; returns a reference to the message (for `edit`)."""

    @abstractmethod
    async def send_text(
        self, address: str, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> str: ...

    @abstractmethod
    async def edit(self, address: str, message_ref: str, text: str) -> None:
        """Replace a question's message with its answer, removing the buttons."""

    async def send_team(self, address: str, message: TeamDocument) -> str:
        """A report or alert (bot.team.document); a channel without formatting of its own
        shows it as plain text."""
        return await self.send_text(address, message.text, message.buttons)

    async def edit_team(self, address: str, message_ref: str, message: TeamDocument) -> None:
        await self.edit(address, message_ref, message.text)

    def http_routes(self) -> list[web.AbstractRouteDef]:
        """Routes the channel serves on palaute's HTTP server (webhooks, pages), if any."""
        return []

    def start_link(self, payload: str) -> str | None:
        """A link that opens a chat with palaute carrying `payload` (Telegram's t.me
        `?start=`), if the platform has such links."""
        return None

    def invitation_links(self, invitation: Invitation, signer: TokenSigner) -> dict[str, str]:
        """Links the trigger API hands an upstream system for one invitation. By default, for
        a `ref:` contact, this channel's chat link (`<name>_link`), which ties the contact to
        the chat that opens it."""
        if invitation.channel is not None or invitation.contact_id is None:
            return {}
        link = self.start_link(signer.sign(TokenKind.LINK_REF, encode_id(invitation.contact_id)))
        return {f"{self.name}_link": link} if link else {}
