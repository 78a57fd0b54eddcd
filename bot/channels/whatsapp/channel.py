"""The WhatsApp channel: surveys as WhatsApp messages, on pywa's asyncio client.

Sending goes through pywa (`pywa_async.WhatsApp`: send_message with reply buttons or a list,
send_template, mark_message_as_read) over palaute's own httpx client, whose base URL is the
configured Graph API root. Receiving: Meta's webhook comes to palaute's HTTP server; its
signature is checked, its events are stored in the inbox before the 200 (webhook.py), then read
one at a time with pywa's update models and translated to `Incoming` values.

The 24-hour customer-service window: outside it only an approved template may start a
conversation. A question for a customer who has not written within 24 hours goes out as the
touchpoint's template, and the question itself is held (whatsapp_chats.held_prompt) until the
customer replies; their reply opens the window and the question follows at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, TypeAlias

import httpx
from aiohttp import web
from pywa_async import WhatsApp
from pywa_async.handlers import (
    CallbackButtonHandler,
    CallbackSelectionHandler,
    MessageHandler,
    MessageStatusHandler,
)
from pywa_async.types import (
    Button as ReplyButton,
)
from pywa_async.types import (
    CallbackButton,
    CallbackSelection,
    Message,
    MessageStatus,
    Section,
    SectionList,
    SectionRow,
)
from pywa_async.types.templates import BodyText, TemplateLanguage

from bot.channels.base import (
    Button,
    Channel,
    Incoming,
    IncomingKind,
    Limits,
    OutgoingPrompt,
    rejected_message,
    temporary_failure,
)
from bot.channels.context import ChannelContext
from bot.channels.lanes import Lanes
from bot.channels.whatsapp import errors
from bot.channels.whatsapp.addresses import NotAPhoneNumber, address_of, wa_id
from bot.channels.whatsapp.messages import Rendered, render
from bot.channels.whatsapp.settings import WEBHOOK_PATH, WhatsAppConfig, WhatsAppTemplate
from bot.channels.whatsapp.updates import Event, NotAWebhook, split
from bot.http.json_body import BadJson, parse_json
from bot.team.document import TeamDocument
from bot.tokens import same_secret
from storage.database import StorageError
from storage.records import OPEN_STATES
from storage.whatsapp import WhatsAppRepository

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
SERVICE_WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=5)
"""A message sent at 23:59 can reach Meta after the window closed."""
STOP_WORDS = frozenset({"stop", "lopeta", "/stop", "unsubscribe"})
START_WORDS = frozenset({"start", "aloita", "/start"})
HELP_WORDS = frozenset({"help", "apua", "/help", "ohje"})
FINNISH_WORDS = frozenset({"lopeta", "aloita", "apua", "ohje"})
HELD_SEND_ATTEMPTS = 3
KEEP_EVENTS = timedelta(days=8)
"""Meta retries an unconfirmed webhook call for up to 7 days; an event it sends again within
that time is recognised and not handled twice."""
EVENTS_PRUNE_EVERY = timedelta(hours=1)

Received: TypeAlias = Incoming | MessageStatus


class UnreadableEvent(ValueError):
    pass


@dataclass
class _Collected:
    items: list[Received] = field(default_factory=list)
    failure: Exception | None = None


_COLLECTED: ContextVar[_Collected] = ContextVar("whatsapp_collected")


def lane_of(payload: str) -> str:
    """Events about one customer share a lane: the sender of a message, the recipient of a
    status."""
    value = json.loads(payload)["entry"][0]["changes"][0]["value"]
    for message in value.get("messages", []):
        return f"chat:{message.get('from')}"
    for status in value.get("statuses", []):
        return f"chat:{status.get('recipient_id')}"
    return "other"


def _ignorable(payload: str) -> bool:
    """An event palaute has nothing to do with: a message from a user without a phone number
    (a username only), or a message type that is not text, a button or a list pick."""
    value = json.loads(payload)["entry"][0]["changes"][0]["value"]
    for message in value.get("messages", []):
        if message.get("type") not in ("text", "interactive", "button"):
            return True
    return any(not contact.get("wa_id") for contact in value.get("contacts", []))


class WhatsAppChannel(Channel):
    name = CHANNEL

    def __init__(self, config: WhatsAppConfig, context: ChannelContext) -> None:
        super().__init__()
        self.config = config
        self.limits = pacing(config)
        if context.database is None or context.invitations is None:
            raise RuntimeError("the WhatsApp channel needs its tables and the invitations")
        self._chats = WhatsAppRepository(context.database)
        self._invitations = context.invitations
        self._contacts = context.contacts
        self._clock = context.clock
        self._default_language = context.default_language
        self._inbox = context.inbox()
        self._client: WhatsApp | None = None
        self._session: httpx.AsyncClient | None = None
        self._lanes = Lanes()
        self._handling: set[asyncio.Task[None]] = set()
        self._greeted: set[tuple[str, str | None, str]] = set()
        self._events_pruned_at = float("-inf")

    def http_routes(self) -> list[web.AbstractRouteDef]:
        return [web.get(WEBHOOK_PATH, self._verify), web.post(WEBHOOK_PATH, self._receive)]

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._session = httpx.AsyncClient(timeout=httpx.Timeout(30.0))
        client = WhatsApp(
            phone_id=self.config.phone_number_id,
            token=self.config.access_token,
            session=self._session,
            api_version=self.config.api_version.removeprefix("v"),
            # The signature is checked on palaute's own route (constant time, any header), and
            # the inbox keeps the ids it has seen across restarts.
            validate_updates=False,
            skip_duplicate_updates=False,
            verify_token=self.config.verify_token,
        )
        # pywa points its session at graph.facebook.com; the configured root wins (a test server).
        self._session.base_url = httpx.URL(f"{self.config.graph_root}/{self.config.api_version}")
        client.add_handlers(
            MessageHandler(self._collect),
            CallbackButtonHandler(self._collect),
            CallbackSelectionHandler(self._collect),
            MessageStatusHandler(self._collect),
        )
        self._client = client
        await self._inbox.open(self._hand_over)

    async def stop(self) -> None:
        self._inbox.close()
        # What is cut short here is still unprocessed in the inbox: the next start handles it.
        for task in list(self._handling):
            task.cancel()
        await asyncio.gather(*self._handling, return_exceptions=True)
        if self._session is not None:
            await self._session.aclose()
            self._session = None
        self._client = None

    # ------------------------------------------------------------------ webhook

    async def _verify(self, request: web.Request) -> web.Response:
        """Meta's subscription handshake: echo hub.challenge when hub.verify_token is ours."""
        query = request.query
        if query.get("hub.mode") == "subscribe" and same_secret(
            query.get("hub.verify_token", ""), self.config.verify_token
        ):
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("refused a WhatsApp webhook verification with the wrong verify token")
        return web.Response(status=403, text="wrong verify token")

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_matches(body, request.headers.get(SIGNATURE_HEADER, ""), self.config):
            log.warning("refused a WhatsApp webhook call without a valid %s", SIGNATURE_HEADER)
            return web.Response(status=401, text="invalid signature")
        try:
            events = split(parse_json(body))
        except (BadJson, NotAWebhook) as error:
            log.warning("refused a WhatsApp webhook call: %s", error)
            return web.Response(status=400, text=f"not a WhatsApp webhook: {error}")
        if events:
            # The body as received (parse_json checked it is UTF-8, so it encodes back to the
            # same bytes and its signature can be checked again); a retry of the same bytes is
            # the same key, stored once.
            call_key = "call:" + hashlib.sha256(body).hexdigest()
            try:
                await self._inbox.accept([(call_key, body.decode("utf-8"))])
            except StorageError as error:
                # Not stored, so not confirmed: Meta retries (for up to 7 days).
                log.error("could not store a WhatsApp webhook call (%s); Meta will retry", error)
                return web.Response(status=503, text="try again later")
        return web.Response(text="ok")

    async def _hand_over(self, call_key: str, body: str) -> None:
        """Start handling a stored webhook call, each event in its customer's lane; returns at
        once."""
        task = asyncio.create_task(self._handle_call(call_key, body), name=f"whatsapp-{call_key}")
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle_call(self, call_key: str, body: str) -> None:
        try:
            events = split(json.loads(body))
        except (ValueError, NotAWebhook) as error:
            await self._inbox.failed(call_key, f"not a WhatsApp webhook: {error}")
            return
        # gather starts the events in order, so one customer's events queue in their lane in
        # the order Meta sent them; another customer's lane is not held up.
        failures = await asyncio.gather(*(self._in_lane(call_key, event) for event in events))
        reasons = [reason for reason in failures if reason is not None]
        if reasons:
            await self._inbox.failed(call_key, "; ".join(reasons))
        else:
            await self._inbox.processed(call_key)
        self._prune_events()

    async def _in_lane(self, call_key: str, event: Event) -> str | None:
        """Handle one event unless an earlier call (a retry, a batch of another shape) already
        did; the reason when its handling failed."""
        reason: str | None = None
        async with self._lanes.lane(lane_of(event.payload)):
            if await self._chats.event_handled(event.key):
                return None
            try:
                await self._handle(event.payload)
            except Exception as error:
                log.exception("handling WhatsApp event %s failed", event.key)
                reason = f"{event.key}: handling it failed: {type(error).__name__}: {error}"
            try:
                await self._chats.record_event(event.key, call_key, now=self._now(), error=reason)
            except Exception:
                # Left unrecorded, the call is handled again at the next start; the answer in
                # it is stored once.
                log.exception("could not record WhatsApp event %s as handled", event.key)
        return reason

    def _prune_events(self) -> None:
        now = self._now()
        if now - self._events_pruned_at < EVENTS_PRUNE_EVERY.total_seconds():
            return
        self._events_pruned_at = now

        async def prune() -> None:
            with contextlib.suppress(Exception):
                await self._chats.prune_events(now - KEEP_EVENTS.total_seconds())

        task = asyncio.create_task(prune())
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    # ------------------------------------------------------------------ incoming

    async def _collect(self, _client: Any, update: Any) -> None:
        """pywa's handlers only collect; acting on an update happens in `_handle`, where a
        failure is recorded on the inbox item (pywa logs and swallows handler errors)."""
        collected = _COLLECTED.get()
        if isinstance(update, MessageStatus):
            collected.items.append(update)
            return
        try:
            incoming = translate(update)
        except Exception as error:
            collected.failure = error
            return
        if incoming is not None:
            collected.items.append(incoming)

    async def _handle(self, payload: str) -> None:
        client = self._require_client()
        collected = _Collected()
        # pywa calls the handlers in this task, so they find this event's list here.
        _COLLECTED.set(collected)
        await client.webhook_update_handler(payload.encode("utf-8"))
        received = collected.items
        if collected.failure is not None:
            raise collected.failure
        if not received and not _ignorable(payload):
            # pywa logs and swallows what it cannot read: record it as failed, with why.
            raise UnreadableEvent("pywa could not read it as a WhatsApp message or status")
        for item in received:
            if isinstance(item, MessageStatus):
                await self._status(item)
            else:
                await self._customer(item)

    async def _customer(self, incoming: Incoming) -> None:
        if incoming.kind is IncomingKind.BUTTON and not await self._offered(incoming):
            await self._chats.customer_wrote(incoming.address, at=self._now())
            return
        if incoming.message_ref:
            incoming = replace(
                incoming, message_ref=await self._chats.original_of(incoming.message_ref)
            )
        await self._chats.customer_wrote(incoming.address, at=self._now())
        if incoming.external_id:
            with contextlib.suppress(Exception):  # blue ticks are a courtesy
                await self._require_client().mark_message_as_read(incoming.external_id)
        alerts = await self._chats.held_alerts(incoming.address)
        if alerts:
            # A team member's reply to the alert template (its quick reply, or any message)
            # opened the window: it brings the alerts, and is not itself relayed to a customer.
            # A tap on an earlier alert's button, or a command, is still acted on.
            await self._send_held_alerts(incoming.address, alerts)
            if incoming.kind is IncomingKind.TEXT:
                return
        held = await self._chats.held(incoming.address)
        if held is not None and not await self._still_open(held):
            # The survey expired (or ended otherwise) while the template waited for a reply.
            await self._chats.release(incoming.address, held)
            held = None
        if held is not None:
            if incoming.kind is IncomingKind.COMMAND and incoming.command == "stop":
                await self._chats.release(incoming.address, held)
            elif incoming.kind is not IncomingKind.BUTTON or not incoming.payload:
                # Their reply to the template opened the window: now the question.
                await self._send_held(incoming.address, held)
                return
        await self.deliver(incoming)

    async def _offered(self, incoming: Incoming) -> bool:
        """A tapped button or list row counts only if the message it sat on carried it.

        A client (or anyone who can post to Meta as the customer) can send any id with any
        message as its context, as a Telegram client can any callback data; WhatsApp cannot
        edit, so the buttons stay on a message and the id must be among those palaute sent.
        """
        tapped, choice = incoming.message_ref, incoming.payload or ""
        if (
            tapped
            and tapped != incoming.external_id
            and await self._chats.offers(tapped, incoming.address, choice)
        ):
            return True
        log.warning("ignored a WhatsApp button or list reply not offered by message %s", tapped)
        return False

    async def _still_open(self, held: str) -> bool:
        invitation_id = json.loads(held).get("invitation_id")
        if invitation_id is None:
            return True
        invitation = await self._invitations.get(int(invitation_id))
        return invitation is not None and invitation.state in OPEN_STATES

    async def _send_held(self, address: str, held: str) -> None:
        data = json.loads(held)
        rows = tuple(
            tuple(Button(str(b["label"]), str(b["payload"])) for b in row) for row in data["rows"]
        )
        language = data.get("language")
        parts = [render(str(data["text"]), rows, language)]
        if data.get("intro"):
            parts.insert(0, render(str(data["intro"]), (), language))
        for attempt in range(1, HELD_SEND_ATTEMPTS + 1):
            try:
                while parts:
                    await self._send_rendered(address, parts[0])
                    parts.pop(0)
                break
            except errors.DeliveryError as failure:
                if failure.permanent or attempt == HELD_SEND_ATTEMPTS:
                    raise
                await asyncio.sleep(failure.retry_after or 1.0)
        await self._chats.release(address, held)

    async def _status(self, update: MessageStatus) -> None:
        error = update.error
        recorded = await self._chats.record_status(
            update.id,
            str(update.status),
            at=update.timestamp.timestamp(),
            error_code=error.code if error is not None else None,
            error=_reason(error) if error is not None else None,
        )
        if recorded is None or str(update.status) != "failed" or error is None:
            return
        reason = _reason(error)
        if errors.is_permanent_code(error.code):
            contact = await self._contacts.find(CHANNEL, recorded.address)
            if contact is not None:
                await self._contacts.set_unreachable(contact.id, now=self._now(), reason=reason)
            log.warning("WhatsApp cannot reach %s: %s", recorded.address, reason)
        else:
            log.warning("a WhatsApp message to %s failed: %s", recorded.address, reason)

    # ------------------------------------------------------------------ outgoing

    async def send_prompt(self, address: str, prompt: OutgoingPrompt) -> str:
        if not await self._in_window(address):
            return await self._open_with_template(address, prompt)
        language = await self._language(prompt) or self._default_language
        question = render(prompt.text, prompt.rows, language)
        greeting = (address, prompt.intro, prompt.text)
        if prompt.intro and greeting not in self._greeted:
            await self._send_rendered(address, render(prompt.intro, (), language))
            # A retry of this item after the question failed must not greet them twice.
            self._greeted.add(greeting)
        ref = await self._send_rendered(address, question)
        self._greeted.discard(greeting)
        return ref

    async def send_text(
        self, address: str, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> str:
        if not await self._in_window(address):
            raise rejected_message(
                "WhatsApp: the customer has not written within 24 hours; outside that window"
                " only an approved template may be sent"
            )
        language = await self._chats.language_of(address)
        return await self._send_rendered(
            address, render(text, buttons, language or self._default_language)
        )

    async def edit(self, address: str, message_ref: str, text: str) -> None:
        """WhatsApp cannot edit a message: the customer's own reply, quoting the question, is
        the confirmation of their answer."""

    async def send_team(self, address: str, message: TeamDocument) -> str:
        """An alert or report; outside the team member's 24-hour window it opens with the alert
        template (its headline as {{1}}) and follows once they reply."""
        if await self._in_window(address):
            rendered = render(message.text, message.buttons, self._default_language)
            return await self._send_rendered(address, rendered)
        template = self.config.alert_template
        if template is None:
            raise rejected_message(
                "WhatsApp: the team member has not written within 24 hours; outside that"
                " window only an approved template may be sent: set [whatsapp] alert_template"
                " (palaute check explains)"
            )
        render(message.text, message.buttons, self._default_language)  # refused now if unfit
        ref = await self._send_template(
            address, template, [headline_of(message)], self._default_language
        )
        await self._chats.hold_alert(address, _held_alert(ref, message), now=self._now())
        return ref

    async def edit_team(self, address: str, message_ref: str, message: TeamDocument) -> None:
        """WhatsApp cannot edit: an alert that changed comes again, quoting the first one, and
        a reply to either is a reply to the alert."""
        if not await self._in_window(address):
            held = await self._chats.held_alerts(address)
            if any(alert.get("ref") == message_ref for alert in held):
                # Still waiting behind the alert template: the reply brings the latest version.
                await self._chats.hold_alert(
                    address, _held_alert(message_ref, message), now=self._now()
                )
                return
            raise rejected_message(
                "WhatsApp: the team member has not written within 24 hours; the alert's update"
                " cannot be sent (free-form messages need the 24-hour window)"
            )
        rendered = render(message.text, message.buttons, self._default_language)
        await self._send_rendered(address, rendered, copy_of=message_ref)

    async def _send_held_alerts(self, address: str, alerts: list[dict[str, Any]]) -> None:
        """The team member replied to the alert template: each alert it stood for, quoting
        the template, so that a reply to it is a reply to the alert (its ref)."""
        for alert in alerts:
            rows = tuple(
                tuple(Button(str(b["label"]), str(b["payload"])) for b in row)
                for row in alert.get("buttons", [])
            )
            rendered = render(str(alert["text"]), rows, self._default_language)
            await self._send_rendered(address, rendered, copy_of=str(alert["ref"]))
            await self._chats.release_alert(address, str(alert["ref"]))

    async def _send_rendered(
        self, address: str, rendered: Rendered, *, copy_of: str | None = None
    ) -> str:
        client, to = self._require_client(), self._to(address)
        try:
            if rendered.kind == "buttons":
                sent = await client.send_message(
                    to,
                    rendered.text,
                    buttons=[ReplyButton(title, payload) for payload, title in rendered.buttons],
                    reply_to_message_id=copy_of,
                )
            elif rendered.kind == "list":
                rows = [
                    SectionRow(title, payload, description=description or None)
                    for payload, title, description in rendered.rows
                ]
                sent = await client.send_message(
                    to,
                    rendered.text,
                    buttons=SectionList(
                        rendered.list_button, [Section(rendered.list_button, rows)]
                    ),
                    reply_to_message_id=copy_of,
                )
            else:
                sent = await client.send_message(to, rendered.text, reply_to_message_id=copy_of)
        except Exception as error:
            raise errors.delivery_error(error) from error
        choices = [payload for payload, _ in rendered.buttons] + [
            payload for payload, _, _ in rendered.rows
        ]
        await self._chats.record_sent(
            sent.id, address, rendered.kind, now=self._now(), copy_of=copy_of, choices=choices
        )
        return sent.id

    async def _open_with_template(self, address: str, prompt: OutgoingPrompt) -> str:
        touchpoint, properties, language = await self._invitation_context(prompt)
        template = self.config.templates.get(touchpoint or "")
        if template is None:
            raise rejected_message(
                f"WhatsApp: {address} has not written within 24 hours, so only an approved"
                f" template may start the conversation; add [whatsapp.templates.{touchpoint}]"
                " (palaute check explains)"
            )
        params = template_parameters(template, properties)
        held = json.dumps(
            {
                "invitation_id": prompt.invitation_id,
                "intro": prompt.intro,
                "text": prompt.text,
                "language": language,
                "rows": [
                    [{"label": b.label, "payload": b.payload} for b in row] for row in prompt.rows
                ],
            },
            ensure_ascii=False,
        )
        await self._chats.hold(address, held, now=self._now())
        return await self._send_template(
            address, template, params, language or self._default_language
        )

    async def _send_template(
        self, address: str, template: WhatsAppTemplate, params: list[str], language: str
    ) -> str:
        client = self._require_client()
        try:
            language_code = TemplateLanguage(template.language_for(language))
        except ValueError:
            raise rejected_message(
                f"WhatsApp: template language {template.languages!r} is not one WhatsApp knows"
            ) from None
        try:
            sent = await client.send_template(
                self._to(address),
                name=template.name,
                language=language_code,
                # pywa declares params() without self or @staticmethod, so mypy takes the first value
                # for `self`; it is called on the class, as pywa's own examples do.
                params=[BodyText.params(*params)] if params else None,  # type: ignore[arg-type]
            )
        except Exception as error:
            raise errors.delivery_error(error) from error
        await self._chats.record_sent(sent.id, address, "template", now=self._now())
        return sent.id

    async def _invitation_context(
        self, prompt: OutgoingPrompt
    ) -> tuple[str | None, dict[str, Any], str | None]:
        if prompt.invitation_id is None:
            return None, {}, None
        invitation = await self._invitations.get(prompt.invitation_id)
        if invitation is None:
            return None, {}, None
        return invitation.touchpoint, dict(invitation.properties), invitation.language

    async def _language(self, prompt: OutgoingPrompt) -> str | None:
        return (await self._invitation_context(prompt))[2]

    async def _in_window(self, address: str) -> bool:
        last = await self._chats.last_inbound(address)
        if last is None:
            return False
        open_for = (SERVICE_WINDOW - WINDOW_MARGIN).total_seconds()
        return self._now() - last < open_for

    # ------------------------------------------------------------------ helpers

    def _to(self, address: str) -> str:
        try:
            return wa_id(address_of(address.removeprefix("+")))
        except NotAPhoneNumber as error:
            raise rejected_message(f"WhatsApp: {error}") from None

    def _now(self) -> float:
        return self._clock.now()

    def _require_client(self) -> WhatsApp:
        if self._client is None:
            raise temporary_failure("the WhatsApp channel is not running")
        return self._client


def signature_matches(body: bytes, header: str, config: WhatsAppConfig) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`.

    Compared in constant time as bytes: pywa's own validator compares str, which raises on a
    header with non-ASCII characters (a 500 instead of a 401).
    """
    expected = hmac.new(config.app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    given = header.removeprefix("sha256=")
    return bool(header.startswith("sha256=")) and same_secret(given, expected)


MAX_HEADLINE = 200
"""The alert template's {{1}}: a headline, not the message (which follows the reply)."""


def headline_of(message: TeamDocument) -> str:
    """A team message's headline as a template parameter: one line (Meta refuses a parameter
    with a new line, a tab or more than 4 spaces in a row, error 132018), cut to MAX_HEADLINE."""
    first = next((line for line in message.text.splitlines() if line.strip()), "")
    headline = " ".join((message.title or first).split()) or "palaute"
    return headline if len(headline) <= MAX_HEADLINE else headline[: MAX_HEADLINE - 1] + "…"


def _held_alert(ref: str, message: TeamDocument) -> dict[str, Any]:
    return {
        "ref": ref,
        "text": message.text,
        "buttons": [
            [{"label": b.label, "payload": b.payload} for b in row] for row in message.buttons
        ],
    }


def template_parameters(template: WhatsAppTemplate, properties: dict[str, Any]) -> list[str]:
    """The template's {{1}}, {{2}}, … from the touchpoint's properties, in order."""
    values: list[str] = []
    for name in template.parameters:
        value = properties.get(name)
        text = " ".join(str(value).split()) if value is not None else ""
        if not text:
            raise rejected_message(
                f"WhatsApp: template {template.name} needs the property {name!r}, which this"
                " touchpoint's trigger did not give"
            )
        values.append(text)
    return values


def translate(update: Any) -> Incoming | None:
    """A customer's message, button tap or list pick as palaute's `Incoming`."""
    user = getattr(update, "from_user", None)
    number = getattr(user, "wa_id", None)
    if not number:
        return None  # a user who hides their number behind a username: no address to keep
    try:
        address = address_of(str(number))
    except NotAPhoneNumber:
        log.warning("ignored a WhatsApp message from an unreadable number")
        return None
    reply_to = getattr(update, "reply_to_message", None)
    quoted = getattr(reply_to, "id", None) if reply_to is not None else None
    common: dict[str, Any] = {
        "channel": CHANNEL,
        "address": address,
        "display_name": getattr(user, "name", None),
        "external_id": update.id,
        "message_ref": quoted or update.id,
    }
    if isinstance(update, CallbackButton | CallbackSelection):
        data = str(update.data)
        if isinstance(update, CallbackButton) and update.is_quick_reply:
            # A template's quick reply: its payload is the template's, not one of palaute's,
            # and it answers the template, not a message of the team's thread (the alert
            # template's ref is the alert's): it quotes nothing.
            common["message_ref"] = update.id
            return Incoming(kind=IncomingKind.TEXT, text=update.title or data, **common)
        return Incoming(kind=IncomingKind.BUTTON, payload=data, **common)
    if isinstance(update, Message):
        text = update.text or update.caption or ""
        word = text.strip().lower().rstrip(".!")
        for words, command in ((STOP_WORDS, "stop"), (START_WORDS, "start"), (HELP_WORDS, "help")):
            if word in words:
                # WhatsApp does not say which language the customer uses; the word does.
                language = "fi" if word in FINNISH_WORDS else None
                return Incoming(
                    kind=IncomingKind.COMMAND,
                    command=command,
                    text=text,
                    language=language,
                    **common,
                )
        return Incoming(kind=IncomingKind.TEXT, text=text, **common)
    return None


def _reason(error: Any) -> str:
    reason = f"WhatsApp error {error.code}: {error.message}"
    if getattr(error, "details", None):
        reason += f" ({error.details})"
    return reason


def pacing(config: WhatsAppConfig) -> Limits:
    """Meta's throughput per business number and the pair rate per customer, a little under."""
    pace = config.pace
    return Limits(
        per_second=pace.messages_per_second * 0.95,
        burst=1,
        per_chat_per_second=0.95 / pace.seconds_between_messages_per_user,
        per_chat_burst=pace.per_user_burst,
        edits_in_global=False,
    )


def build(context: ChannelContext) -> WhatsAppChannel:
    """The adapter as the app builds it (named by the spec: bot/channels/whatsapp/spec.py)."""
    return WhatsAppChannel(context.settings, context)
