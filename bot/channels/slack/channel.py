"""The Slack channel: surveys in DMs with Block Kit buttons, on slack-bolt's async app.

The adapter only translates. A button click becomes `Incoming(BUTTON)` with the button's
payload, a DM (or a reply in a question's thread) becomes `Incoming(TEXT)`, and `/palaute
stop|start|delete` become `Incoming(COMMAND)`. The organizer side of `/palaute` (send, scores,
help) lives in bot.channels.slack.commands. Requests arrive over Socket Mode or HTTP and go through the
inbox first (see slack_inbox).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    async_default_handlers,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import (
    Button,
    Channel,
    Incoming,
    IncomingKind,
    Limits,
    OutgoingPrompt,
    permanent_failure,
)
from bot.channels.context import ChannelContext
from bot.channels.slack.blocks import (
    ACTION_PREFIX,
    fallback_text,
    message_blocks,
    prompt_blocks,
    text_blocks,
    wants_words,
)
from bot.channels.slack.directory import SlackDirectory, SlackUser
from bot.channels.slack.errors import (
    GONE_ERRORS,
    SLACK_UNAVAILABLE,
    TOKEN_ERRORS,
    slack_errors,
)
from bot.channels.slack.inbox import SlackInbox
from bot.channels.slack.settings import SlackConfig
from bot.channels.slack.team import team_blocks
from bot.channels.slack.texts import TEXTS
from bot.delivery.triggers import TriggerError, TriggerRequest
from bot.team.document import TeamDocument
from conversations.localization import normalize_language

log = logging.getLogger(__name__)

COMMAND = "/palaute"
EVENTS_PATH = "/slack/events"
PATIENT_RETRIES = 10
"""How many 429s in a row a lookup someone waits for sits out (each after its Retry-After)."""
CUSTOMER_COMMANDS = frozenset({"stop", "start", "delete"})
"""`/palaute` subcommands anyone may use about themselves; the rest is for organizers."""

SHARED_CHANNEL_TYPES = frozenset({"channel", "group"})
"""Message events from public and private channels (`message.channels`, `message.groups`)."""

_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def api_base_url(base_url: str | None) -> str:
    url = base_url or AsyncWebClient.BASE_URL
    return url if url.endswith("/") else url + "/"


def subcommand(command: dict[str, Any]) -> str:
    words = str(command.get("text") or "").split()
    return words[0].lower() if words else ""


def typed_text(mrkdwn: str) -> str:
    """What the person typed: Slack's links and mentions as their labels, entities unescaped."""
    plain = _LINK.sub(lambda m: m.group(2) or m.group(1).removeprefix("mailto:"), mrkdwn)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def split_ref(message_ref: str) -> tuple[str, str]:
    """'D0123:1700000000.000100' → (conversation, ts)."""
    channel, _, ts = message_ref.partition(":")
    return channel, ts


def thread_ts_of(ref: str) -> str:
    """The ts of a message ref, or the ref itself when it is a bare ts."""
    return split_ref(ref)[1] or ref


async def _from_a_person_in_dm(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im" and bool(event.get("user")) and "bot_id" not in event


def _is_thread_reply_in_a_channel(event: dict[str, Any]) -> bool:
    """A person's reply in a thread of a public or private channel (also "send to channel")."""
    thread_ts = event.get("thread_ts")
    return (
        event.get("channel_type") in SHARED_CHANNEL_TYPES
        and event.get("subtype") in (None, "thread_broadcast")
        and bool(thread_ts)
        and thread_ts != event.get("ts")
        and bool(event.get("user"))
        and "bot_id" not in event
    )


def is_shared_conversation(conversation_id: str | None) -> bool:
    """Channels (C…) and private channels or group DMs (G…): not someone's DM with palaute."""
    return bool(conversation_id) and not str(conversation_id).startswith("D")


async def _customer_command(command: dict[str, Any]) -> bool:
    return subcommand(command) in CUSTOMER_COMMANDS


async def _ignore(ack: AsyncAck) -> None:
    await ack()


class SlackChannel(Channel):
    name = "slack"
    # chat.postMessage: about one message a second per conversation with short bursts, and a
    # few hundred a minute per workspace. A tap costs two (the edit and the next question), so
    # the burst lets a quick respondent through unpaced. 429s with Retry-After pause on top.
    limits = Limits(per_second=5.0, burst=20, per_chat_per_second=1.0, per_chat_burst=5)

    def __init__(self, config: SlackConfig, context: ChannelContext) -> None:
        super().__init__()
        self.config = config
        self.context = context
        # No rate-limit retry handler: the dispatcher paces and retries with Retry-After.
        self.client = AsyncWebClient(token=config.bot_token, base_url=api_base_url(config.base_url))
        # Lookups an organizer waits for, and uploads (which cannot be redone without posting
        # twice), wait out a 429 for its Retry-After with slack_sdk's own handler.
        self.patient_client = AsyncWebClient(
            token=config.bot_token,
            base_url=api_base_url(config.base_url),
            retry_handlers=[
                *async_default_handlers(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=PATIENT_RETRIES),
            ],
        )
        self.bolt = AsyncApp(
            name="palaute",
            client=self.client,
            signing_secret=config.signing_secret,
            process_before_response=True,
            request_verification_enabled=False,
            ssl_check_enabled=False,
            url_verification_enabled=False,
        )
        self.directory = SlackDirectory(self.client, patient_client=self.patient_client)
        self.inbox = SlackInbox(self.bolt, context.inbox(), signing_secret=config.signing_secret)
        self.default_language = context.default_language
        self._bot_user_id: str | None = None
        """palaute's own user (from auth.test): threads under its messages are alerts' threads."""
        self._dms: dict[str, str] = {}
        self._socket: AsyncSocketModeHandler | None = None
        self._listen()

    def _listen(self) -> None:
        bolt = self.bolt
        bolt.action(re.compile(f"^{re.escape(ACTION_PREFIX)}"))(self._on_button)
        bolt.event({"type": "message", "subtype": None}, matchers=[_from_a_person_in_dm])(
            self._on_message
        )
        # Bolt runs the first listener that matches: the catch-all comes last.
        bolt.event("message", matchers=[self._replies_to_palaute])(self._on_thread_reply)
        bolt.event("message")(_ignore)
        bolt.command(COMMAND, matchers=[_customer_command])(self._on_command)

    def http_routes(self) -> list[web.AbstractRouteDef]:
        if self.config.mode != "http":
            return []
        return [web.post(EVENTS_PATH, self.inbox.handle_http)]

    async def start(self) -> None:
        try:
            auth = await self.client.auth_test()
        except SlackApiError as error:
            if error.response.get("error") in TOKEN_ERRORS:
                raise RuntimeError(
                    f"Slack refused slack.bot_token ({error.response.get('error')})"
                ) from error
            log.warning("Slack auth.test failed (%s); carrying on", error.response.get("error"))
        except SLACK_UNAVAILABLE as error:
            log.warning("Slack is not reachable yet (%s); carrying on", type(error).__name__)
        else:
            log.info("Slack: signed in as @%s in %s", auth.get("user"), auth.get("team"))
            self._bot_user_id = auth.get("user_id")
        await self.inbox.open()
        if self.config.mode == "socket" and self.config.app_token:
            self._socket = self.inbox.socket_mode_handler(self.config.app_token)
            await self._socket.connect_async()
        elif self.context.public_url:
            log.info("Slack: request URL %s%s", self.context.base_url(), EVENTS_PATH)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        await self.inbox.drain()

    # ------------------------------------------------------------------ incoming

    async def _person(self, user_id: str) -> SlackUser | None:
        """The user's name and locale, if Slack answers; an answer never waits on this."""
        try:
            return await self.directory.user(user_id)
        except SLACK_UNAVAILABLE as error:
            log.info("could not look up Slack user %s: %s", user_id, error)
            return None

    async def _deliver(self, user_id: str, kind: IncomingKind, **fields: Any) -> None:
        """Hand what someone did to the app; a request naming nobody is not Slack's."""
        if not user_id:
            log.info("ignoring a Slack %s without a user id", kind.value)
            return
        await self.deliver(await self._incoming(user_id, kind, **fields))

    async def _incoming(self, user_id: str, kind: IncomingKind, **fields: Any) -> Incoming:
        person = await self._person(user_id)
        return Incoming(
            channel=self.name,
            address=user_id,
            kind=kind,
            language=person.locale if person else None,
            display_name=person.name if person else None,
            **fields,
        )

    async def _on_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        payload = action.get("value") or (action.get("selected_option") or {}).get("value")
        container = body.get("container") or {}
        conversation = container.get("channel_id")
        ref = None
        if conversation and container.get("message_ts"):
            ref = f"{conversation}:{container['message_ts']}"
        await self._deliver(
            str((body.get("user") or {}).get("id") or ""),
            IncomingKind.BUTTON,
            payload=payload,
            message_ref=ref,
            shared_chat=is_shared_conversation(conversation),
        )

    async def _replies_to_palaute(self, event: dict[str, Any]) -> bool:
        """A thread reply in a channel under one of palaute's messages (an alert, say)."""
        if not _is_thread_reply_in_a_channel(event):
            return False
        parent = event.get("parent_user_id")
        return parent is None or self._bot_user_id is None or parent == self._bot_user_id

    async def _on_thread_reply(self, event: dict[str, Any]) -> None:
        # About the thread's first message: the alert's ref, as send_team returned it.
        await self._deliver(
            str(event["user"]),
            IncomingKind.TEXT,
            text=typed_text(str(event.get("text") or "")),
            message_ref=f"{event['channel']}:{event['thread_ts']}",
            external_id=event.get("client_msg_id"),
            shared_chat=True,
        )

    async def _on_message(self, event: dict[str, Any]) -> None:
        # A reply in a question's thread and a plain DM are both answers to the open question.
        await self._deliver(
            str(event["user"]),
            IncomingKind.TEXT,
            text=typed_text(str(event.get("text") or "")),
            external_id=event.get("client_msg_id"),
        )

    async def _on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack()
        await self._deliver(
            str(command.get("user_id") or ""), IncomingKind.COMMAND, command=subcommand(command)
        )

    # ------------------------------------------------------------------ contacts

    async def resolve_contact(self, request: TriggerRequest) -> TriggerRequest:
        """An email becomes the Slack user it belongs to; the user's locale its language."""
        address = request.contact.address or ""
        person: SlackUser | None
        if "@" in address:
            person = await self._user_by_email(address)
        elif request.language is None:
            person = await self._person(address)
        else:
            return request
        if person is None:
            return request
        return replace(
            request,
            contact=replace(request.contact, address=person.id),
            language=request.language or normalize_language(person.locale),
        )

    async def _user_by_email(self, email: str) -> SlackUser:
        try:
            # The touchpoint's sender waits: a 429 is waited out for its Retry-After.
            person = await self.directory.user_by_email(email, patient=True)
        except SLACK_UNAVAILABLE as error:
            problem = error.response.get("error") if isinstance(error, SlackApiError) else None
            raise TriggerError(
                "contact.slack",
                f"could not look up {email} in Slack ({problem or type(error).__name__}); "
                "try again",
            ) from error
        if person is None:
            raise TriggerError("contact.slack", f"no Slack user has the email {email}")
        return person

    async def conversation_for(self, address: str) -> str:
        """The conversation to post to: the DM with a user (opened once), else `address` itself."""
        if "@" in address:
            raise permanent_failure(
                "a Slack contact is a user id; emails are looked up when the touchpoint arrives"
            )
        if address[:1] not in ("U", "W"):
            return address
        cached = self._dms.get(address)
        if cached is None:
            with slack_errors():
                response = await self.client.conversations_open(users=address)
            cached = self._dms[address] = str(response["channel"]["id"])
        return cached

    async def _language(self, address: str) -> str:
        contact = await self.context.contacts.find(self.name, address)
        return (contact.language if contact else None) or self.default_language

    # ------------------------------------------------------------------ sending

    async def _post(self, channel: str, fallback: str, blocks: list[Any], **extra: Any) -> str:
        # `text` is what notifications show, parsed as mrkdwn: escaped, as everything palaute
        # posts holds customers' words. No `parse` or `link_names`: a bare "@here" stays text.
        with slack_errors():
            response = await self.client.chat_postMessage(
                channel=channel, text=fallback_text(fallback), blocks=blocks, **extra
            )
        return f"{response['channel']}:{response['ts']}"

    async def send_prompt(self, address: str, prompt: OutgoingPrompt) -> str:
        channel = await self.conversation_for(address)
        language = await self._language(address)
        if prompt.intro:
            await self._post(channel, prompt.intro, text_blocks(prompt.intro))
        hint = TEXTS.text("reply_hint", language) if wants_words(prompt) else None
        blocks = prompt_blocks(prompt, placeholder=TEXTS.text("choose", language), hint=hint)
        return await self._post(channel, prompt.text, blocks)

    async def send_text(
        self, address: str, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> str:
        channel = await self.conversation_for(address)
        return await self._post(channel, text, message_blocks(text, buttons))

    async def edit(self, address: str, message_ref: str, text: str) -> None:
        channel, ts = split_ref(message_ref)
        # The blocks are replaced too: chat.update keeps the old ones (the buttons) otherwise.
        with slack_errors(ignore=GONE_ERRORS):
            await self.client.chat_update(
                channel=channel, ts=ts, text=fallback_text(text), blocks=text_blocks(text)
            )

    async def send_team(self, address: str, message: TeamDocument) -> str:
        channel = await self.conversation_for(address)
        thread_ts = thread_ts_of(message.thread_ref) if message.thread_ref else None
        ref = await self._post(channel, message.text, team_blocks(message), thread_ts=thread_ts)
        if message.attachment is not None:
            attachment = message.attachment
            try:
                await self.patient_client.files_upload_v2(
                    channel=split_ref(ref)[0],
                    content=attachment.content,
                    filename=attachment.filename,
                    title=attachment.filename,
                    thread_ts=thread_ts,
                )
            except SLACK_UNAVAILABLE as error:
                # Retrying would post the message twice; the text is what matters.
                log.warning("could not upload %s to Slack: %s", attachment.filename, error)
        return ref

    async def edit_team(self, address: str, message_ref: str, message: TeamDocument) -> None:
        channel, ts = split_ref(message_ref)
        with slack_errors(ignore=GONE_ERRORS):
            await self.client.chat_update(
                channel=channel,
                ts=ts,
                text=fallback_text(message.text),
                blocks=team_blocks(message),
            )


def build(context: ChannelContext) -> SlackChannel:
    """The adapter as the app builds it (named by the spec: bot/channels/slack/spec.py)."""
    return SlackChannel(context.settings, context)
