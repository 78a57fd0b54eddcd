"""A fake Slack Web API server for tests, plus helpers for Slack → app requests.

`FakeSlack` is a small aiohttp application served over real HTTP on 127.0.0.1 with an
ephemeral port, on the running test's event loop. Point the real clients at it::

    fake = FakeSlack()
    await fake.start()
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.base_url + "/api/")
    app = AsyncApp(client=client, signing_secret=fake.signing_secret)

Nothing in slack_sdk or slack_bolt is patched: requests go through aiohttp, retry handlers,
response validation and pagination exactly as they would against slack.com.

Every request is recorded as a `RecordedCall` (`fake.calls`, `fake.calls_to(method)`,
`await fake.wait_for_calls(method, n)`). Besides the Web API methods (`POST`/`GET
/api/{method}`) the fake serves the file upload URLs handed out by
files.getUploadURLExternal (recorded as method `"upload"`) and `response_url`s
(`POST /response/{id}`, recorded as method `"response_url"`; see `new_response_url`).

Inbound helpers (`sign`, `event_callback_body`, `block_actions_body`, `slash_command_body`,
`view_submission_body`, `SlackInbound`) build and post signed requests the way Slack does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import math
import mimetypes
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import aiohttp
import pytest_asyncio
from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, Option, OptionGroup
from slack_sdk.signature import SignatureVerifier

from tests.loopback import serve

__all__ = [
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "RESPONSE_URL",
    "UPLOAD",
    "FakeFile",
    "FakeSlack",
    "RecordedCall",
    "SlackInbound",
    "block_actions_body",
    "event_callback_body",
    "fake_slack",
    "sign",
    "slash_command_body",
    "validate_blocks",
    "view_submission_body",
]

#: Pseudo-method under which uploads to the files.getUploadURLExternal URL are recorded.
UPLOAD: Final = "upload"
#: Pseudo-method under which posts to `response_url`s are recorded.
RESPONSE_URL: Final = "response_url"

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE: Final = "application/json"

# Form/query parameters that slack_sdk sends JSON-encoded; decoded when recorded.
_JSON_FIELDS: Final = frozenset(
    {"attachments", "blocks", "files", "metadata", "outputs", "unfurls", "user_auth_blocks", "view"}
)
# Slack's Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks). Besides these
# checks every block goes through slack_sdk's own models (`Block.parse(...).to_dict()`
# validates each element: a button's value up to 2000 characters, a select's options up to
# 100, an option's value up to 150, header text up to 150...), which raise
# SlackObjectFormationError where Slack answers invalid_blocks.
_MAX_MESSAGE_BLOCKS: Final = 50
_MAX_VIEW_BLOCKS: Final = 100
_MAX_ACTIONS_ELEMENTS: Final = 25
_MAX_CONTEXT_ELEMENTS: Final = 10
_MAX_SECTION_TEXT: Final = 3000
_MAX_SECTION_FIELDS: Final = 10
_MAX_FIELD_TEXT: Final = 2000
_MAX_HEADER_TEXT: Final = 150
_MAX_BUTTON_TEXT: Final = 75
_MAX_BUTTON_VALUE: Final = 2000
_MAX_ACTION_ID: Final = 255
_MAX_BLOCK_ID: Final = 255
_MAX_VIEW_TITLE: Final = 24
# chat.postMessage: "Provide no more than 40,000 characters" (msg_too_long beyond).
_MAX_MESSAGE_TEXT: Final = 40_000
# Web API methods' rate limit tiers (https://docs.slack.dev/apis/web-api/rate-limits):
# requests per minute, always enforced (chat.postMessage's per-channel limit is opt-in, see
# `rate_limits_enabled`). users.info is Tier 4, "100+ per minute"
# (https://docs.slack.dev/reference/methods/users.info).
_METHOD_RATE_LIMITS: Final = {"users.info": 100}
# Slack's "Formatting text for app surfaces": `<...>` is a control sequence: `<!here>`,
# `<!channel>`, `<!everyone>`, `<!subteam^S…>`, `<@U…>`, `<#C…>`, `<https://…|label>`.
_CONTROL_SEQUENCE: Final = re.compile(r"<([^<>]*)>")
# "Escaping text": `&`, `<` and `>` are sent as `&amp;`, `&lt;` and `&gt;`; a bare `&` (or a
# `<` or `>` left once the control sequences are taken out) is text palaute forgot to escape;
# a `>` that starts a line is mrkdwn's quote.
_UNESCAPED: Final = re.compile(r"&(?!amp;|lt;|gt;)|<|(?!^)>", re.MULTILINE)
_FIRST_TS_MICROS: Final = 1_700_000_000_000_000


@dataclass
class RecordedCall:
    """One request the fake answered."""

    method: str
    """Web API method (``"chat.postMessage"``), or `UPLOAD` / `RESPONSE_URL`."""
    params: dict[str, Any]
    """Query string + form or JSON body merged (body wins); JSON-encoded fields decoded.
    The ``token`` parameter is not included (see `token`)."""
    token: str | None
    """Bearer token from the Authorization header, else the ``token`` parameter."""
    headers: dict[str, str]
    timestamp: float
    """`time.time()` when the request was answered."""
    status: int
    """HTTP status answered."""
    response: dict[str, Any]
    """JSON body answered; ``{}`` for the text answers to uploads and response URLs."""
    response_text: str = ""
    """Text body answered to uploads and response URLs (``""`` for Web API calls)."""
    path: str = ""
    body: bytes = b""
    """Raw request body."""

    @property
    def ok(self) -> bool:
        if self.method in (UPLOAD, RESPONSE_URL):
            return self.status == 200
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """The ``error`` answered (the text answered, for failed uploads/response URLs)."""
        if self.method in (UPLOAD, RESPONSE_URL):
            return None if self.status == 200 else self.response_text
        error = self.response.get("error")
        return error if isinstance(error, str) else None


@dataclass
class FakeFile:
    """A file announced with files.getUploadURLExternal."""

    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    content: bytes | None = None
    """Bytes posted to the upload URL (None until uploaded)."""
    title: str | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None


@dataclass
class _Fault:
    status: int
    error: str
    retry_after: int | None
    remaining: int


@dataclass
class _Bucket:
    tokens: float
    updated: float


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class _RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"ratelimited, retry after {retry_after}s")
        self.retry_after = retry_after


_Handler = Callable[[dict[str, Any]], dict[str, Any]]


class FakeSlack:
    """An in-process fake of the Slack Web API (see the module docstring)."""

    def __init__(
        self,
        bot_token: str = "xoxb-test-token",
        signing_secret: str = "test-signing-secret",
        team_id: str = "T0TEST",
        bot_user_id: str = "U0BOT",
    ) -> None:
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B0BOT"
        self.app_id = "A0TEST"
        self.team_name = "Test Team"
        self.team_domain = "test-team"
        #: Tokens accepted besides `bot_token` may be added here.
        self.valid_tokens: set[str] = {bot_token}
        self.base_url = ""
        self.calls: list[RecordedCall] = []

        #: chat.postMessage rate limit per channel: a token bucket refilled at
        #: `rate_limit_per_second`, holding up to `rate_limit_burst` messages.
        self.rate_limits_enabled = False
        self.rate_limit_per_second = 1.0
        self.rate_limit_burst = 3
        #: Per-method limits in calls per minute, always on (Slack's tiers; see
        #: `_METHOD_RATE_LIMITS`). A full minute's worth may come in one burst.
        self.method_rate_limits: dict[str, int] = dict(_METHOD_RATE_LIMITS)
        #: Monotonic clock used by the rate limiter; tests may replace it.
        self.clock: Callable[[], float] = time.monotonic

        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        """Views opened with views.open, by view id, in their current state."""
        self.files: dict[str, FakeFile] = {}
        self.ephemeral_messages: list[dict[str, Any]] = []
        #: Strings a test knows came from a customer (a comment, a property, a name). Any of
        #: them holding `<`, `>` or `&` must never reach a message's `text` or mrkdwn as is.
        self.customer_texts: set[str] = set()
        #: Live markup found in what palaute posted (see `_check_markup`): a broadcast, a
        #: link, a mention of someone Slack does not know, a customer's text unescaped,
        #: `parse=full` / `link_names`. Slack would accept and render these, so the fake
        #: does too; the `fake_slack` fixture fails the test when any are left.
        self.markup_problems: list[str] = []
        self.reactions: list[dict[str, Any]] = []

        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._dms: dict[str, str] = {}
        self._mpims: dict[frozenset[str], str] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._response_counter = itertools.count(1)
        self._condition = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, _Handler] = {
            "auth.test": self._auth_test,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "reactions.add": self._reactions_add,
            "usergroups.users.list": self._usergroups_users_list,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.update": self._views_update,
        }
        self.users[bot_user_id] = {
            **self._user_object(bot_user_id, "palaute", None, "Europe/Helsinki"),
            "is_bot": True,
            "locale": "en-US",
        }
        self.users[bot_user_id]["profile"]["bot_id"] = self.bot_id

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1 on an ephemeral port; sets `base_url`."""
        if self._runner is not None:
            raise RuntimeError("FakeSlack already started")
        app = web.Application()
        app.router.add_route("POST", "/api/{method}", self._handle_api)
        app.router.add_route("GET", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_post("/response/{response_id}", self._handle_response_url)
        self._runner, self.base_url = await serve(app, access_log=None)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        """`base_url` + "/api/": the base_url for AsyncWebClient."""
        return self.base_url + "/api/"

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    async def wait_for_calls(
        self,
        method: str,
        count: int,
        timeout: float = 5.0,
    ) -> list[RecordedCall]:
        """Wait until at least `count` calls (successful or not) to `method` were answered.

        Returns all calls to `method` so far.
        """
        try:
            async with asyncio.timeout(timeout), self._condition:
                await self._condition.wait_for(lambda: len(self.calls_to(method)) >= count)
        except TimeoutError:
            got = self.calls_to(method)
            seen = ", ".join(
                f"{c.method}({c.status}{'' if c.ok else ' ' + str(c.error)})" for c in self.calls
            )
            raise AssertionError(
                f"expected {count} call(s) to {method} within {timeout}s, got {len(got)}; "
                f"all calls so far: [{seen}]"
            ) from None
        return self.calls_to(method)

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages posted with chat.postMessage (or shared files), in posting order, as
        they are now (after chat.update / reactions.add). Each has ``channel`` and ``ts``."""
        found = [
            json.loads(json.dumps(message))
            for (message_channel, _), message in self._messages.items()
            if channel is None or message_channel == channel
        ]
        return sorted(found, key=lambda m: m["ts"])

    def new_response_url(self) -> str:
        """A fresh response_url served (and recorded) by this fake."""
        self._require_started()
        return f"{self.base_url}/response/{next(self._response_counter)}"

    # ------------------------------------------------------------------ setup

    def add_user(
        self,
        user_id: str,
        *,
        name: str = "test",
        email: str | None = None,
        locale: str = "en-US",
        tz: str = "Europe/Helsinki",
    ) -> None:
        self.users[user_id] = {**self._user_object(user_id, name, email, tz), "locale": locale}

    def add_channel(self, channel_id: str, members: list[str], name: str = "general") -> None:
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "name_normalized": name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel_id.startswith("G"),
            "is_archived": False,
            "is_general": name == "general",
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "created": 1_600_000_000,
            "creator": members[0] if members else self.bot_user_id,
            "context_team_id": self.team_id,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "members": list(members),
        }

    def add_usergroup(self, usergroup_id: str, users: list[str]) -> None:
        self.usergroups[usergroup_id] = list(users)

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls to `method` with HTTP 429, a ``Retry-After``
        header and ``{"ok": false, "error": "ratelimited"}``. Faults queue per method."""
        self._add_fault(method, _Fault(429, "ratelimited", retry_after, times))

    def fail_next(self, method: str, error: str, *, status: int = 200, times: int = 1) -> None:
        """Answer the next `times` calls to `method` with ``{"ok": false, "error": error}``
        (HTTP `status`, e.g. 500 for a server error). Also works for `UPLOAD` and
        `RESPONSE_URL`, answered with the error as text."""
        self._add_fault(method, _Fault(status, error, None, times))

    def _add_fault(self, method: str, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        self._faults.setdefault(method, deque()).append(fault)

    def _pop_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining == 0:
            queue.popleft()
        return fault

    # ------------------------------------------------------------------ HTTP plumbing

    def _require_started(self) -> None:
        if not self.base_url:
            raise RuntimeError("FakeSlack is not started; await fake.start() first")

    async def _record(self, call: RecordedCall) -> None:
        async with self._condition:
            self.calls.append(call)
            self._condition.notify_all()

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        params = await _request_params(request, raw)
        token = _bearer_token(request) or _str_or_none(params.pop("token", None))
        status, body, headers = self._dispatch(method, params, token)
        await self._record(
            RecordedCall(
                method=method,
                params=params,
                token=token,
                headers=dict(request.headers),
                timestamp=time.time(),
                status=status,
                response=body,
                path=request.path,
                body=raw,
            )
        )
        return web.json_response(body, status=status, headers=headers)

    def _dispatch(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        handler = self._handlers.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token not in self.valid_tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        fault = self._pop_fault(method)
        if fault is not None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            return fault.status, {"ok": False, "error": fault.error}, headers
        try:
            self._check_method_rate_limit(method)
            result = handler(params)
        except _RateLimited as limited:
            body = {"ok": False, "error": "ratelimited"}
            return 429, body, {"Retry-After": str(limited.retry_after)}
        except _ApiError as failure:
            return 200, {"ok": False, "error": failure.error, **failure.extra}, {}
        return 200, {"ok": True, **result}, {}

    async def _handle_upload(self, request: web.Request) -> web.Response:
        raw = await request.read()
        file_id = request.match_info["file_id"]
        fault = self._pop_fault(UPLOAD)
        fake_file = self.files.get(file_id)
        content = raw
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            parts = [v for v in form.values() if isinstance(v, web.FileField)]
            content = parts[0].file.read() if parts else b""
        if fault is not None:
            status, text = (fault.status if fault.status != 200 else 500), fault.error
        elif fake_file is None:
            status, text = 404, "file_not_found"
        else:
            fake_file.content = content
            status, text = 200, f"OK - {len(content)}"
        await self._record(
            RecordedCall(
                method=UPLOAD,
                params={"file_id": file_id, "size": len(content)},
                token=_bearer_token(request),
                headers=dict(request.headers),
                timestamp=time.time(),
                status=status,
                response={},
                response_text=text,
                path=request.path,
                body=raw,
            )
        )
        return web.Response(status=status, text=text, content_type="text/plain")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        raw = await request.read()
        params = await _request_params(request, raw)
        fault = self._pop_fault(RESPONSE_URL)
        if fault is not None:
            status, text = (fault.status if fault.status != 200 else 404), fault.error
        else:
            status, text = 200, "ok"
            try:
                if not _truthy(params.get("delete_original")):
                    self._message_content(params, where=RESPONSE_URL)
            except _ApiError as failure:
                # Like incoming webhooks, a response_url answers errors as text with a 4xx
                # (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks).
                status, text = 400, failure.error
        await self._record(
            RecordedCall(
                method=RESPONSE_URL,
                params=params,
                token=_bearer_token(request),
                headers=dict(request.headers),
                timestamp=time.time(),
                status=status,
                response={},
                response_text=text,
                path=request.path,
                body=raw,
            )
        )
        return web.Response(status=status, text=text, content_type="text/html")

    # ------------------------------------------------------------------ helpers

    def _next_ts(self) -> str:
        micros = _FIRST_TS_MICROS + next(self._ts_counter) * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._id_counter):06d}"

    def _user_object(self, user_id: str, name: str, email: str | None, tz: str) -> dict[str, Any]:
        now = datetime.now(ZoneInfo(tz))
        offset = now.utcoffset()
        profile: dict[str, Any] = {
            "real_name": name,
            "display_name": name,
            "real_name_normalized": name,
            "display_name_normalized": name,
            "team": self.team_id,
        }
        if email is not None:
            profile["email"] = email
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": name,
            "deleted": False,
            "is_bot": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_app_user": False,
            "tz": tz,
            "tz_label": now.tzname() or tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "updated": 1_600_000_000,
            "profile": profile,
        }

    def _resolve_channel(self, channel: Any) -> str:
        if not isinstance(channel, str) or not channel:
            raise _ApiError("channel_not_found")
        if channel.startswith("#"):
            for channel_id, info in self.channels.items():
                if info["name"] == channel[1:]:
                    return channel_id
            raise _ApiError("channel_not_found")
        if channel[0] in "UW":
            return self._dm_channel(channel)
        return channel

    def _dm_channel(self, user_id: str) -> str:
        dm_id = "D" + user_id[1:]
        self._dms[dm_id] = user_id
        return dm_id

    def _message(self, channel: str, ts: Any) -> dict[str, Any]:
        message = self._messages.get((channel, str(ts)))
        if message is None:
            raise _ApiError("message_not_found")
        return message

    def _check_rate_limit(self, channel: str) -> None:
        if not self.rate_limits_enabled:
            return
        self._take(channel, self.rate_limit_per_second, self.rate_limit_burst)

    def _check_method_rate_limit(self, method: str) -> None:
        per_minute = self.method_rate_limits.get(method)
        if per_minute is not None:
            self._take(f"method:{method}", per_minute / 60.0, per_minute)

    def _take(self, key: str, per_second: float, burst: int) -> None:
        """One token from the bucket `key`, or `_RateLimited` with the seconds to wait."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(burst), now)
        refill = (now - bucket.updated) * per_second
        bucket.tokens = min(float(burst), bucket.tokens + refill)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return
        wait = (1.0 - bucket.tokens) / per_second
        raise _RateLimited(max(1, math.ceil(wait)))

    def _check_markup(self, where: str, params: dict[str, Any]) -> None:
        """Record live markup in a message's `text` and mrkdwn (see `markup_problems`)."""
        if params.get("parse") == "full" or _truthy(params.get("link_names")):
            # Slack then links a bare "@here", "#channel" or "@name" in the text.
            self.markup_problems.append(f"{where}: parse=full or link_names set")
        texts = [params["text"]] if isinstance(params.get("text"), str) else []
        texts += _mrkdwn_texts(params.get("blocks"))
        for text in texts:
            for match in _CONTROL_SEQUENCE.finditer(text):
                if not self._known_reference(match.group(1).split("|", 1)[0]):
                    self.markup_problems.append(f"{where}: live {match.group(0)!r} in {text!r}")
            if _UNESCAPED.search(_CONTROL_SEQUENCE.sub("", text)):
                self.markup_problems.append(f"{where}: unescaped &, < or > in {text!r}")
            for customer_text in self.customer_texts:
                if any(c in customer_text for c in "<>&") and customer_text in text:
                    self.markup_problems.append(
                        f"{where}: customer text {customer_text!r} unescaped in {text!r}"
                    )

    def _known_reference(self, target: str) -> bool:
        """A mention of a user, channel or user group Slack knows: palaute's own doing (an
        organizer's reply names whom it surveys); customers' text is checked apart."""
        if target.startswith("@"):
            return target[1:] in self.users
        if target.startswith("#"):
            return target[1:] in self.channels
        if target.startswith("!subteam^"):
            return target.removeprefix("!subteam^") in self.usergroups
        return False  # broadcasts (<!here>…), dates, links

    def assert_no_live_markup(self) -> None:
        assert not self.markup_problems, "live markup reached Slack:\n" + "\n".join(
            self.markup_problems
        )

    def _message_content(
        self, params: dict[str, Any], where: str = "chat.postMessage"
    ) -> dict[str, Any]:
        """Validated text/blocks/attachments/metadata of a chat.* call or response_url."""
        text = params.get("text")
        blocks = params.get("blocks")
        attachments = params.get("attachments")
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        if isinstance(text, str) and len(text) > _MAX_MESSAGE_TEXT:
            raise _ApiError("msg_too_long")
        content: dict[str, Any] = {"text": text if isinstance(text, str) else ""}
        if blocks is not None:
            errors = validate_blocks(blocks, max_blocks=_MAX_MESSAGE_BLOCKS)
            if errors:
                raise _ApiError(
                    "invalid_blocks", errors=errors, response_metadata={"messages": errors}
                )
            content["blocks"] = blocks
        if attachments is not None:
            content["attachments"] = attachments
        self._check_markup(where, params)
        if params.get("metadata") is not None:
            content["metadata"] = params["metadata"]
        return content

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.users[self.bot_user_id]["name"],
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            channel_id = str(params["channel"])
            if channel_id not in self._dms and channel_id not in self._mpims.values():
                raise _ApiError("channel_not_found")
            return {"channel": {"id": channel_id}, "no_op": True, "already_open": True}
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            raise _ApiError("users_list_not_supplied")
        if len(users) > 8:
            raise _ApiError("too_many_users")
        for user_id in users:
            if user_id[0] not in "UW":
                raise _ApiError("user_not_found")
        if len(users) == 1:
            user_id = users[0]
            dm_id = self._dm_channel(user_id)
            channel: dict[str, Any] = {"id": dm_id}
            if _truthy(params.get("return_im")):
                channel.update(self._im_object(dm_id, user_id))
            return {"channel": channel}
        key = frozenset(users)
        mpim_id = self._mpims.get(key) or self._next_id("G")
        self._mpims[key] = mpim_id
        return {"channel": {"id": mpim_id}}

    def _im_object(self, dm_id: str, user_id: str) -> dict[str, Any]:
        return {
            "id": dm_id,
            "created": 1_600_000_000,
            "is_im": True,
            "is_channel": False,
            "is_group": False,
            "is_mpim": False,
            "is_private": True,
            "is_archived": False,
            "is_org_shared": False,
            "context_team_id": self.team_id,
            "user": user_id,
            "is_user_deleted": False,
            "priority": 0,
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        content = self._message_content(params)
        self._check_rate_limit(channel)
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            **content,
        }
        thread_ts = params.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            parent = self._messages.get((channel, str(thread_ts)))
            if parent is not None:
                parent.setdefault("thread_ts", parent["ts"])
                parent["reply_count"] = parent.get("reply_count", 0) + 1
        self._messages[(channel, ts)] = {**message, "channel": channel}
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        if not params.get("ts"):
            raise _ApiError("message_not_found")
        message = self._message(channel, params["ts"])
        content = self._message_content(params, where="chat.update")
        # Like Slack, blocks/attachments left out of the update are retained.
        message.update(content)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        public = {k: v for k, v in message.items() if k != "channel"}
        return {"channel": channel, "ts": message["ts"], "text": message["text"], "message": public}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        user = params.get("user")
        if not user:
            raise _ApiError("user_not_found")
        content = self._message_content(params, where="chat.postEphemeral")
        members = self.channels.get(channel, {}).get("members")
        if members is not None and user not in members:
            raise _ApiError("user_not_in_channel")
        ts = self._next_ts()
        self.ephemeral_messages.append({"channel": channel, "user": user, "ts": ts, **content})
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        ts = str(params.get("message_ts") or "")
        if not ts:
            raise _ApiError("message_not_found")
        permalink = (
            f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        )
        return {"channel": channel, "permalink": permalink}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            raise _ApiError("invalid_arguments")
        view = self._validated_view(params.get("view"))
        view_id = self._next_id("V")
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{view_id}",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
            **view,
        }
        self.views[view_id] = stored
        return {"view": stored}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._validated_view(params.get("view"))
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        stored: dict[str, Any] | None = None
        if view_id:
            stored = self.views.get(str(view_id))
        elif external_id:
            stored = next(
                (v for v in self.views.values() if v.get("external_id") == external_id), None
            )
        else:
            raise _ApiError("invalid_arguments")
        if stored is None:
            raise _ApiError("not_found")
        if params.get("hash") and params["hash"] != stored["hash"]:
            raise _ApiError("hash_conflict")
        stored.update(view)
        stored["hash"] = f"{int(time.time())}.{stored['id']}.{next(self._id_counter)}"
        return {"view": stored}

    def _validated_view(self, view: Any) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise _ApiError("invalid_arguments")
        errors = validate_blocks(view.get("blocks", []), max_blocks=_MAX_VIEW_BLOCKS)
        title = view.get("title")
        if view["type"] == "modal":
            if not isinstance(title, dict) or not title.get("text"):
                errors.append("missing required field: title [json-pointer:/view/title]")
            elif len(title["text"]) > _MAX_VIEW_TITLE:
                errors.append(
                    f"must be less than {_MAX_VIEW_TITLE + 1} characters "
                    "[json-pointer:/view/title/text]"
                )
        if errors:
            raise _ApiError("invalid_arguments", response_metadata={"messages": errors})
        return view

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise _ApiError("user_not_found")
        public = json.loads(json.dumps(user))
        if not _truthy(params.get("include_locale")):
            public.pop("locale", None)
        return {"user": public}

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email") or "").lower()
        for user in self.users.values():
            if str(user["profile"].get("email", "")).lower() == email and email:
                public = json.loads(json.dumps(user))
                public.pop("locale", None)
                return {"user": public}
        raise _ApiError("users_not_found")

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = str(params.get("channel") or "")
        if channel_id in self.channels:
            info = {k: v for k, v in self.channels[channel_id].items() if k != "members"}
            members = self.channels[channel_id]["members"]
            info["is_member"] = self.bot_user_id in members
            if _truthy(params.get("include_num_members")):
                info["num_members"] = len(members)
            if _truthy(params.get("include_locale")):
                info["locale"] = "en-US"
            return {"channel": info}
        if channel_id in self._dms:
            return {"channel": self._im_object(channel_id, self._dms[channel_id])}
        raise _ApiError("channel_not_found")

    def _conversation_members(self, channel_id: str) -> list[str]:
        if channel_id in self.channels:
            return list(self.channels[channel_id]["members"])
        if channel_id in self._dms:
            return [self._dms[channel_id], self.bot_user_id]
        for users, mpim_id in self._mpims.items():
            if mpim_id == channel_id:
                return [*sorted(users), self.bot_user_id]
        raise _ApiError("channel_not_found")

    def _conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        members = self._conversation_members(str(params.get("channel") or ""))
        try:
            limit = int(params.get("limit") or 100)
        except (TypeError, ValueError):
            raise _ApiError("invalid_limit") from None
        if limit < 1:
            raise _ApiError("invalid_limit")
        start = _decode_cursor(params.get("cursor"))
        page = members[start : start + limit]
        end = start + len(page)
        next_cursor = _encode_cursor(end) if end < len(members) else ""
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        try:
            length = int(params.get("length") or 0)
        except (TypeError, ValueError):
            raise _ApiError("invalid_arguments") from None
        if not filename or length < 1:
            raise _ApiError("invalid_arguments")
        self._require_started()
        file_id = self._next_id("F")
        self.files[file_id] = FakeFile(
            id=file_id,
            filename=str(filename),
            length=length,
            alt_txt=_str_or_none(params.get("alt_txt")),
        )
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params.get("files")
        if not isinstance(entries, list) or not entries:
            raise _ApiError("invalid_arguments")
        channels = [c for c in str(params.get("channels") or "").split(",") if c]
        if params.get("channel_id"):
            channels.insert(0, str(params["channel_id"]))
        channels = [self._resolve_channel(c) for c in channels]
        completed: list[FakeFile] = []
        for entry in entries:
            fake_file = self.files.get(str(entry.get("id") if isinstance(entry, dict) else ""))
            if fake_file is None or fake_file.content is None:
                raise _ApiError("file_not_found")
            completed.append(fake_file)
        initial_comment = _str_or_none(params.get("initial_comment"))
        thread_ts = _str_or_none(params.get("thread_ts"))
        objects = []
        for fake_file, entry in zip(completed, entries, strict=True):
            fake_file.title = entry.get("title") or fake_file.filename
            fake_file.completed = True
            fake_file.channels = channels
            fake_file.initial_comment = initial_comment
            fake_file.thread_ts = thread_ts
            objects.append(self._file_object(fake_file))
        for channel in channels:
            ts = self._next_ts()
            self._messages[(channel, ts)] = {
                "type": "message",
                "subtype": "file_share",
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "ts": ts,
                "text": initial_comment or "",
                "files": objects,
                "channel": channel,
                **({"thread_ts": thread_ts} if thread_ts else {}),
            }
        return {"files": objects}

    def _file_object(self, fake_file: FakeFile) -> dict[str, Any]:
        mimetype = mimetypes.guess_type(fake_file.filename)[0] or "application/octet-stream"
        url = (
            f"https://files.slack.com/files-pri/{self.team_id}-{fake_file.id}/{fake_file.filename}"
        )
        return {
            "id": fake_file.id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": fake_file.filename,
            "title": fake_file.title,
            "mimetype": mimetype,
            "filetype": fake_file.filename.rsplit(".", 1)[-1].lower(),
            "user": self.bot_user_id,
            "size": len(fake_file.content or b""),
            "is_public": False,
            "url_private": url,
            "url_private_download": url.replace("files-pri", "files-pri-download"),
            "permalink": f"https://{self.team_domain}.slack.com/files/{self.bot_user_id}/{fake_file.id}",
            "alt_txt": fake_file.alt_txt,
            "channels": list(fake_file.channels),
        }

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        name = params.get("name")
        ts = params.get("timestamp")
        if not name:
            raise _ApiError("invalid_name")
        if not ts:
            raise _ApiError("bad_timestamp")
        for reaction in self.reactions:
            if (reaction["channel"], reaction["timestamp"], reaction["name"]) == (
                channel,
                str(ts),
                name,
            ):
                raise _ApiError("already_reacted")
        self.reactions.append({"channel": channel, "timestamp": str(ts), "name": name})
        message = self._messages.get((channel, str(ts)))
        if message is not None:
            reactions = message.setdefault("reactions", [])
            reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        return {}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(str(params.get("usergroup") or ""))
        if group is None:
            raise _ApiError("no_such_subteam")
        return {"users": list(group)}


# ---------------------------------------------------------------------- block validation


def validate_blocks(blocks: Any, *, max_blocks: int = _MAX_MESSAGE_BLOCKS) -> list[str]:
    """Check the Block Kit limits Slack enforces; returns Slack-style error strings."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"must be less than {max_blocks + 1} items [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"missing required field: type {where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                errors.append(f"duplicate block_id {block_id!r} {where}/block_id]")
            elif len(str(block_id)) > _MAX_BLOCK_ID:
                errors.append(f"must be less than {_MAX_BLOCK_ID + 1} characters {where}/block_id]")
            block_ids.add(block_id)
        errors += _model_errors(block, where)
        kind = block["type"]
        if kind == "actions":
            errors += _validate_elements(block, where, _MAX_ACTIONS_ELEMENTS)
        elif kind == "context":
            errors += _validate_elements(block, where, _MAX_CONTEXT_ELEMENTS)
        elif kind == "header":
            if len(_text_of(block.get("text"))) > _MAX_HEADER_TEXT:
                errors.append(f"must be less than {_MAX_HEADER_TEXT + 1} characters {where}/text]")
        elif kind == "section":
            text = block.get("text")
            fields = block.get("fields")
            if text is None and not fields:
                errors.append(f"must provide text or fields {where}]")
            if len(_text_of(text)) > _MAX_SECTION_TEXT:
                errors.append(
                    f"must be less than {_MAX_SECTION_TEXT + 1} characters {where}/text/text]"
                )
            if isinstance(fields, list):
                if len(fields) > _MAX_SECTION_FIELDS:
                    errors.append(
                        f"must be less than {_MAX_SECTION_FIELDS + 1} items {where}/fields]"
                    )
                for j, item in enumerate(fields):
                    if len(_text_of(item)) > _MAX_FIELD_TEXT:
                        errors.append(
                            f"must be less than {_MAX_FIELD_TEXT + 1} characters "
                            f"{where}/fields/{j}/text]"
                        )
            accessory = block.get("accessory")
            if isinstance(accessory, dict):
                errors += _validate_element(accessory, f"{where}/accessory")
    return errors


def _model_errors(block: dict[str, Any], where: str) -> list[str]:
    """What slack_sdk's Block Kit models refuse in `block` (see the limits above)."""
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"unsupported type: {block['type']} {where}/type]"]
        parsed.to_dict()  # validates the block and the objects in it
        # ...except options and option groups, which the select elements keep as dicts.
        for option in Option.parse_all(_options_in(block)) or []:
            option.validate_json()
        for group in OptionGroup.parse_all(_option_groups_in(block)) or []:
            group.validate_json()
    except SlackObjectFormationError as error:
        return [f"{error} {where}]"]
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        return [f"invalid block ({type(error).__name__}: {error}) {where}]"]
    return []


def _options_in(value: Any) -> list[Any]:
    """Every option object of every select menu in `value`, recursively."""
    if isinstance(value, list):
        return [option for item in value for option in _options_in(item)]
    if not isinstance(value, dict):
        return []
    found = [o for o in value.get("options") or [] if isinstance(o, dict)]
    for group in value.get("option_groups") or []:
        if isinstance(group, dict):
            found += [o for o in group.get("options") or [] if isinstance(o, dict)]
    for key, item in value.items():
        if key not in ("options", "option_groups") and isinstance(item, (list, dict)):
            found += _options_in(item)
    return found


def _option_groups_in(value: Any) -> list[Any]:
    """Every option group of every select menu in `value`, recursively."""
    if isinstance(value, list):
        return [group for item in value for group in _option_groups_in(item)]
    if not isinstance(value, dict):
        return []
    found = [g for g in value.get("option_groups") or [] if isinstance(g, dict)]
    for key, item in value.items():
        if key != "option_groups" and isinstance(item, (list, dict)):
            found += _option_groups_in(item)
    return found


def _mrkdwn_texts(value: Any) -> list[str]:
    """Every mrkdwn text object's text in `value` (blocks, recursively)."""
    if isinstance(value, list):
        return [text for item in value for text in _mrkdwn_texts(item)]
    if not isinstance(value, dict):
        return []
    found = []
    if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
        found.append(value["text"])
    for item in value.values():
        if isinstance(item, (list, dict)):
            found += _mrkdwn_texts(item)
    return found


def _validate_elements(block: dict[str, Any], where: str, limit: int) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"must provide at least one element {where}/elements]"]
    errors = []
    if len(elements) > limit:
        errors.append(f"must be less than {limit + 1} items {where}/elements]")
    action_ids: set[str] = set()
    for j, element in enumerate(elements):
        if not isinstance(element, dict):
            errors.append(f"must be an object {where}/elements/{j}]")
            continue
        action_id = element.get("action_id")
        if action_id is not None:
            if action_id in action_ids:
                errors.append(f"duplicate action_id {action_id!r} {where}/elements/{j}]")
            action_ids.add(action_id)
        errors += _validate_element(element, f"{where}/elements/{j}")
    return errors


def _validate_element(element: dict[str, Any], where: str) -> list[str]:
    errors = []
    action_id = element.get("action_id")
    if action_id is not None and len(str(action_id)) > _MAX_ACTION_ID:
        errors.append(f"must be less than {_MAX_ACTION_ID + 1} characters {where}/action_id]")
    if element.get("type") == "button":
        if len(_text_of(element.get("text"))) > _MAX_BUTTON_TEXT:
            errors.append(f"must be less than {_MAX_BUTTON_TEXT + 1} characters {where}/text]")
        if len(str(element.get("value", ""))) > _MAX_BUTTON_VALUE:
            errors.append(f"must be less than {_MAX_BUTTON_VALUE + 1} characters {where}/value]")
    return errors


def _text_of(text: Any) -> str:
    if isinstance(text, dict):
        return str(text.get("text", ""))
    return "" if text is None else str(text)


# ---------------------------------------------------------------------- request parsing


async def _request_params(request: web.Request, raw: bytes) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    content_type = request.content_type
    if content_type == JSON_CONTENT_TYPE and raw:
        body = json.loads(raw)
        if isinstance(body, dict):
            params.update(body)
    elif content_type == FORM_CONTENT_TYPE:
        params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    elif content_type.startswith("multipart/"):
        form = await request.post()
        for key, value in form.items():
            params[key] = value.file.read() if isinstance(value, web.FileField) else value
    for key in _JSON_FIELDS & params.keys():
        value = params[key]
        if isinstance(value, str):
            with contextlib.suppress(json.JSONDecodeError):
                params[key] = json.loads(value)
    return params


def _bearer_token(request: web.Request) -> str | None:
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in {"1", "true"}


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        kind, _, offset = base64.b64decode(str(cursor)).decode().partition(":")
        if kind != "offset":
            raise ValueError(cursor)
        return int(offset)
    except ValueError:
        raise _ApiError("invalid_cursor") from None


# ---------------------------------------------------------------------- inbound helpers


def sign(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers for `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


_inbound_counter = itertools.count(1)


def _trigger_id() -> str:
    return f"{int(time.time())}.{next(_inbound_counter)}.{secrets.token_hex(16)}"


def event_callback_body(
    event: dict[str, Any],
    *,
    team_id: str = "T0TEST",
    event_id: str | None = None,
    bot_user_id: str = "U0BOT",
    api_app_id: str = "A0TEST",
) -> str:
    """An Events API ``event_callback`` envelope around `event`, as a JSON string."""
    event_time = int(time.time())
    return json.dumps(
        {
            "token": "verification-token",
            "team_id": team_id,
            "context_team_id": team_id,
            "context_enterprise_id": None,
            "api_app_id": api_app_id,
            "event": {"event_ts": f"{event_time}.000100", **event},
            "type": "event_callback",
            "event_id": event_id or f"Ev0FAKE{next(_inbound_counter):06d}",
            "event_time": event_time,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-fake-{next(_inbound_counter)}",
        }
    )


def _user_ref(user_id: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": "test", "name": "test", "team_id": team_id}


def block_actions_body(
    user_id: str,
    action_id: str,
    value: str,
    *,
    channel_id: str,
    message_ts: str,
    block_id: str = "b",
    team_id: str = "T0TEST",
    action_type: str = "button",
    message: dict[str, Any] | None = None,
    response_url: str | None = None,
) -> str:
    """A ``block_actions`` interaction payload (form-encoded ``payload=...``) for a click on
    a message button (or, with ``action_type="static_select"``, a selected option)."""
    action: dict[str, Any] = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{int(time.time())}.000200",
    }
    if action_type == "static_select":
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": value, "emoji": True},
            "value": value,
        }
    else:
        action["value"] = value
        action["text"] = {"type": "plain_text", "text": value, "emoji": True}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user_ref(user_id, team_id),
        "api_app_id": "A0TEST",
        "token": "verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": _trigger_id(),
        "team": {"id": team_id, "domain": "test-team"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "general"},
        "message": message
        or {
            "type": "message",
            "user": "U0BOT",
            "bot_id": "B0BOT",
            "ts": message_ts,
            "text": "",
            "blocks": [],
        },
        "state": {"values": {}},
        "response_url": response_url
        or f"https://hooks.slack.com/actions/{team_id}/{next(_inbound_counter)}/fake",
        "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)})


def slash_command_body(
    command: str,
    text: str,
    user_id: str,
    channel_id: str = "C0GENERAL",
    team_id: str = "T0TEST",
    *,
    response_url: str | None = None,
    fake: FakeSlack | None = None,
    trigger_id: str | None = None,
) -> str:
    """A slash command request body (form-encoded). The ``response_url`` is `response_url`
    if given, else a fresh one served by `fake` if given, else a hooks.slack.com URL."""
    if response_url is None:
        response_url = (
            fake.new_response_url()
            if fake is not None
            else f"https://hooks.slack.com/commands/{team_id}/{next(_inbound_counter)}/fake"
        )
    return urlencode(
        {
            "token": "verification-token",
            "team_id": team_id,
            "team_domain": "test-team",
            "channel_id": channel_id,
            "channel_name": "general" if channel_id.startswith("C") else "directmessage",
            "user_id": user_id,
            "user_name": "test",
            "command": command,
            "text": text,
            "api_app_id": "A0TEST",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or _trigger_id(),
        }
    )


def view_submission_body(
    user_id: str,
    callback_id: str,
    values: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    *,
    private_metadata: str = "",
    view_id: str = "V0TEST",
    blocks: list[dict[str, Any]] | None = None,
    team_id: str = "T0TEST",
) -> str:
    """A ``view_submission`` payload (form-encoded ``payload=...``). `values` is the
    ``view.state.values`` mapping: ``{block_id: {action_id: {"type": ..., "value": ...}}}``."""
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "test-team"},
        "user": _user_ref(user_id, team_id),
        "api_app_id": "A0TEST",
        "token": "verification-token",
        "trigger_id": _trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": dict(values or {})},
            "hash": f"{int(time.time())}.fakehash",
            "title": {"type": "plain_text", "text": "Palaute"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": "A0TEST",
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "B0BOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload)})


class SlackInbound:
    """Posts signed requests to the app's Slack endpoint, like Slack does."""

    def __init__(self, url: str, signing_secret: str) -> None:
        self.url = url
        self.signing_secret = signing_secret

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        bad_signature: bool = False,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> tuple[int, str]:
        """POST `body` (e.g. with `FORM_CONTENT_TYPE` or `JSON_CONTENT_TYPE`) signed with the
        signing secret (or a wrong signature); returns (status, response text)."""
        headers = sign(self.signing_secret, body, timestamp)
        if bad_signature:
            headers["X-Slack-Signature"] = "v0=" + "0" * 64
        headers["Content-Type"] = content_type
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
        if retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(self.url, data=body.encode("utf-8"), headers=headers) as response,
        ):
            return response.status, await response.text()


@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started `FakeSlack`, stopped after the test."""
    fake = FakeSlack()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
    fake.assert_no_live_markup()
