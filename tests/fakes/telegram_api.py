"""A fake Telegram Bot API server for tests.

The fake is a real aiohttp HTTP server on ``127.0.0.1`` (ephemeral port) that runs on the
test's own event loop, so the unpatched python-telegram-bot library talks to it over HTTP::

    fake = FakeTelegram()
    await fake.start()
    app = (
        Application.builder()
        .token(fake.token)
        .base_url(f"{fake.base_url}/bot")
        .base_file_url(f"{fake.base_url}/file/bot")
        .build()
    )

Tests inject updates as a user (:meth:`FakeTelegram.push_text`,
:meth:`FakeTelegram.push_callback`, :meth:`FakeTelegram.push_update`) and assert on what the bot
did (:attr:`FakeTelegram.calls`, :meth:`FakeTelegram.sent_messages`).

How python-telegram-bot (22.x) sends requests, which the parameter decoding below mirrors:

* every method is a ``POST`` to ``{base_url}{token}/{method}``; without files the body is
  ``application/x-www-form-urlencoded``, with files it is ``multipart/form-data``;
* string parameters are sent verbatim, every other value (ints, bools, lists, dicts such as
  ``reply_markup`` or ``entities``) is JSON-encoded, so ``chat_id=42`` arrives as ``"42"`` and
  ``disable_notification=True`` as ``"true"``;
* an uploaded file is a multipart part named after the parameter (``photo``/``document``) with
  no form field of that name, unless PTB uses an ``attach://<name>`` URI (media groups etc.).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import itertools
import json
import logging
import math
import random
import re
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio
from aiohttp import web

from tests.loopback import serve

__all__ = [
    "FakeMessage",
    "FakeTelegram",
    "FakeUser",
    "RecordedCall",
    "UploadedFile",
    "fake_telegram",
]

JSONDict = dict[str, Any]
_LOGGER = logging.getLogger(__name__)

# Parameters that PTB sends as plain strings and that must never be JSON-decoded (a text of
# "123" or "true" is still a string).  Everything else is JSON-decoded when possible.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "ip_address",
        "callback_query_id",
        "action",
        "language_code",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "photo",
        "document",
        "thumbnail",
        "file_id",
        "emoji",
        "description",
        "short_description",
        "name",
        "title",
    }
)

# Methods that deliver a message to a chat: blocked users, rate limits and random faults apply.
_SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
_CHAT_WRITE_METHODS = _SEND_METHODS | {
    "sendChatAction",
    "editMessageText",
    "editMessageReplyMarkup",
}
_DEFAULT_FAILURE_METHODS = frozenset(
    _CHAT_WRITE_METHODS | {"answerCallbackQuery", "deleteMessage", "setMyCommands"}
)
# Update types Telegram only delivers when explicitly listed in allowed_updates.
_OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_INLINE_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
_BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
# telegram.constants.MessageLimit.MAX_TEXT_LENGTH and .CAPTION_LENGTH: "Maximum number of
# characters", counted on the text as shown, after its entities (parse_mode markup) are parsed.
# PTB and the Bot API docs both say characters (not bytes, not UTF-16 code units), so the fake
# counts code points.
_MAX_TEXT_LENGTH = 4096
# telegram.constants.InlineKeyboardMarkupLimit: TOTAL_BUTTON_NUMBER = 100, BUTTONS_PER_ROW = 8
# (undocumented by Telegram, measured by the PTB team). Past 100 buttons Telegram answers
# "Bad Request: reply markup is too long" (e.g. eternnoir/pyTelegramBotAPI#511,
# rubenlagus/TelegramBots#218). Past 8 in a row it has been seen to accept the message while
# clients do not show the buttons that do not fit (eternnoir/pyTelegramBotAPI#930); the fake
# refuses that too, with the same answer, so a keyboard a customer could not use fails a test.
_MAX_INLINE_BUTTONS = 100
_MAX_INLINE_BUTTONS_PER_ROW = 8
_MARKUP_TOO_LONG = "Bad Request: reply markup is too long"
_MAX_CAPTION_LENGTH = 1024
_MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class ApiError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, ...}``."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        fault: str | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id
        self.fault = fault

    def body(self) -> JSONDict:
        """Telegram's error object: `parameters` (ResponseParameters) only when there is one."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        parameters: JSONDict = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


# --------------------------------------------------------------------------------------------
# Data records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded (multipart part) or referenced (file_id / URL)."""

    filename: str | None
    content_type: str | None
    data: bytes
    url: str | None = None


@dataclass(frozen=True)
class RecordedCall:
    """One Bot API request as seen by the fake, in the order answered."""

    method: str
    params: JSONDict
    timestamp: float  # time.monotonic() when the request arrived
    status: int  # HTTP status answered (499: client went away while long-polling)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    response: JSONDict = field(default_factory=dict)
    fault: str | None = None  # "fail_next", "random", "rate_limit:chat", "blocked", ... or None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        return self.response.get("description")


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user who talks to the bot."""

    id: int
    first_name: str = "Test"
    language_code: str | None = "en"
    username: str | None = None
    last_name: str | None = None
    is_bot: bool = False

    def to_api(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        if self.language_code is not None:
            data["language_code"] = self.language_code
        return data


@dataclass
class FakeMessage:
    """A message in a fake chat; bot messages reflect later edits / deletion."""

    message_id: int
    chat: JSONDict
    date: int
    from_user: JSONDict
    text: str | None = None  # as sent (raw markup, before parse_mode rendering)
    caption: str | None = None
    parse_mode: str | None = None
    entities: list[Any] | None = None
    reply_markup: JSONDict | None = None
    photo: list[JSONDict] | None = None
    document: JSONDict | None = None
    file: UploadedFile | None = None
    plain_text: str | None = None  # text/caption after parse_mode rendering
    edit_date: int | None = None
    deleted: bool = False
    reply_to: FakeMessage | None = None
    history: list[JSONDict] = field(default_factory=list)  # earlier versions, oldest first
    extra: JSONDict = field(default_factory=dict)  # further Message fields for to_api()

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def from_bot(self) -> bool:
        return bool(self.from_user.get("is_bot"))

    @property
    def buttons(self) -> list[JSONDict]:
        """All inline keyboard buttons, row by row."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def button_texts(self) -> list[str]:
        return [str(button.get("text")) for button in self.buttons]

    def callback_data_for(self, text: str) -> str:
        """The callback_data of the inline button labelled ``text`` (exact, then substring)."""
        for exact in (True, False):
            for button in self.buttons:
                label = str(button.get("text", ""))
                if (label == text if exact else text in label) and "callback_data" in button:
                    return str(button["callback_data"])
        raise AssertionError(f"no inline button {text!r} on message; buttons: {self.button_texts}")

    def to_api(self) -> JSONDict:
        data: JSONDict = {
            "message_id": self.message_id,
            "from": dict(self.from_user),
            "chat": dict(self.chat),
            "date": self.date,
        }
        if self.text is not None:
            data["text"] = self.plain_text if self.plain_text is not None else self.text
        if self.caption is not None:
            data["caption"] = self.plain_text if self.plain_text is not None else self.caption
        if self.entities:
            data["caption_entities" if self.caption is not None else "entities"] = self.entities
        if self.photo is not None:
            data["photo"] = self.photo
        if self.document is not None:
            data["document"] = self.document
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_api()
        data.update(self.extra)
        return data

    def _snapshot(self) -> JSONDict:
        return {
            "text": self.text,
            "caption": self.caption,
            "parse_mode": self.parse_mode,
            "entities": self.entities,
            "reply_markup": self.reply_markup,
            "edit_date": self.edit_date,
        }


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: int | None
    description: str


@dataclass(frozen=True)
class _Described:
    """A successful result that also carries a ``description`` (as setWebhook answers)."""

    result: Any
    description: str


@dataclass
class _Request:
    method: str
    params: JSONDict
    files: dict[str, UploadedFile]
    http: web.Request


# --------------------------------------------------------------------------------------------
# parse_mode rendering / validation (close to tdlib's error messages)
# --------------------------------------------------------------------------------------------

_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
        "tg-time",
    }
)
_HTML_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_HTML_TAG_RE = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)((?:\s+[^>]*)?)\s*/?>")
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "`": "Code",
    "```": "Pre",
    "[": "TextUrl",
}


def _entity_error(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {message}")


def _render_html(text: str) -> str:
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            if match:
                out.append(html.unescape(match.group(0)))
                i = match.end()
            else:
                out.append(char)
                i += 1
            continue
        if char != "<":
            out.append(char)
            i += 1
            continue
        offset = _byte_offset(text, i)
        if text.startswith("</", i):
            end = text.find(">", i)
            if end < 0:
                raise _entity_error(f"Unclosed end tag at byte offset {offset}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise _entity_error(f"Unexpected end tag at byte offset {offset}")
            open_name, _ = stack.pop()
            if name and name != open_name:
                raise _entity_error(
                    f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            i = end + 1
            continue
        match = _HTML_TAG_RE.match(text, i)
        if not match:
            end = text.find(">", i)
            token = text[i : end if end >= 0 else n].split()[0] if text[i:].strip() else "<"
            raise _entity_error(f'Unsupported start tag "{token[1:]}" at byte offset {offset}')
        name = match.group(1).lower()
        if name not in _HTML_TAGS:
            raise _entity_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        if name == "span" and "tg-spoiler" not in match.group(2):
            raise _entity_error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        stack.append((name, offset))
        i = match.end()
    if stack:
        name, _ = stack[-1]
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{name}"')
    return "".join(out)


def _render_markdown_v2(text: str) -> str:
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        top = stack[-1][0] if stack else None
        if char == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
            continue
        if top in ("`", "```"):
            if top == "```" and text.startswith("```", i):
                stack.pop()
                i += 3
            elif top == "`" and char == "`":
                stack.pop()
                i += 1
            else:
                out.append(char)
                i += 1
            continue
        if top == "(":
            if char == ")":
                stack.pop()
            i += 1
            continue
        marker = None
        for candidate in ("```", "||", "__", "*", "_", "~", "`"):
            if text.startswith(candidate, i):
                marker = candidate
                break
        if marker is not None:
            if marker == top:
                stack.pop()
            elif any(open_marker == marker for open_marker, _ in stack):
                raise _entity_error(
                    f"Can't find end of {_MDV2_NAMES[top or marker]} entity at byte offset "
                    f"{stack[-1][1]}"
                )
            else:
                stack.append((marker, _byte_offset(text, i)))
                if marker == "```":  # optional language spec up to the end of the line
                    newline = text.find("\n", i + 3)
                    i = newline if newline >= 0 else n
                    continue
            i += len(marker)
            continue
        if char == "[" or (char == "!" and text.startswith("![", i)):
            stack.append(("[", _byte_offset(text, i)))
            i += 2 if char == "!" else 1
            continue
        if char == "]" and top == "[":
            stack.pop()
            if not text.startswith("(", i + 1):
                raise _entity_error(
                    f"Can't find end of TextUrl entity at byte offset {_byte_offset(text, i)}"
                )
            stack.append(("(", _byte_offset(text, i + 1)))
            i += 2
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):  # blockquote
            i += 1
            continue
        if char in _MDV2_RESERVED:
            raise _entity_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        out.append(char)
        i += 1
    if stack:
        marker, offset = stack[-1]
        name = _MDV2_NAMES.get(marker, "TextUrl")
        raise _entity_error(f"Can't find end of {name} entity at byte offset {offset}")
    return "".join(out)


def _render_markdown(text: str) -> str:
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if char in "_*`[":
            offset = _byte_offset(text, i)
            if char == "`" and text.startswith("```", i):
                end = text.find("```", i + 3)
                if end < 0:
                    raise _entity_error(
                        f"Can't find end of the entity starting at byte offset {offset}"
                    )
                out.append(text[i + 3 : end])
                i = end + 3
                continue
            closing = "]" if char == "[" else char
            end = text.find(closing, i + 1)
            if end < 0:
                raise _entity_error(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            out.append(text[i + 1 : end])
            i = end + 1
            if char == "[" and text.startswith("(", i):
                close_paren = text.find(")", i)
                if close_paren < 0:
                    raise _entity_error(
                        f"Can't find end of the entity starting at byte offset {offset}"
                    )
                i = close_paren + 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def render_text(text: str, parse_mode: str | None) -> str:
    """The plain text Telegram would show for ``text``; raises :class:`ApiError` like Telegram."""
    if not parse_mode:
        return text
    mode = parse_mode.lower()
    if mode == "html":
        return _render_html(text)
    if mode == "markdownv2":
        return _render_markdown_v2(text)
    if mode == "markdown":
        return _render_markdown(text)
    raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")


# --------------------------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------------------------

Handler = Callable[[_Request], Awaitable[Any]]


class FakeTelegram:
    """In-process fake of the Telegram Bot API (see module docstring)."""

    def __init__(
        self, token: str = "123456:TEST-TOKEN", bot_username: str = "palaute_test_bot"
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        bot_id = token.split(":", 1)[0]
        self.bot_user: JSONDict = {
            "id": int(bot_id) if bot_id.isdigit() else 123456,
            "is_bot": True,
            "first_name": "Palaute Test Bot",
            "username": bot_username,
        }
        self.base_url = ""

        # recordings
        self.calls: list[RecordedCall] = []
        self.messages: list[FakeMessage] = []  # every message, from the bot or pushed by users
        self.files: dict[str, UploadedFile] = {}  # file_id -> content
        self.callback_answers: dict[str, JSONDict] = {}  # callback_query_id -> params
        self.my_commands: dict[tuple[str, str], list[JSONDict]] = {}  # (scope, lang) -> commands
        self.users: dict[int, FakeUser] = {}

        # behaviour knobs
        self.blocked_users: set[int] = set()
        self.migrated_groups: dict[int, int] = {}  # group id -> its supergroup's id
        # Telegram's flood limits, on by default so that every test runs against them. The
        # figures are the Bot FAQ's ("My bot is hitting limits, how do I avoid this?"), which
        # PTB's telegram.constants.FloodLimit and AIORateLimiter's defaults also use: about 30
        # messages a second overall (FloodLimit.MESSAGES_PER_SECOND), 1 a second in one chat
        # (MESSAGES_PER_SECOND_PER_CHAT), 20 a minute in one group
        # (MESSAGES_PER_MINUTE_PER_GROUP). A refused call answers 429 with retry_after.
        # Only messages sent count. Edits are not counted, though a Telegram maintainer says
        # they share the per-chat limit (tdlib/td#2592, tdlib/telegram-bot-api#648); the 30
        # a second is on sending only ("no global limit" beyond it, tdlib/td#3034).
        self.rate_limits_enabled = True
        self.rate_limited_count = 0
        self.long_polls_waiting = 0  # getUpdates requests being answered right now
        self.global_messages_per_second = 30
        self.private_chat_messages_per_second = 1.0
        # Messages a private chat may get at once beyond its 1 a second; 0 is strictly 1 a
        # second. The FAQ: "We may allow short bursts that go over this limit, but eventually
        # you'll begin receiving 429 errors"; a greeting, its question and the edit of a tapped
        # question going out together is such a short burst, so the default tolerates 2 extra.
        self.private_chat_burst = 2
        self.group_messages_per_minute = 20
        self.failure_rate = 0.0
        self.failure_methods: set[str] = set(_DEFAULT_FAILURE_METHODS)
        self.failure_kinds: tuple[str, ...] = ("500", "429", "slow")
        self.slow_response_seconds = 10.0
        self.webhook_require_https = True
        self.validate_parse_mode = True
        self.webhook: JSONDict | None = None
        self.rate_limit_clock: Callable[[], float] = time.monotonic  # swap in a fake clock
        self.wait_poll_interval = 0.02  # wait_for also re-checks predicates this often

        self._failure_seed: int | None = None
        self._rng = random.Random()
        self._fail_next: dict[str, deque[_Failure]] = {}
        self._pending_updates: list[JSONDict] = []
        self._next_update_id = 10_000
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._message_ids: dict[int, int] = {}
        self._ids = itertools.count(1)
        self._open_callback_queries: set[str] = set()
        self._global_sends: deque[float] = deque()
        self._group_sends: dict[int, deque[float]] = {}
        self._private_buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "deleteMessage": self._delete_message,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
        }
        # Telegram method names are case-insensitive.
        self._method_names = {name.lower(): name for name in self._handlers}

    # ---------------------------------------------------------------- lifecycle

    @property
    def ptb_base_url(self) -> str:
        """Value for ``ApplicationBuilder.base_url`` / ``Bot(base_url=...)``."""
        return f"{self.base_url}/bot"

    @property
    def ptb_base_file_url(self) -> str:
        """Value for ``ApplicationBuilder.base_file_url`` / ``Bot(base_file_url=...)``."""
        return f"{self.base_url}/file/bot"

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeTelegram already started")
        self._closing = asyncio.Event()
        self._changed = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner, self.base_url = await serve(app, access_log=None, shutdown_timeout=2.0)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing.set()
        self._notify()
        await runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- assertions

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    def sent_messages(
        self, chat_id: int | None = None, *, include_deleted: bool = True
    ) -> list[FakeMessage]:
        """Messages the bot sent (in send order), with their current content after edits."""
        return [
            message
            for message in self.messages
            if message.from_bot
            and (chat_id is None or message.chat_id == chat_id)
            and (include_deleted or not message.deleted)
        ]

    def last_message(self, chat_id: int | None = None) -> FakeMessage:
        """The newest not-deleted message the bot sent (to ``chat_id``)."""
        messages = self.sent_messages(chat_id, include_deleted=False)
        if not messages:
            raise AssertionError(f"the bot sent no message to chat {chat_id}")
        return messages[-1]

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates pushed but not yet confirmed by a getUpdates offset."""
        return list(self._pending_updates)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        *,
        message: str | Callable[[], str] | None = None,
    ) -> None:
        """Wait until ``predicate()`` is true; re-checked on every API call / pushed update."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._timeout_message(predicate, timeout, message))
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, self.wait_poll_interval)):
                    await changed.wait()

    async def wait_for_calls(
        self,
        method: str,
        count: int,
        timeout: float = 5.0,
    ) -> list[RecordedCall]:
        """Wait for at least ``count`` calls to ``method``; returns all calls to it so far."""
        await self.wait_for(
            lambda: len(self.calls_to(method)) >= count,
            timeout,
            message=lambda: f"{count} call(s) to {method} (got {len(self.calls_to(method))})",
        )
        return self.calls_to(method)

    def _timeout_message(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        message: str | Callable[[], str] | None,
    ) -> str:
        if callable(message):
            message = message()
        if message is None:
            try:
                message = inspect.getsource(predicate).strip()
            except (OSError, TypeError):
                message = getattr(predicate, "__qualname__", repr(predicate))
        lines = [f"FakeTelegram: timed out after {timeout}s waiting for: {message}"]
        recent = self.calls[-15:]
        lines.append(f"{len(self.calls)} API call(s) so far; last {len(recent)}:")
        start = self.calls[0].timestamp if self.calls else 0.0
        for call in recent:
            params = json.dumps(call.params, ensure_ascii=False, default=str)
            if len(params) > 160:
                params = params[:157] + "..."
            suffix = f" [{call.fault}]" if call.fault else ""
            description = f" {call.description!r}" if call.description else ""
            lines.append(
                f"  +{call.timestamp - start:7.3f}s {call.method} -> {call.status}{suffix}"
                f"{description} {params}"
            )
        if self._pending_updates:
            lines.append(f"{len(self._pending_updates)} update(s) still pending (not confirmed)")
        return "\n".join(lines)

    # ---------------------------------------------------------------- injecting updates

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        language_code: str | None = "en",
        username: str | None = None,
    ) -> FakeUser:
        fake_user = FakeUser(
            id=user_id, first_name=first_name, language_code=language_code, username=username
        )
        self.users[user_id] = fake_user
        return fake_user

    def push_text(
        self,
        user: FakeUser,
        text: str,
        chat_id: int | None = None,
        *,
        reply_to: FakeMessage | None = None,
    ) -> JSONDict:
        """Queue a text message from ``user`` (private chat unless ``chat_id`` is given)."""
        self.users.setdefault(user.id, user)
        chat = self._chat_object(user.id if chat_id is None else chat_id)
        message = self._new_message(chat, user.to_api(), text=text, reply_to=reply_to)
        match = _COMMAND_RE.match(text)
        if match:
            message.entities = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(match.group(0))}
            ]
        return self.push_update({"message": message.to_api()})

    def push_callback(self, user: FakeUser, message: FakeMessage, data: str) -> JSONDict:
        """Queue a callback_query: ``user`` pressed a button with ``data`` on ``message``."""
        self.users.setdefault(user.id, user)
        query_id = str(4_000_000_000_000_000 + next(self._ids))
        self._open_callback_queries.add(query_id)
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": message.to_api(),
            "chat_instance": str(abs(hash((self.bot_user["id"], message.chat_id))) % 10**18),
            "data": data,
        }
        return self.push_update({"callback_query": query})

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw update (``update_id`` assigned if missing)."""
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        if isinstance(update["update_id"], int):
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        self._pending_updates.append(update)
        self._notify()
        return update

    # ---------------------------------------------------------------- faults

    @property
    def failure_seed(self) -> int | None:
        return self._failure_seed

    @failure_seed.setter
    def failure_seed(self, seed: int | None) -> None:
        self._failure_seed = seed
        self._rng = random.Random(seed)

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with an error (checked in FIFO order)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = {
                400: "Bad Request: injected failure",
                401: "Unauthorized",
                403: "Forbidden: bot was blocked by the user",
                404: "Not Found",
                409: "Conflict: injected failure",
                429: f"Too Many Requests: retry after {retry_after}",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(status, f"Injected error {status}")
        self._fail_next.setdefault(method, deque()).append(
            _Failure(status, times, retry_after, description)
        )

    # ---------------------------------------------------------------- HTTP plumbing

    def _notify(self) -> None:
        # asyncio.Condition.notify_all() needs its lock held, which the synchronous push_*()
        # methods cannot take; a replaced Event gives the same "wake every waiter" semantics.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but return early when the server is stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()

    async def _read_params(self, request: web.Request) -> tuple[JSONDict, dict[str, UploadedFile]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    return {**raw, **body}, files
            else:
                form = await request.post()
                for name, value in form.items():
                    if isinstance(value, web.FileField):
                        with value.file:
                            data = value.file.read()
                        files[name] = UploadedFile(value.filename, value.content_type, data)
                    else:
                        raw[name] = value
        params: JSONDict = {}
        for name, value in raw.items():
            if isinstance(value, str) and name not in _STRING_PARAMS:
                try:
                    params[name] = json.loads(value)
                except ValueError:
                    params[name] = value
            else:
                params[name] = value
        return params, files

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
        except ValueError:
            params, files = {}, {}
        fault: str | None = None
        canonical = self._method_names.get(method.lower())
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if canonical is None:
                raise ApiError(404, "Not Found")
            method = canonical
            delay = self._maybe_fail(method)
            if delay > 0:
                fault = "slow"
                await self._sleep(delay)
            if method in _CHAT_WRITE_METHODS:
                self._check_migrated(params)
                self._check_blocked(params)
            result = await self._handlers[method](_Request(method, params, files, request))
        except ApiError as error:
            status, body, fault = error.status, error.body(), error.fault or fault
        except _ClientGone:
            status, body, fault = 499, {"ok": False}, "client_disconnected"
        except Exception as exc:  # a bug in the fake: answer 500, keep it visible in `calls`
            _LOGGER.exception("FakeTelegram failed to handle %s", method)
            status, fault = 500, f"fake_error: {exc!r}"
            body = ApiError(500, f"Internal Server Error (FakeTelegram bug: {exc!r})").body()
        else:
            status = 200
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
            else:
                body = {"ok": True, "result": result}
        self.calls.append(
            RecordedCall(
                method=method,
                params=params,
                timestamp=arrived,
                status=status,
                files=files,
                response=body,
                fault=fault,
            )
        )
        self._notify()
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["path"]
        for file_id, stored in self.files.items():
            if self._file_path(file_id) == path:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    def _maybe_fail(self, method: str) -> float:
        """Raise a canned/random failure, or return a delay (seconds) for a slow response."""
        queue = self._fail_next.get(method)
        if queue:
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.popleft()
            raise ApiError(
                failure.status,
                failure.description,
                retry_after=failure.retry_after,
                fault="fail_next",
            )
        if self.failure_rate > 0 and method in self.failure_methods:
            if self._rng.random() >= self.failure_rate:
                return 0.0
            kind = self._rng.choice(self.failure_kinds)
            if kind == "500":
                raise ApiError(500, "Internal Server Error", fault="random")
            if kind == "429":
                retry_after = self._rng.randint(1, 3)
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    retry_after=retry_after,
                    fault="random",
                )
            return self.slow_response_seconds  # "slow": answered normally after a delay
        return 0.0

    # ---------------------------------------------------------------- helpers

    def _chat_object(self, chat_id: int) -> JSONDict:
        if chat_id > 0:
            chat: JSONDict = {"id": chat_id, "type": "private"}
            known = self.users.get(chat_id)
            chat["first_name"] = known.first_name if known else "Test"
            if known and known.username:
                chat["username"] = known.username
            return chat
        chat_type = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        return {"id": chat_id, "type": chat_type, "title": f"Test group {chat_id}"}

    def _known_chat(self, chat_id: int) -> bool:
        return chat_id in self.users or any(m.chat_id == chat_id for m in self.messages)

    def _new_message(self, chat: JSONDict, sender: JSONDict, **fields: Any) -> FakeMessage:
        chat_id = int(chat["id"])
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        message = FakeMessage(
            message_id=message_id, chat=chat, date=int(time.time()), from_user=sender, **fields
        )
        self.messages.append(message)
        return message

    def _find_message(self, chat_id: int, message_id: int) -> FakeMessage | None:
        for message in reversed(self.messages):
            if message.chat_id == chat_id and message.message_id == message_id:
                return None if message.deleted else message
        return None

    @staticmethod
    def _chat_id(params: JSONDict) -> int:
        value = params.get("chat_id")
        if value is None or value == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ApiError(400, "Bad Request: chat not found")
        try:
            return int(value)
        except ValueError:
            raise ApiError(400, "Bad Request: chat not found") from None

    def _check_blocked(self, params: JSONDict) -> None:
        if "chat_id" not in params:
            return
        try:
            chat_id = self._chat_id(params)
        except ApiError:
            return  # the method handler reports the bad chat_id
        if chat_id in self.blocked_users:
            raise ApiError(403, "Forbidden: bot was blocked by the user", fault="blocked")

    def migrate_group(self, group_id: int, supergroup_id: int) -> None:
        """Upgrade a group to a supergroup: the old id is refused from now on, naming the new."""
        if group_id >= 0 or supergroup_id > -1_000_000_000_000:
            raise ValueError("a group id is negative and a supergroup id is -100…")
        self.migrated_groups[group_id] = supergroup_id

    def _check_migrated(self, params: JSONDict) -> None:
        if "chat_id" not in params:
            return
        try:
            chat_id = self._chat_id(params)
        except ApiError:
            return
        new_id = self.migrated_groups.get(chat_id)
        if new_id is not None:
            # As Telegram answers (PTB raises telegram.error.ChatMigrated(new_chat_id)).
            raise ApiError(400, _MIGRATED, migrate_to_chat_id=new_id, fault="migrated")

    def _check_rate_limit(self, chat_id: int) -> None:
        if not self.rate_limits_enabled:
            return
        now = self.rate_limit_clock()
        retry_after = 0.0
        exceeded: list[str] = []  # which limits refuse this message, for RecordedCall.fault
        sends = self._global_sends
        while sends and now - sends[0] >= 1.0:
            sends.popleft()
        if len(sends) >= self.global_messages_per_second:
            retry_after = max(retry_after, 1.0 - (now - sends[0]))
            exceeded.append("overall")
        if chat_id < 0:
            group = self._group_sends.setdefault(chat_id, deque())
            while group and now - group[0] >= 60.0:
                group.popleft()
            if len(group) >= self.group_messages_per_minute:
                retry_after = max(retry_after, 60.0 - (now - group[0]))
                exceeded.append("group")
            tokens, at = 0.0, now
        else:
            capacity = 1.0 + self.private_chat_burst
            tokens, at = self._private_buckets.get(chat_id, (capacity, now))
            tokens = min(capacity, tokens + (now - at) * self.private_chat_messages_per_second)
            if tokens < 1.0:
                retry_after = max(
                    retry_after, (1.0 - tokens) / self.private_chat_messages_per_second
                )
                exceeded.append("chat")
        if retry_after > 0:
            self.rate_limited_count += 1
            seconds = max(1, math.ceil(retry_after))
            raise ApiError(
                429,
                f"Too Many Requests: retry after {seconds}",
                retry_after=seconds,
                fault="rate_limit:" + "+".join(exceeded),
            )
        sends.append(now)
        if chat_id < 0:
            self._group_sends[chat_id].append(now)
        else:
            self._private_buckets[chat_id] = (tokens - 1.0, now)

    def _render(self, text: str, parse_mode: Any) -> str:
        if not self.validate_parse_mode or not isinstance(parse_mode, str):
            return text
        return render_text(text, parse_mode)

    @staticmethod
    def _validate_markup(markup: Any, *, inline_only: bool = False) -> JSONDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if inline_only or not {"keyboard", "remove_keyboard", "force_reply"} & set(markup):
                raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
            return markup
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(
                400,
                'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an '
                "Array of Arrays",
            )
        if sum(len(row) for row in rows) > _MAX_INLINE_BUTTONS or any(
            len(row) > _MAX_INLINE_BUTTONS_PER_ROW for row in rows
        ):
            raise ApiError(400, _MARKUP_TOO_LONG)
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise ApiError(
                        400, "Bad Request: can't parse inline keyboard button: Text is not found"
                    )
                if not _INLINE_BUTTON_ACTIONS & set(button):
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: Text buttons are "
                        "unallowed in the inline keyboard",
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and (
                    not isinstance(url, str)
                    or not re.match(r"^(https?|tg)://\S+$", url, flags=re.IGNORECASE)
                ):
                    raise ApiError(
                        400, f"Bad Request: inline keyboard button URL '{url}' is invalid"
                    )
        return markup

    def _text_and_plain(self, params: JSONDict) -> tuple[str, str]:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        plain = self._render(text, params.get("parse_mode"))
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(plain) > _MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return text, plain

    def _file_path(self, file_id: str) -> str:
        return f"files/{file_id}"

    def _file_param(self, request: _Request, name: str) -> tuple[str, UploadedFile]:
        value = request.params.get(name)
        upload = request.files.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = request.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if upload is not None:
            if not upload.data:
                raise ApiError(400, "Bad Request: file must be non-empty")
            file_id = f"FAKE-{name.upper()}-{next(self._ids)}"
            self.files[file_id] = upload
            return file_id, upload
        if isinstance(value, str) and value:
            if value in self.files:
                return value, self.files[value]
            if re.match(r"^https?://", value):
                file_id = f"FAKE-{name.upper()}-{next(self._ids)}"
                stored = UploadedFile(value.rsplit("/", 1)[-1] or None, None, b"", url=value)
                self.files[file_id] = stored
                return file_id, stored
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise ApiError(400, f"Bad Request: there is no {name} in the request")

    def _send_media(self, request: _Request, kind: str) -> JSONDict:
        params = request.params
        chat_id = self._chat_id(params)
        file_id, upload = self._file_param(request, kind)
        caption = params.get("caption")
        plain: str | None = None
        if isinstance(caption, str):
            plain = self._render(caption, params.get("parse_mode"))
            if len(plain) > _MAX_CAPTION_LENGTH:
                raise ApiError(400, "Bad Request: message caption is too long")
        markup = self._validate_markup(params.get("reply_markup"))
        self._check_rate_limit(chat_id)
        unique_id = f"U{file_id}"
        media: JSONDict = {}
        if kind == "photo":
            width, height = _image_size(upload.data)
            media["photo"] = [
                {
                    "file_id": file_id,
                    "file_unique_id": unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(upload.data),
                }
            ]
        else:
            document: JSONDict = {
                "file_id": file_id,
                "file_unique_id": unique_id,
                "file_size": len(upload.data),
            }
            if upload.filename:
                document["file_name"] = upload.filename
            if upload.content_type:
                document["mime_type"] = upload.content_type
            media["document"] = document
        message = self._new_message(
            self._chat_object(chat_id),
            self.bot_user,
            caption=caption if isinstance(caption, str) else None,
            parse_mode=params.get("parse_mode"),
            entities=params.get("caption_entities"),
            reply_markup=markup,
            file=upload,
            plain_text=plain,
            **media,
        )
        return message.to_api()

    # ---------------------------------------------------------------- API methods

    async def _get_me(self, request: _Request) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, request: _Request) -> list[JSONDict]:
        params = request.params
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = _as_int(params.get("offset"), 0)
        limit = min(100, max(1, _as_int(params.get("limit"), 100)))
        # Telegram takes whole seconds; fractions are honoured here to keep tests fast.
        timeout = max(0.0, _as_float(params.get("timeout"), 0.0))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        if offset > 0:
            self._pending_updates = [
                update for update in self._pending_updates if update["update_id"] >= offset
            ]
        elif offset < 0:
            self._pending_updates = self._pending_updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self.long_polls_waiting += 1
        self._notify()  # lets an older long-poll notice it has been superseded
        try:
            return await self._poll(request, generation, limit, seconds=timeout)
        finally:
            self.long_polls_waiting -= 1

    async def _poll(
        self, request: _Request, generation: int, limit: int, *, seconds: float
    ) -> list[JSONDict]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            self._drop_unwanted_updates()
            if self._pending_updates:
                return [dict(update) for update in self._pending_updates[:limit]]
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing.is_set():
                return []
            transport = request.http.transport
            if transport is None or transport.is_closing():
                raise _ClientGone()
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.25)):
                    await changed.wait()

    def _drop_unwanted_updates(self) -> None:
        allowed = self._allowed_updates

        def wanted(update: JSONDict) -> bool:
            kinds = [key for key in update if key != "update_id"]
            if not kinds:
                return True
            if allowed:
                return kinds[0] in allowed
            return kinds[0] not in _OPT_IN_UPDATE_TYPES

        self._pending_updates = [u for u in self._pending_updates if wanted(u)]

    async def _set_webhook(self, request: _Request) -> _Described:
        params = request.params
        url = params.get("url") or ""
        if not url:
            return await self._delete_webhook(request)
        if self.webhook_require_https and not str(url).lower().startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates") is True:
            self._pending_updates.clear()
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = [str(kind) for kind in params["allowed_updates"]]
        self.webhook = {
            key: value for key, value in params.items() if key != "drop_pending_updates"
        }
        if "certificate" in request.files:
            self.webhook["certificate"] = request.files["certificate"]
        return _Described(True, "Webhook was set")

    async def _delete_webhook(self, request: _Request) -> _Described:
        if request.params.get("drop_pending_updates") is True:
            self._pending_updates.clear()
        had_webhook = self.webhook is not None
        self.webhook = None
        description = "Webhook was deleted" if had_webhook else "Webhook is already deleted"
        return _Described(True, description)

    async def _get_webhook_info(self, request: _Request) -> JSONDict:
        info: JSONDict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending_updates),
        }
        if self.webhook is not None:
            info["url"] = self.webhook.get("url", "")
            info["has_custom_certificate"] = "certificate" in self.webhook
            for key in ("max_connections", "ip_address", "allowed_updates"):
                if key in self.webhook:
                    info[key] = self.webhook[key]
        return info

    async def _send_message(self, request: _Request) -> JSONDict:
        params = request.params
        chat_id = self._chat_id(params)
        text, plain = self._text_and_plain(params)
        markup = self._validate_markup(params.get("reply_markup"))
        self._check_rate_limit(chat_id)
        reply_to = None
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict) and "message_id" in reply_parameters:
            reply_to = self._find_message(chat_id, _as_int(reply_parameters["message_id"], 0))
        message = self._new_message(
            self._chat_object(chat_id),
            self.bot_user,
            text=text,
            parse_mode=params.get("parse_mode"),
            entities=params.get("entities"),
            reply_markup=markup,
            plain_text=plain,
            reply_to=reply_to,
        )
        return message.to_api()

    def _message_to_edit(self, params: JSONDict) -> FakeMessage | None:
        if "inline_message_id" in params:
            return None
        chat_id = self._chat_id(params)
        message = self._find_message(chat_id, _as_int(params.get("message_id"), 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    async def _edit_message_text(self, request: _Request) -> Any:
        params = request.params
        message = self._message_to_edit(params)
        text, plain = self._text_and_plain(params)
        markup = self._validate_markup(params.get("reply_markup"), inline_only=True)
        if message is None:  # inline message: nothing stored, Telegram answers True
            return True
        if message.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        parse_mode = params.get("parse_mode")
        entities = params.get("entities")
        if (text, parse_mode, entities, markup) == (
            message.text,
            message.parse_mode,
            message.entities,
            message.reply_markup,
        ):
            raise ApiError(400, _NOT_MODIFIED)
        message.history.append(message._snapshot())
        message.text, message.plain_text = text, plain
        message.parse_mode, message.entities = parse_mode, entities
        message.reply_markup = markup  # omitted reply_markup removes the inline keyboard
        message.edit_date = int(time.time())
        return message.to_api()

    async def _edit_message_reply_markup(self, request: _Request) -> Any:
        params = request.params
        message = self._message_to_edit(params)
        markup = self._validate_markup(params.get("reply_markup"), inline_only=True)
        if message is None:
            return True
        if markup == message.reply_markup or (not markup and not message.reply_markup):
            raise ApiError(400, _NOT_MODIFIED)
        message.history.append(message._snapshot())
        message.reply_markup = markup
        message.edit_date = int(time.time())
        return message.to_api()

    async def _answer_callback_query(self, request: _Request) -> bool:
        query_id = str(request.params.get("callback_query_id", ""))
        if query_id not in self._open_callback_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_callback_queries.discard(query_id)
        self.callback_answers[query_id] = dict(request.params)
        return True

    async def _send_photo(self, request: _Request) -> JSONDict:
        return self._send_media(request, "photo")

    async def _send_document(self, request: _Request) -> JSONDict:
        return self._send_media(request, "document")

    async def _delete_message(self, request: _Request) -> bool:
        params = request.params
        message = self._find_message(self._chat_id(params), _as_int(params.get("message_id"), 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        return True

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, request: _Request) -> bool:
        commands = request.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands are invalid")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            description = command.get("description") if isinstance(command, dict) else None
            if not isinstance(name, str) or not _BOT_COMMAND_NAME_RE.fullmatch(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.my_commands[self._commands_key(request.params)] = commands
        return True

    async def _get_my_commands(self, request: _Request) -> list[JSONDict]:
        return self.my_commands.get(self._commands_key(request.params), [])

    async def _delete_my_commands(self, request: _Request) -> bool:
        self.my_commands.pop(self._commands_key(request.params), None)
        return True

    async def _get_chat(self, request: _Request) -> JSONDict:
        chat_id = self._chat_id(request.params)
        if not self._known_chat(chat_id):
            raise ApiError(400, "Bad Request: chat not found")
        chat = self._chat_object(chat_id)
        known = self.users.get(chat_id)
        if known and known.last_name:
            chat["last_name"] = known.last_name
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _send_chat_action(self, request: _Request) -> bool:
        self._chat_id(request.params)
        if request.params.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _get_file(self, request: _Request) -> JSONDict:
        file_id = str(request.params.get("file_id", ""))
        stored = self.files.get(file_id)
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"U{file_id}",
            "file_size": len(stored.data),
            "file_path": self._file_path(file_id),
        }


class _ClientGone(Exception):
    """Internal: the long-polling client disconnected."""


def _as_int(value: Any, default: int) -> int:
    if value is None or value == "" or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid integer value {value!r}") from None


def _as_float(value: Any, default: float) -> float:
    if value is None or value == "" or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid float value {value!r}") from None


def _image_size(data: bytes) -> tuple[int, int]:
    """Width/height of a PNG (from its IHDR chunk); a plausible default otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return 512, 512


@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A started :class:`FakeTelegram`, stopped after the test."""
    fake = FakeTelegram()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
