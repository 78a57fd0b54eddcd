"""Fuzzing Telegram updates: huge texts, emoji, right-to-left text, NUL bytes, forged callback
data, group chats, unknown and malformed update types. Nothing crashes palaute; each update is
answered, refused with a reason or ignored and logged, and the next customer is served as usual.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import PalauteApp
from bot.channels.telegram.channel import SECRET_HEADER, WEBHOOK_PATH
from bot.delivery.triggers import ContactSpec, TriggerRequest
from tests.fakes.telegram_api import FakeMessage, FakeTelegram, FakeUser
from tests.palaute_process import integrity
from tests.telegram_helpers import telegram_config, wait_for_text

pytestmark = pytest.mark.slow

SURVEY = """
[surveys.pick]
title = "Pick"
[[surveys.pick.questions]]
id = "dish"
type = "choice"
text = "Which dish did you have?"
choices = ["Soup", "Salad", "Pasta"]
[[surveys.pick.questions]]
id = "why"
type = "text"
text = "Why that one?"
max_length = 4000
[touchpoints.pick]
survey = "pick"
"""
SECRET = "fuzz-webhook-secret"

TEXT = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=3000, max_size=6000),
    st.sampled_from(
        [
            "",
            "\x00",
            "soup\x00",
            "\u202eplaS",
            "مرحبا بالعالم",
            "שלום",
            "🍲" * 2000,
            "𝕾𝖔𝖚𝖕",
            "/start",
            "/start " + "x" * 70,
            "/start a-b-" + "é" * 22,
            "/start j-market_2026-" + "A" * 22,
            "/stop@palaute_test_bot",
            "/delete",
            "/unknown_command arg",
            "'; DROP TABLE answers; --",
            "<script>alert(1)</script>",
            "1",
            "᧚",
        ]
    ),
)
CALLBACK_DATA = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"\Aa:[0-9a-z]{1,6}:-?[0-9]{1,3}:[a-z0-9]{0,8}\Z"),
    st.sampled_from(["stop", "delete", "f:1:claim", "f:²:claim", "a:zz:0:soup", "", "\x00"]),
)


def _names(users: list[FakeUser]) -> st.SearchStrategy[FakeUser]:
    return st.sampled_from(users)


# ------------------------------------------------------------------------------- polling


def actions(users: list[FakeUser]) -> st.SearchStrategy[tuple[str, Any, Any]]:
    return st.one_of(
        st.tuples(st.just("text"), _names(users), TEXT),
        st.tuples(st.just("group_text"), _names(users), TEXT),
        st.tuples(st.just("tap"), _names(users), CALLBACK_DATA),
        st.tuples(st.just("foreign_tap"), _names(users), st.just(None)),
        st.tuples(st.just("sticker"), _names(users), st.just(None)),
    )


async def _polling_scenario(steps: list[tuple[str, Any, Any]], users: list[FakeUser]) -> None:
    fake = FakeTelegram()
    for user in users:
        fake.user(user.id, user.first_name, user.language_code)
    await fake.start()
    folder = Path(tempfile.mkdtemp(prefix="palaute-fuzz-"))
    app = PalauteApp(telegram_config(fake, folder / "palaute.db", SURVEY))
    await app.start()
    try:
        for user in users[:2]:  # two customers are in a survey, the others are not
            await app.triggers.trigger(
                TriggerRequest("pick", ContactSpec("telegram", str(user.id)))
            )
        questions: dict[int, FakeMessage] = {}
        for user in users[:2]:
            questions[user.id] = await wait_for_text(fake, user, "Which dish")
        for kind, user, data in steps:
            own = questions.get(user.id) or questions[users[0].id]
            other = questions[users[1].id] if user.id != users[1].id else questions[users[0].id]
            if kind == "text":
                fake.push_text(user, data)
            elif kind == "group_text":
                fake.push_text(user, data, chat_id=-1_000_000_000_042)
            elif kind == "tap":
                fake.push_callback(user, own, data)
            elif kind == "foreign_tap":  # a real button from someone else's question
                fake.push_callback(user, own, other.buttons[0]["callback_data"])
            else:
                message = {
                    "message_id": 999,
                    "date": 0,
                    "chat": {"id": user.id, "type": "private", "first_name": "X"},
                    "from": user.to_api(),
                    "sticker": {"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1,
                                "is_animated": False, "is_video": False, "type": "regular"},
                }  # fmt: skip
                fake.push_update({"message": message})
        await _served_and_settled(app, fake)
    finally:
        await app.stop()
        await fake.stop()
        assert integrity(folder / "palaute.db") == "ok"


async def _served_and_settled(app: PalauteApp, fake: FakeTelegram) -> None:
    """A new customer is still served, and every stored update was handled."""
    newcomer = fake.user(999_999_001, "Newcomer")
    fake.push_text(newcomer, "/start")
    await fake.wait_for(lambda: bool(fake.sent_messages(newcomer.id)), 30)
    deadline = asyncio.get_running_loop().time() + 30
    while await app.store.inbox.unprocessed("telegram"):
        assert asyncio.get_running_loop().time() < deadline, "updates left unhandled"
        await asyncio.sleep(0.05)


USERS = [
    FakeUser(870_001, "Aino", "fi"),
    FakeUser(870_002, "Ben", "en"),
    FakeUser(870_003, "\u202eكريم", "ar"),
    FakeUser(870_004, "🦊" * 64, None),
]


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(actions(USERS), min_size=10, max_size=40))
def test_polled_updates_of_any_content_are_handled(
    steps: list[tuple[str, Any, Any]], caplog_handler: list[logging.LogRecord]
) -> None:
    caplog_handler.clear()
    asyncio.run(_polling_scenario(steps, USERS))
    assert_no_crash(caplog_handler)


# ------------------------------------------------------------------------------- webhook

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["\x00", "\u202e", "🦊" * 50, "/start", "a:1:0:soup"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=10,
)
UPDATE_TYPES = [
    "message", "edited_message", "callback_query", "channel_post", "poll", "my_chat_member",
    "inline_query", "pre_checkout_query", "message_reaction", "business_message", "unknown_kind",
]  # fmt: skip


def valid_message(update_id: int, text: str, chat: int = 870_010) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "chat": {"id": chat, "type": "private", "first_name": "W"},
            "from": {"id": chat, "is_bot": False, "first_name": "W", "language_code": "en"},
            "text": text,
        },
    }


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    return found


@st.composite
def webhook_bodies(draw: st.DrawFn) -> bytes:
    update_id = draw(st.integers(min_value=1, max_value=2**40))
    shape = draw(st.sampled_from(["mutated", "kind", "json", "bytes"]))
    if shape == "bytes":
        return draw(st.binary(max_size=300))
    if shape == "json":
        return json.dumps(draw(JSON)).encode()
    if shape == "kind":
        body = {"update_id": update_id, draw(st.sampled_from(UPDATE_TYPES)): draw(JSON)}
        return json.dumps(body).encode()
    body = valid_message(update_id, draw(TEXT), draw(st.integers(870_010, 870_030)))
    path = draw(st.sampled_from(_paths(body)[1:]))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = draw(JSON)
    return json.dumps(copy.deepcopy(body), ensure_ascii=draw(st.booleans())).encode()


async def _post(port: int, body: bytes, secret: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            data=body,
            headers={SECRET_HEADER: secret, "Content-Type": "application/json"},
        ) as response,
    ):
        return response.status


async def _webhook_scenario(bodies: list[bytes], secrets: list[str]) -> None:
    fake = FakeTelegram()
    await fake.start()
    folder = Path(tempfile.mkdtemp(prefix="palaute-fuzz-"))
    server = 'port = 0\napi_token = "test-api-token"\npublic_url = "https://palaute.example"'
    config = telegram_config(
        fake,
        folder / "palaute.db",
        SURVEY,
        mode="webhook",
        server=server,
        telegram=f'webhook_secret = "{SECRET}"',
    )
    app = PalauteApp(config)
    await app.start()
    try:
        port = app.http.port
        for body in bodies:
            assert await _post(port, body, SECRET) in (200, 400), body[:200]
        for secret in secrets:
            assert await _post(port, b"{}", secret) == 403
        # Replies to one chat are paced (about one a second): the newcomer has a chat of its own.
        newcomer = valid_message(2**41, "/start", 870_099)  # an update_id no fuzzed one has
        await _post(port, json.dumps(newcomer).encode(), SECRET)
        await fake.wait_for(lambda: bool(fake.sent_messages(870_099)), 30)
        deadline = asyncio.get_running_loop().time() + 30
        while await app.store.inbox.unprocessed("telegram"):
            assert asyncio.get_running_loop().time() < deadline, "updates left unhandled"
            await asyncio.sleep(0.05)
    finally:
        await app.stop()
        await fake.stop()
        assert integrity(folder / "palaute.db") == "ok"


FORGED = [
    b"\xe5",  # not UTF-8
    json.dumps({"update_id": 7, "message": {"text": "\ud800"}}).encode(),
    json.dumps(
        {
            "update_id": 9,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 870_012, "type": "private"},
                "from": {"id": 870_012, "is_bot": False, "first_name": "\ud800x"},
                "text": "lone \udc80 surrogate",
            },
        }
    ).encode(),
]


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@example(bodies=FORGED, secrets=["\x80", "wrong"])
@given(
    bodies=st.lists(webhook_bodies(), min_size=20, max_size=60),
    secrets=st.lists(
        # What an HTTP client can put in a header: aiohttp refuses to send DEL (0x7f).
        st.text(
            alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
            max_size=40,
        ).filter(lambda s: s.strip() != SECRET and s.strip() == s and s != ""),
        max_size=3,
    ),
)
def test_webhook_bodies_of_any_shape_are_stored_refused_or_skipped(
    bodies: list[bytes], secrets: list[str], caplog_handler: list[logging.LogRecord]
) -> None:
    caplog_handler.clear()
    asyncio.run(_webhook_scenario(bodies, secrets))
    # PTB does not check types: a forged update with a list where a name belongs is read, then
    # fails in a handler. That is logged and the update is marked handled, and nothing else
    # may fail: not palaute's own handling, not the HTTP server (a 500).
    assert_no_crash(
        caplog_handler,
        allowed=(
            "cannot be read; it is skipped",
            "could not be handled; it is skipped",
            "handling Telegram update",
        ),
    )


# ------------------------------------------------------------------------------- the log


@pytest.fixture
def caplog_handler() -> Any:
    """Every record palaute logs, across hypothesis examples (caplog is per test)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def assert_no_crash(records: list[logging.LogRecord], allowed: tuple[str, ...] = ()) -> None:
    """No handler blew up: errors are only the ones that name what was wrong with the input."""
    crashes = [
        record
        for record in records
        if record.levelno >= logging.ERROR
        and record.name.startswith(("bot", "storage", "telegram", "aiohttp.server"))
        and not any(text in record.getMessage() for text in allowed)
    ]
    assert not crashes, "\n".join(
        f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}"
        if r.exc_info
        else f"{r.name}: {r.getMessage()}"
        for r in crashes
    )
