"""A fake WhatsApp Business Platform (Cloud API) for tests: the Graph API's `/messages` endpoint
over real HTTP on loopback, and webhooks delivered to palaute as Meta delivers them.

    fake = FakeWhatsApp(templates=[FakeTemplate("palaute_feedback", "fi", body_params=1)])
    await fake.start()
    fake.webhook_url = "http://127.0.0.1:PORT/whatsapp/webhook"
    # palaute's [whatsapp] base_url = fake.base_url, the same phone_number_id, token, app secret

Customers act through `customer_text`, `customer_taps` and `customer_reads`; the business side
is what pywa sends. `transcript(wa_id)` is the chat as the customer's phone would show it.

Strict as the platform: every limit below is checked and answered with the Cloud API's own
error code and message (pywa's `pywa.errors` maps the codes to its exception classes, which is
what palaute sees). Limits are cited where they are checked. Where the real platform answers a
send with 200 and fails it later in a status webhook (the 24-hour window, a number without
WhatsApp), the fake does the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.loopback import serve

log = logging.getLogger(__name__)

JSON = dict[str, Any]

# --- Limits, each from Meta's Cloud API reference as pywa quotes it ------------------------
# pywa WhatsApp.send_message `text`: "max 4096 characters" (Cloud API "Text messages": body).
MAX_TEXT_BODY = 4096
# pywa send_message `text` with buttons / `body` of interactive messages: "up to 1024
# characters" (Cloud API "Interactive reply buttons messages" and "list messages": body.text).
MAX_INTERACTIVE_BODY = 1024
# pywa `header` / `footer` of send_message: "up to 60 characters".
MAX_HEADER = 60
MAX_FOOTER = 60
# pywa types.Button: "up to three predefined replies", title "up to 20 characters",
# callback_data "up to 256 characters" (reply.id).
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
# pywa types.SectionList: "up to 10 sections, with up to 10 rows for all sections combined",
# button_title "up to 20 characters"; types.Section title "up to 24 characters"; types.SectionRow
# title "up to 24 characters", description "up to 72 characters", callback_data "up to 200
# characters" (Cloud API list messages say 200 for a row id).
MAX_SECTIONS = 10
MAX_LIST_ROWS = 10
MAX_LIST_BUTTON = 20
MAX_SECTION_TITLE = 24
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ROW_ID = 200
# The customer service window: free-form messages only within 24 hours of the customer's last
# message; otherwise the send fails with 131047 (pywa.errors.ReEngagementMessage: "More than 24
# hours have passed since the recipient last replied to the sender number"), reported in a
# "failed" status webhook after the send was accepted.
SERVICE_WINDOW_SECONDS = 24 * 3600
# Meta, Cloud API "Throughput": 80 messages a second per business phone number by default
# (130429, pywa.errors.RateLimitHit "Cloud API message throughput has been reached").
DEFAULT_THROUGHPUT = 80.0
# Meta, Cloud API "Pair rate limits": one message every 6 seconds to the same user, with bursts
# of up to 45 messages in 6 seconds borrowed against later quota (131056,
# pywa.errors.TooManyMessages "Too many messages sent from the sender phone number to the same
# recipient phone number in a short period of time").
DEFAULT_PAIR_INTERVAL = 6.0
DEFAULT_PAIR_BURST = 45
# E.164: at most 15 digits including the country code.
MAX_PHONE_DIGITS = 15

# Meta "Webhooks": a delivery that does not get a 200 is retried with decreasing frequency for
# up to 7 days. The fake retries on a compressed schedule so that a test sees the retries.
RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0, 4.0)

_WAMID = itertools.count(1)


def bsuid(wa_id: str) -> str:
    """A business-scoped user id: an ISO country code, a dot and digits (pywa types.User)."""
    digits = hashlib.sha256(wa_id.encode()).hexdigest()
    return f"FI.{int(digits[:16], 16)}"


def new_wamid() -> str:
    return f"wamid.FAKE{next(_WAMID):012d}"


class GraphError(Exception):
    def __init__(self, code: int, title: str, details: str, *, status: int = 400) -> None:
        super().__init__(f"({code}) {title}: {details}")
        self.code = code
        self.title = title
        self.details = details
        self.status = status

    def body(self) -> JSON:
        return {
            "error": {
                "message": f"({'#' + str(self.code)}) {self.title}",
                "type": "OAuthException",
                "code": self.code,
                "error_data": {"messaging_product": "whatsapp", "details": self.details},
                "fbtrace_id": "AfakeTraceId",
            }
        }


def _invalid(details: str) -> GraphError:
    return GraphError(131009, "Parameter value is not valid", details)


def _missing(details: str) -> GraphError:
    return GraphError(131008, "Required parameter is missing", details)


@dataclass(frozen=True)
class FakeTemplate:
    """An approved message template: its name, language and body with `{{1}}`… parameters."""

    name: str
    language: str
    body: str
    quick_replies: tuple[str, ...] = ()

    @property
    def body_params(self) -> int:
        count = 0
        while "{{" + str(count + 1) + "}}" in self.body:
            count += 1
        return count

    def render(self, params: list[str]) -> str:
        text = self.body
        for index, value in enumerate(params, start=1):
            text = text.replace("{{" + str(index) + "}}", value)
        return text


@dataclass
class SentMessage:
    """A message the business sent, as the platform accepted it."""

    id: str
    to: str
    type: str
    payload: JSON
    text: str
    buttons: tuple[tuple[str, str], ...] = ()
    """(id, title) of reply buttons, or of a template's quick replies."""
    rows: tuple[tuple[str, str, str], ...] = ()
    """(id, title, description) of a list message's rows."""
    list_button: str | None = None
    template: str | None = None
    statuses: list[str] = field(default_factory=list)
    failed_with: int | None = None
    sent_at: float = 0.0

    @property
    def button_titles(self) -> list[str]:
        return [title for _, title in self.buttons]

    @property
    def row_titles(self) -> list[str]:
        return [title for _, title, _ in self.rows]


@dataclass
class ChatLine:
    """One bubble of a chat: who wrote it and what it shows."""

    by: str  # "business" or "customer"
    text: str
    choices: tuple[str, ...] = ()
    list_button: str | None = None
    template: str | None = None
    status: str | None = None
    at: float = 0.0


@dataclass
class Delivery:
    """One webhook POST the fake made."""

    body: bytes
    status: int | None
    """The HTTP status palaute answered, None when the connection failed."""


class FakeWhatsApp:
    def __init__(
        self,
        *,
        token: str = "test-whatsapp-token",
        app_secret: str = "test-app-secret",
        phone_number_id: str = "106540352242922",
        display_phone_number: str = "15550783881",
        waba_id: str = "102290129340398",
        api_version: str = "v23.0",
        templates: list[FakeTemplate] | None = None,
        throughput_per_second: float = DEFAULT_THROUGHPUT,
        pair_interval: float = DEFAULT_PAIR_INTERVAL,
        pair_burst: int = DEFAULT_PAIR_BURST,
        auto_statuses: bool = True,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.waba_id = waba_id
        self.api_version = api_version
        self.templates = {(t.name, t.language): t for t in templates or []}
        self.throughput_per_second = throughput_per_second
        self.pair_interval = pair_interval
        self.pair_burst = pair_burst
        self.auto_statuses = auto_statuses
        self.now = now
        self.webhook_url: str | None = None
        self.base_url = ""
        self.sent: list[SentMessage] = []
        self.errors: list[GraphError] = []
        self.read_marks: list[str] = []
        self.deliveries: list[Delivery] = []
        self.chats: dict[str, list[ChatLine]] = defaultdict(list)
        self.names: dict[str, str] = {}
        self.last_customer_message: dict[str, float] = {}
        self.not_on_whatsapp: set[str] = set()
        """Numbers without WhatsApp: sends are accepted, then fail with 131026."""
        self.read_marks_answered = asyncio.Event()
        """Cleared, mark-as-read requests hang: the Graph API is slow (for crash tests)."""
        self.read_marks_answered.set()
        self.slow_readers: set[str] | None = None
        """Whose messages' read marks wait for `read_marks_answered` (None: everyone's)."""
        self._customer_of: dict[str, str] = {}
        self.fail_next: deque[GraphError] = deque()
        """Errors answered to the next sends, first in first out (for fault tests)."""
        self._pair_tokens: dict[str, tuple[float, float]] = {}
        self._second: deque[float] = deque()
        self._by_id: dict[str, SentMessage] = {}
        self._runner: web.AppRunner | None = None
        self._webhooks: asyncio.Queue[bytes] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._in_flight = 0

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{version}/{phone_id}/messages", self._messages)
        self._runner, self.base_url = await serve(app)
        self._session = aiohttp.ClientSession()
        self._sender = asyncio.create_task(self._deliver_webhooks())

    async def stop(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---------------------------------------------------------------- the Graph API

    async def _messages(self, request: web.Request) -> web.Response:
        try:
            self._authorize(request)
            if request.match_info["version"] != self.api_version:
                raise GraphError(2635, "Deprecated API version", request.match_info["version"])
            if request.match_info["phone_id"] != self.phone_number_id:
                raise GraphError(
                    100,
                    "Invalid parameter",
                    f"Unsupported post request. Object with ID '{request.match_info['phone_id']}'"
                    " does not exist",
                )
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise GraphError(100, "Invalid parameter", "the body is not JSON") from None
            if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
                raise _missing('messaging_product must be "whatsapp"')
            if body.get("status") == "read":
                sender = self._customer_of.get(str(body.get("message_id")))
                if self.slow_readers is None or sender in self.slow_readers:
                    await self.read_marks_answered.wait()  # a slow Graph API
                return web.json_response(self._mark_read(body))
            return web.json_response(self._send(body))
        except GraphError as error:
            self.errors.append(error)
            return web.json_response(error.body(), status=error.status)

    def _authorize(self, request: web.Request) -> None:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given, f"Bearer {self.token}"):
            raise GraphError(
                190, "Invalid OAuth access token", "Cannot parse access token", status=401
            )

    def _mark_read(self, body: JSON) -> JSON:
        message_id = body.get("message_id")
        if not isinstance(message_id, str) or not message_id.startswith("wamid."):
            raise _invalid("message_id must be the id of a message the customer sent")
        self.read_marks.append(message_id)
        return {"success": True}

    def _send(self, body: JSON) -> JSON:
        allowed = {"messaging_product", "recipient_type", "to", "type", "context",
                   "biz_opaque_callback_data", "text", "interactive", "template"}  # fmt: skip
        unknown = set(body) - allowed
        if unknown:
            raise GraphError(100, "Invalid parameter", f"unexpected key(s) {sorted(unknown)}")
        to = self._recipient(body.get("to"))
        if self.fail_next:
            raise self.fail_next.popleft()
        kind = body.get("type", "text")
        if kind == "text":
            message = self._text(to, body)
        elif kind == "interactive":
            message = self._interactive(to, body)
        elif kind == "template":
            message = self._template(to, body)
        else:
            raise _invalid(f"type {kind!r} is not one the fake knows")
        self._pace(to)
        message.sent_at = self.now()
        self.sent.append(message)
        self._by_id[message.id] = message
        line = ChatLine(
            "business",
            message.text,
            tuple(message.button_titles or message.row_titles),
            message.list_button,
            message.template,
            at=message.sent_at,
        )
        self.chats[to].append(line)
        failure = self._failure_for(to, message)
        if failure is not None:
            self.report_status(message, "failed", error=failure)
        elif self.auto_statuses:
            self.report_status(message, "sent")
            self.report_status(message, "delivered")
        answer: JSON = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": to}],
            "messages": [{"id": message.id}],
        }
        if kind == "template":
            answer["messages"][0]["message_status"] = "accepted"
        return answer

    def _recipient(self, to: object) -> str:
        if not isinstance(to, str) or not to:
            raise _missing("to is required")
        digits = to.removeprefix("+")
        if not digits.isdigit() or not 8 <= len(digits) <= MAX_PHONE_DIGITS:
            raise _invalid(f"to {to!r} is not a phone number in international format")
        return digits

    def _failure_for(self, to: str, message: SentMessage) -> tuple[int, str, str] | None:
        if to in self.not_on_whatsapp:
            return (131026, "Message undeliverable", "the number has no WhatsApp account")
        if message.type != "template" and not self.in_window(to):
            return (
                131047,
                "Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the"
                " customer last replied to this number.",
            )
        return None

    def in_window(self, wa_id: str) -> bool:
        last = self.last_customer_message.get(wa_id)
        return last is not None and self.now() - last < SERVICE_WINDOW_SECONDS

    def _pace(self, to: str) -> None:
        now = time.monotonic()
        while self._second and now - self._second[0] >= 1.0:
            self._second.popleft()
        if len(self._second) >= self.throughput_per_second:
            raise GraphError(
                130429,
                "Rate limit hit",
                "Cloud API message throughput has been reached.",
            )
        # A token bucket per recipient: `pair_burst` at once, then one each `pair_interval`.
        tokens, since = self._pair_tokens.get(to, (float(self.pair_burst), now))
        tokens = min(float(self.pair_burst), tokens + (now - since) / self.pair_interval)
        if tokens < 1.0:
            self._pair_tokens[to] = (tokens, now)
            raise GraphError(
                131056,
                "(Business Account, Consumer Account) pair rate limit hit",
                "Too many messages sent from the sender phone number to the same recipient"
                " phone number in a short period of time.",
            )
        self._pair_tokens[to] = (tokens - 1.0, now)
        self._second.append(now)

    def _text(self, to: str, body: JSON) -> SentMessage:
        text = body.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("body"), str):
            raise _missing("text.body is required")
        value = text["body"]
        _length(value, 1, MAX_TEXT_BODY, "text.body")
        return SentMessage(new_wamid(), to, "text", body, value)

    def _interactive(self, to: str, body: JSON) -> SentMessage:
        interactive = body.get("interactive")
        if not isinstance(interactive, dict):
            raise _missing("interactive is required")
        text = _nested_text(interactive, "body", required=True)
        _length(text, 1, MAX_INTERACTIVE_BODY, "interactive.body.text")
        if "header" in interactive:
            header = interactive["header"]
            if not isinstance(header, dict) or header.get("type") != "text":
                raise _invalid("interactive.header must be a text header")
            _length(str(header.get("text", "")), 1, MAX_HEADER, "interactive.header.text")
        if "footer" in interactive:
            footer = _nested_text(interactive, "footer", required=True)
            _length(footer, 1, MAX_FOOTER, "interactive.footer.text")
        action = interactive.get("action")
        if not isinstance(action, dict):
            raise _missing("interactive.action is required")
        kind = interactive.get("type")
        if kind == "button":
            buttons = action.get("buttons")
            if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_REPLY_BUTTONS:
                raise _invalid(
                    f"interactive.action.buttons: between 1 and {MAX_REPLY_BUTTONS} buttons"
                )
            parsed: list[tuple[str, str]] = []
            for index, button in enumerate(buttons):
                where = f"interactive.action.buttons[{index}]"
                reply = button.get("reply") if isinstance(button, dict) else None
                if (
                    not isinstance(button, dict)
                    or button.get("type") != "reply"
                    or not isinstance(reply, dict)
                ):
                    raise _invalid(f"{where} must be a reply button")
                title, button_id = str(reply.get("title", "")), str(reply.get("id", ""))
                _length(title, 1, MAX_BUTTON_TITLE, f"{where}.reply.title", "Button title length")
                _length(button_id, 1, MAX_BUTTON_ID, f"{where}.reply.id")
                parsed.append((button_id, title))
            if len({title for _, title in parsed}) != len(parsed):
                raise _invalid("Button titles must be unique")
            if len({button_id for button_id, _ in parsed}) != len(parsed):
                raise _invalid("Button ids must be unique")
            return SentMessage(new_wamid(), to, "interactive", body, text, buttons=tuple(parsed))
        if kind == "list":
            label = str(action.get("button", ""))
            _length(label, 1, MAX_LIST_BUTTON, "interactive.action.button")
            sections = action.get("sections")
            if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
                raise _invalid(f"interactive.action.sections: between 1 and {MAX_SECTIONS}")
            rows: list[tuple[str, str, str]] = []
            for s_index, section in enumerate(sections):
                where = f"interactive.action.sections[{s_index}]"
                if not isinstance(section, dict) or not isinstance(section.get("rows"), list):
                    raise _missing(f"{where}.rows is required")
                if len(sections) > 1 or "title" in section:
                    # A title is required when there is more than one section.
                    _length(str(section.get("title", "")), 1, MAX_SECTION_TITLE, f"{where}.title")
                for r_index, row in enumerate(section["rows"]):
                    row_where = f"{where}.rows[{r_index}]"
                    if not isinstance(row, dict):
                        raise _invalid(f"{row_where} must be an object")
                    title, row_id = str(row.get("title", "")), str(row.get("id", ""))
                    description = str(row.get("description", ""))
                    _length(title, 1, MAX_ROW_TITLE, f"{row_where}.title", "Row title length")
                    _length(row_id, 1, MAX_ROW_ID, f"{row_where}.id")
                    _length(description, 0, MAX_ROW_DESCRIPTION, f"{row_where}.description")
                    rows.append((row_id, title, description))
            if not 1 <= len(rows) <= MAX_LIST_ROWS:
                raise _invalid(f"Total row count exceed max allowed count: {MAX_LIST_ROWS}")
            if len({row_id for row_id, _, _ in rows}) != len(rows):
                raise _invalid("Row ids must be unique")
            return SentMessage(
                new_wamid(), to, "interactive", body, text, rows=tuple(rows), list_button=label
            )
        raise _invalid(f"interactive.type {kind!r}: the fake knows button and list")

    def _template(self, to: str, body: JSON) -> SentMessage:
        spec = body.get("template")
        if not isinstance(spec, dict):
            raise _missing("template is required")
        language = spec.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        template = self.templates.get((str(spec.get("name")), str(code)))
        if template is None:
            raise GraphError(
                132001,
                "Template name does not exist in the translation",
                f"template name ({spec.get('name')}) does not exist in {code}",
            )
        params: list[str] = []
        for component in spec.get("components") or []:
            if str(component.get("type", "")).lower() != "body":
                raise _invalid("the fake's templates have parameters in the body only")
            for parameter in component.get("parameters") or []:
                if parameter.get("type") != "text" or not isinstance(parameter.get("text"), str):
                    raise _invalid("body parameters must be text")
                # Meta, "Template messages": error 132018 for a parameter with a new line, a
                # tab or more than 4 consecutive spaces (and an empty one).
                text = parameter["text"]
                if not text.strip() or "\n" in text or "\t" in text or " " * 5 in text:
                    raise GraphError(
                        132018,
                        "There was an issue with the parameters in your template",
                        "a parameter must not be empty or hold new lines, tabs or more than"
                        " 4 consecutive spaces",
                    )
                params.append(parameter["text"])
        if len(params) != template.body_params:
            raise GraphError(
                132000,
                "Number of parameters does not match the expected number of params",
                f"body: number of localizable_params ({len(params)}) does not match the"
                f" expected number of params ({template.body_params})",
            )
        buttons = tuple((title, title) for title in template.quick_replies)
        return SentMessage(
            new_wamid(),
            to,
            "template",
            body,
            template.render(params),
            buttons=buttons,
            template=template.name,
        )

    # ---------------------------------------------------------------- customers

    async def customer_text(
        self, wa_id: str, text: str, *, name: str = "Anna", reply_to: str | None = None
    ) -> str:
        """The customer types `text`; with `reply_to`, as a reply quoting that message."""
        message: JSON = {"type": "text", "text": {"body": text}}
        if reply_to is not None:
            assert reply_to in self._by_id, f"{reply_to} is no message the business sent"
            message["context"] = {"from": self.display_phone_number, "id": reply_to}
        self.chats[wa_id].append(ChatLine("customer", text, at=self.now()))
        return self._customer_message(wa_id, name, message)

    async def customer_taps(self, wa_id: str, title: str, *, name: str = "Anna") -> str:
        """Tap a reply button (or a template's quick reply) or pick a list row, on the latest
        business message that offers `title`."""
        for sent in reversed(self.sent):
            if sent.to != wa_id:
                continue
            for button_id, button_title in sent.buttons:
                if button_title == title:
                    if sent.type == "template":
                        message: JSON = {
                            "type": "button",
                            "button": {"payload": button_id, "text": title},
                        }
                    else:
                        message = {
                            "type": "interactive",
                            "interactive": {
                                "type": "button_reply",
                                "button_reply": {"id": button_id, "title": title},
                            },
                        }
                    message["context"] = {"from": self.display_phone_number, "id": sent.id}
                    self.chats[wa_id].append(ChatLine("customer", title, at=self.now()))
                    return self._customer_message(wa_id, name, message)
            for row_id, row_title, description in sent.rows:
                if row_title == title:
                    reply = {"id": row_id, "title": row_title}
                    if description:
                        reply["description"] = description
                    message = {
                        "type": "interactive",
                        "interactive": {"type": "list_reply", "list_reply": reply},
                        "context": {"from": self.display_phone_number, "id": sent.id},
                    }
                    self.chats[wa_id].append(ChatLine("customer", title, at=self.now()))
                    return self._customer_message(wa_id, name, message)
        raise AssertionError(f"nothing titled {title!r} was offered to {wa_id}")

    async def customer_replies_with_id(
        self, wa_id: str, context_id: str, reply_id: str, title: str, *, list_reply: bool = False
    ) -> str:
        """A button or list reply with any id, quoting any message: what a modified client, or
        a tap on a message whose buttons have since changed meaning, sends. Meta relays the
        interactive reply as the client sent it; only the business can know what it offered."""
        kind = "list_reply" if list_reply else "button_reply"
        message: JSON = {
            "type": "interactive",
            "interactive": {"type": kind, kind: {"id": reply_id, "title": title}},
            "context": {"from": self.display_phone_number, "id": context_id},
        }
        return self._customer_message(wa_id, "Anna", message)

    def customer_reads(self, wa_id: str) -> None:
        for sent in self.sent:
            if sent.to == wa_id and sent.failed_with is None and "read" not in sent.statuses:
                self.report_status(sent, "read")

    def _customer_message(self, wa_id: str, name: str, message: JSON) -> str:
        wamid = new_wamid()
        now = self.now()
        self._customer_of[wamid] = wa_id
        self.last_customer_message[wa_id] = now
        self.names[wa_id] = name
        value = {
            "messaging_product": "whatsapp",
            "metadata": self._metadata(),
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id, "user_id": bsuid(wa_id)}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(now)), **message}],
        }
        self.post_webhook(self._envelope(value))
        return wamid

    def report_status(
        self, message: SentMessage, status: str, *, error: tuple[int, str, str] | None = None
    ) -> None:
        message.statuses.append(status)
        item: JSON = {
            "id": message.id,
            "status": status,
            "timestamp": str(int(self.now())),
            "recipient_id": message.to,
        }
        if error is not None:
            code, title, details = error
            message.failed_with = code
            item["errors"] = [
                {"code": code, "title": title, "message": title, "error_data": {"details": details}}
            ]
        for line in reversed(self.chats[message.to]):
            if line.by == "business" and line.at == message.sent_at and line.text == message.text:
                line.status = status
                break
        value = {
            "messaging_product": "whatsapp",
            "metadata": self._metadata(),
            # Since business-scoped user ids (2026) a status names its user too, as pywa's
            # MessageStatus.from_update reads it.
            "contacts": [{"wa_id": message.to, "user_id": bsuid(message.to)}],
            "statuses": [item],
        }
        self.post_webhook(self._envelope(value))

    def _metadata(self) -> JSON:
        return {
            "display_phone_number": self.display_phone_number,
            "phone_number_id": self.phone_number_id,
        }

    def _envelope(self, value: JSON) -> JSON:
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": self.waba_id, "changes": [{"value": value, "field": "messages"}]}],
        }

    # ---------------------------------------------------------------- webhooks

    def sign(self, body: bytes) -> str:
        """`X-Hub-Signature-256`: sha256= and the HMAC-SHA256 of the raw body with the app secret."""
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return f"sha256={digest}"

    def post_webhook(self, payload: JSON) -> None:
        self._webhooks.put_nowait(json.dumps(payload, separators=(",", ":")).encode())

    async def webhooks_delivered(self, timeout: float = 10.0) -> None:
        """Wait until every webhook queued so far got its 200 (or ran out of retries)."""
        deadline = time.monotonic() + timeout
        while not self._webhooks.empty() or self._in_flight:
            if time.monotonic() > deadline:
                raise AssertionError("webhooks still undelivered")
            await asyncio.sleep(0.01)

    async def _deliver_webhooks(self) -> None:
        while True:
            body = await self._webhooks.get()
            self._in_flight += 1
            try:
                await self._deliver(body)
            finally:
                self._in_flight -= 1

    async def _deliver(self, body: bytes) -> None:
        assert self._session is not None
        for delay in (0.0, *RETRY_DELAYS):
            await asyncio.sleep(delay)
            if self.webhook_url is None:
                continue
            status: int | None
            try:
                async with self._session.post(
                    self.webhook_url,
                    data=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": self.sign(body),
                    },
                    timeout=aiohttp.ClientTimeout(total=20),
                ) as response:
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = None
            self.deliveries.append(Delivery(body, status))
            if status == 200:
                return
        log.warning("the fake gave up on a webhook after %d attempts", len(RETRY_DELAYS) + 1)

    # ---------------------------------------------------------------- what tests read

    def sent_to(self, wa_id: str) -> list[SentMessage]:
        return [message for message in self.sent if message.to == wa_id]

    def last_to(self, wa_id: str) -> SentMessage:
        messages = self.sent_to(wa_id)
        assert messages, f"nothing was sent to {wa_id}"
        return messages[-1]

    def transcript(self, wa_id: str) -> list[ChatLine]:
        return list(self.chats[wa_id])

    def message(self, wamid: str) -> SentMessage:
        return self._by_id[wamid]


def _nested_text(container: JSON, key: str, *, required: bool) -> str:
    part = container.get(key)
    if part is None and not required:
        return ""
    if not isinstance(part, dict) or not isinstance(part.get("text"), str):
        raise _missing(f"{key}.text is required")
    return str(part["text"])


def _length(value: str, least: int, most: int, where: str, what: str | None = None) -> None:
    # The Cloud API counts characters (code points).
    if not least <= len(value) <= most:
        label = what or f"{where} length"
        raise _invalid(f"{label} invalid. Min length: {least}, Max length: {most} ({where})")
