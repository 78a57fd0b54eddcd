"""Self-test of tests/fakes/telegram_api.py against the real python-telegram-bot library."""

# The fixture is imported here (tests/conftest.py is owned elsewhere), so every test argument
# named `fake_telegram` "redefines" the import as far as pyflakes is concerned.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
import pytest_asyncio
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401

PNG_1x1 = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x03\x00\x08\xfc\x02\xfe\xa7\x9a\xa0"
    b"\xa0\x00\x00\x00\x00IEND\xaeB`\x82"
)


def make_bot(fake: FakeTelegram, token: str | None = None) -> telegram.Bot:
    return telegram.Bot(
        token or fake.token,
        base_url=fake.ptb_base_url,
        base_file_url=fake.ptb_base_file_url,
    )


@pytest_asyncio.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with make_bot(fake_telegram) as ptb_bot:
        yield ptb_bot


async def test_get_me(fake_telegram: FakeTelegram, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "palaute_test_bot"
    assert me.id == 123456
    assert fake_telegram.calls[0].method == "getMe"
    assert fake_telegram.calls[0].status == 200


async def test_send_message_records_decoded_markup(
    fake_telegram: FakeTelegram,
    bot: telegram.Bot,
) -> None:
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Yes", callback_data="q1:yes")],
            [InlineKeyboardButton("No", callback_data="q1:no")],
        ]
    )
    sent = await bot.send_message(
        42,
        "<b>How likely</b> are you to recommend us?",
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )

    assert sent.message_id == 1
    assert sent.chat.id == 42 and sent.chat.type == "private"
    assert sent.text == "How likely are you to recommend us?"
    assert sent.reply_markup == markup
    assert sent.from_user is not None and sent.from_user.username == "palaute_test_bot"

    call = fake_telegram.calls_to("sendMessage")[0]
    assert call.params["chat_id"] == 42  # JSON-decoded int, not "42"
    assert call.params["text"] == "<b>How likely</b> are you to recommend us?"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": "q1:yes"}],
            [{"text": "No", "callback_data": "q1:no"}],
        ]
    }
    [message] = fake_telegram.sent_messages(42)
    assert message.button_texts == ["Yes", "No"]
    assert message.callback_data_for("No") == "q1:no"

    second = await bot.send_message(42, "123")  # a numeric text stays a string
    assert second.message_id == 2
    assert fake_telegram.calls_to("sendMessage")[1].params["text"] == "123"


async def test_edit_message_text(fake_telegram: FakeTelegram, bot: telegram.Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("1", callback_data="1")]])
    sent = await bot.send_message(7, "Question?", reply_markup=markup)

    edited = await bot.edit_message_text("Thanks!", chat_id=7, message_id=sent.message_id)
    assert isinstance(edited, telegram.Message)
    assert edited.text == "Thanks!"
    assert edited.edit_date is not None

    [message] = fake_telegram.sent_messages(7)
    assert message.text == "Thanks!"
    assert message.reply_markup is None  # omitting reply_markup removes the inline keyboard
    assert message.history[0]["text"] == "Question?"

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Thanks!", chat_id=7, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(chat_id=7, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=7, message_id=99)

    assert await bot.delete_message(7, sent.message_id)
    assert fake_telegram.sent_messages(7, include_deleted=False) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(7, sent.message_id)


async def test_get_updates_offset_semantics(
    fake_telegram: FakeTelegram,
    bot: telegram.Bot,
) -> None:
    user = fake_telegram.user(5, first_name="Maija", language_code="fi")
    pushed = [fake_telegram.push_text(user, f"hello {i}") for i in range(3)]
    ids = [update["update_id"] for update in pushed]
    assert ids == sorted(ids) and len(set(ids)) == 3

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == ids
    assert updates[0].message is not None and updates[0].message.text == "hello 0"
    assert updates[0].effective_user is not None
    assert updates[0].effective_user.language_code == "fi"

    # Unconfirmed updates are delivered again; limit caps the batch.
    again = await bot.get_updates(timeout=0, limit=2)
    assert [u.update_id for u in again] == ids[:2]

    # Confirming the first one drops only it, ...
    rest = await bot.get_updates(offset=ids[0] + 1, timeout=0)
    assert [u.update_id for u in rest] == ids[1:]
    # ... confirming the last one drops them all, forever.
    assert await bot.get_updates(offset=ids[-1] + 1, timeout=0) == ()
    assert await bot.get_updates(timeout=0) == ()
    assert fake_telegram.pending_updates == []


async def test_get_updates_long_poll_returns_on_push(
    fake_telegram: FakeTelegram,
    bot: telegram.Bot,
) -> None:
    user = fake_telegram.user(8)
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=3))
    await fake_telegram.wait_for(lambda: fake_telegram.long_polls_waiting == 1, timeout=2)
    fake_telegram.push_text(user, "/start campaign-7")
    updates = await poll
    assert time.monotonic() - started < 1.5
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.text == "/start campaign-7"
    assert message.entities[0].type == "bot_command" and message.entities[0].length == 6

    # An empty long poll lasts `timeout` seconds and then answers [].
    started = time.monotonic()
    empty = await bot.get_updates(offset=updates[0].update_id + 1, timeout=timedelta(seconds=0.3))
    assert empty == ()
    assert 0.25 < time.monotonic() - started < 1.5


async def test_retry_after(fake_telegram: FakeTelegram, bot: telegram.Bot) -> None:
    fake_telegram.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(1, "hi")
    assert excinfo.value.retry_after == timedelta(seconds=7)
    assert fake_telegram.calls_to("sendMessage")[0].status == 429
    await bot.send_message(1, "hi")  # only the next call failed
    assert fake_telegram.calls_to("sendMessage")[1].status == 200


async def test_blocked_user(fake_telegram: FakeTelegram, bot: telegram.Bot) -> None:
    fake_telegram.blocked_users.add(666)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(666, "hi")
    with pytest.raises(Forbidden):
        await bot.send_photo(666, PNG_1x1)
    assert fake_telegram.sent_messages() == []


async def test_wrong_token(fake_telegram: FakeTelegram) -> None:
    wrong = make_bot(fake_telegram, token="999:WRONG")
    try:
        with pytest.raises(InvalidToken, match="Unauthorized"):
            await wrong.send_message(1, "hi")
        with pytest.raises(InvalidToken, match="rejected by the server"):
            await wrong.initialize()  # initialize() calls getMe
    finally:
        # A failed initialize() leaves Bot._initialized False, so Bot.shutdown() would be a
        # no-op: close the HTTP client ourselves.
        await wrong.request.shutdown()
    assert {call.status for call in fake_telegram.calls} == {401}


async def test_button_data_invalid(fake_telegram: FakeTelegram, bot: telegram.Bot) -> None:
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(1, "pick", reply_markup=too_long)
    multibyte = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="ä" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):  # 66 bytes in UTF-8
        await bot.send_message(1, "pick", reply_markup=multibyte)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(1, "   ")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1, "score <5", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="reserved"):
        await bot.send_message(1, "Thanks.", parse_mode=ParseMode.MARKDOWN_V2)
    assert fake_telegram.sent_messages() == []


async def test_send_photo_and_document(fake_telegram: FakeTelegram, bot: telegram.Bot) -> None:
    photo = await bot.send_photo(3, PNG_1x1, caption="NPS trend", filename="nps.png")
    assert photo.photo[-1].width == 1 and photo.caption == "NPS trend"
    call = fake_telegram.calls_to("sendPhoto")[0]
    assert call.files["photo"].data == PNG_1x1
    assert call.files["photo"].filename == "nps.png"
    assert call.params == {"chat_id": 3, "caption": "NPS trend"}

    document = await bot.send_document(3, b"a,b\n1,2\n", filename="export.csv")
    assert document.document is not None and document.document.file_name == "export.csv"
    [_, sent_doc] = fake_telegram.sent_messages(3)
    assert sent_doc.file is not None and sent_doc.file.data == b"a,b\n1,2\n"

    # The uploaded file can be re-sent by file_id and downloaded through base_file_url.
    resent = await bot.send_document(4, document.document.file_id)
    assert resent.document is not None
    downloaded = await (await bot.get_file(document.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"a,b\n1,2\n"


async def test_private_chat_rate_limit(fake_telegram: FakeTelegram, bot: telegram.Bot) -> None:
    assert fake_telegram.rate_limits_enabled  # on unless a test turns them off
    outcomes: list[timedelta | int | None] = []
    for i in range(5):
        try:
            await bot.send_message(11, f"msg {i}")
            outcomes.append(None)
        except RetryAfter as exc:
            outcomes.append(exc.retry_after)
    assert outcomes[:3] == [None, None, None]  # burst of 3
    assert outcomes[3:] == [timedelta(seconds=1)] * 2
    assert fake_telegram.rate_limited_count == 2
    assert [c.status for c in fake_telegram.calls_to("sendMessage")] == [200] * 3 + [429] * 2
    await bot.send_message(12, "other chats are unaffected")


async def test_group_and_global_rate_limits(
    fake_telegram: FakeTelegram,
    bot: telegram.Bot,
) -> None:
    now = [1000.0]
    fake_telegram.rate_limit_clock = lambda: now[0]
    for i in range(20):
        await bot.send_message(-100, f"group {i}")
    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(-100, "one too many this minute")
    assert excinfo.value.retry_after == timedelta(seconds=60)
    now[0] += 60
    await bot.send_message(-100, "a minute later")

    now[0] += 60
    for chat_id in range(1, 31):  # 30 different chats in the same instant
        await bot.send_message(chat_id, "broadcast")
    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(31, "broadcast")
    assert excinfo.value.retry_after == timedelta(seconds=1)
    assert fake_telegram.rate_limited_count == 2


async def test_random_and_slow_failures(
    fake_telegram: FakeTelegram,
    bot: telegram.Bot,
) -> None:
    # 20 sends to one chat at once: Telegram's flood limits would answer 429s of their own
    # among the injected ones, and this test checks only which faults the seed injects.
    fake_telegram.rate_limits_enabled = False

    async def outcomes() -> list[str]:
        results = []
        for i in range(20):
            try:
                await bot.send_message(1, f"m{i}")
                results.append("ok")
            except RetryAfter:
                results.append("429")
            except NetworkError:
                results.append("500")
        return results

    fake_telegram.failure_kinds = ("500", "429")
    fake_telegram.failure_rate = 0.5
    fake_telegram.failure_seed = 3
    first = await outcomes()
    assert set(first) == {"ok", "429", "500"}
    fake_telegram.failure_seed = 3
    assert await outcomes() == first  # same seed, same faults
    assert {c.fault for c in fake_telegram.calls_to("sendMessage")} == {None, "random"}

    # A slow answer times the client out, but the message is still delivered (as on Telegram).
    fake_telegram.calls.clear()
    fake_telegram.failure_rate = 1.0
    fake_telegram.failure_kinds = ("slow",)
    fake_telegram.slow_response_seconds = 0.3
    with pytest.raises(TimedOut):
        await bot.send_message(2, "slow", read_timeout=0.05)
    [call] = await fake_telegram.wait_for_calls("sendMessage", 1)
    assert (call.status, call.fault) == (200, "slow")
    assert [m.text for m in fake_telegram.sent_messages(2)] == ["slow"]


async def test_webhook_and_misc_methods(fake_telegram: FakeTelegram, bot: telegram.Bot) -> None:
    assert await bot.set_webhook(
        "https://example.test/hook", secret_token="s3cret", allowed_updates=["message"]
    )
    assert fake_telegram.webhook is not None
    assert fake_telegram.webhook["allowed_updates"] == ["message"]
    info = await bot.get_webhook_info()
    assert info.url == "https://example.test/hook"
    with pytest.raises(Conflict):
        await bot.get_updates(timeout=0)
    fake_telegram.push_text(fake_telegram.user(1), "hi")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert fake_telegram.webhook is None
    assert await bot.get_updates(timeout=0) == ()

    assert await bot.set_my_commands([("start", "Start the survey"), ("stop", "Stop")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "stop"]
    assert await bot.send_chat_action(1, "typing")
    chat = await bot.get_chat(1)
    assert chat.type == "private" and chat.first_name == "Test"

    # PTB maps a 404 to InvalidToken, which do_api_request turns into EndPointNotFound.
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    assert fake_telegram.calls[-1].status == 404


async def test_wait_for_timeout_message(fake_telegram: FakeTelegram, bot: telegram.Bot) -> None:
    await bot.send_message(1, "hi")
    with pytest.raises(AssertionError, match=r"2 call\(s\) to sendMessage \(got 1\)") as excinfo:
        await fake_telegram.wait_for_calls("sendMessage", 2, timeout=0.1)
    assert "sendMessage -> 200" in str(excinfo.value)


async def test_application_polling(fake_telegram: FakeTelegram) -> None:
    payloads: list[list[str]] = []
    answered: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        payloads.append(list(context.args or []))
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("10", callback_data="nps:10")]])
        await update.message.reply_text("How likely...?", reply_markup=keyboard)

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        answered.append(query.data)
        await query.answer()
        await query.edit_message_text("Thanks!")

    application = (
        Application.builder()
        .token(fake_telegram.token)
        .base_url(fake_telegram.ptb_base_url)
        .base_file_url(fake_telegram.ptb_base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(on_button))
    user = fake_telegram.user(77, first_name="Aino")

    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=2)
        try:
            fake_telegram.push_text(user, "/start invite-abc")
            await fake_telegram.wait_for(lambda: len(fake_telegram.sent_messages(77)) == 1)
            question = fake_telegram.sent_messages(77)[0]
            fake_telegram.push_callback(user, question, question.callback_data_for("10"))
            await fake_telegram.wait_for(lambda: question.text == "Thanks!")
        finally:
            await application.updater.stop()
            await application.stop()

    assert payloads == [["invite-abc"]]
    assert answered == ["nps:10"]
    assert len(fake_telegram.callback_answers) == 1
    assert fake_telegram.pending_updates == []  # the updater confirmed everything on stop


async def test_text_length_counts_what_is_shown_after_entities_are_parsed(
    fake_telegram: FakeTelegram, bot: telegram.Bot
) -> None:
    # MessageLimit.MAX_TEXT_LENGTH: 4096 characters of the text as shown; markup is not shown.
    shown = "x" * 4094
    await bot.send_message(1, f"<b>{shown}</b>ok", parse_mode=ParseMode.HTML)  # 4107 raw
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(1, f"<b>{shown}</b>ok!", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(1, "&lt;" * 4097, parse_mode=ParseMode.HTML)  # 4097 "<" shown
    await bot.send_message(1, "👍" * 4096)  # characters, as telegram.constants counts them
    sent = await bot.send_message(1, "short")
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.edit_message_text("y" * 4097, chat_id=1, message_id=sent.message_id)
    with pytest.raises(BadRequest) as refused:
        await bot.send_message(1, "score <5", parse_mode=ParseMode.HTML)
    assert refused.value.message == (
        'Can\'t parse entities: unsupported start tag "5" at byte offset 6'
    )
    assert fake_telegram.calls[-1].description == (
        'Bad Request: can\'t parse entities: Unsupported start tag "5" at byte offset 6'
    )


async def post_raw(fake: FakeTelegram, method: str, **params: object) -> tuple[int, object]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.ptb_base_url}{fake.token}/{method}", data=params) as response,
    ):
        return response.status, await response.json()


async def test_a_429_answers_exactly_as_telegram_does(fake_telegram: FakeTelegram) -> None:
    fake_telegram.private_chat_burst = 0
    assert await post_raw(fake_telegram, "sendMessage", chat_id=5, text="one") == (
        200,
        {"ok": True, "result": fake_telegram.sent_messages(5)[0].to_api()},
    )
    assert await post_raw(fake_telegram, "sendMessage", chat_id=5, text="two") == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )


async def test_a_group_upgraded_to_a_supergroup_names_its_new_id(
    fake_telegram: FakeTelegram, bot: telegram.Bot
) -> None:
    await bot.send_message(-4242, "before the upgrade")
    fake_telegram.migrate_group(-4242, -1004242424242)
    assert await post_raw(fake_telegram, "sendMessage", chat_id=-4242, text="x") == (
        400,
        {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1004242424242},
        },
    )
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-4242, "after")
    assert migrated.value.new_chat_id == -1004242424242
    moved = await bot.send_message(-1004242424242, "in the supergroup")
    assert moved.chat.type == "supergroup"
