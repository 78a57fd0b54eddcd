"""Telegram updates → `Incoming`, without a server: parsing and callback-data validation."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import (
    CallbackQuery,
    Chat,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)

from bot.channels.base import IncomingKind
from bot.channels.telegram import updates

USER = User(42, "Aino", is_bot=False, language_code="fi")
CHAT = Chat(42, Chat.PRIVATE)


def _message(text: str | None = None, markup: InlineKeyboardMarkup | None = None) -> Message:
    return Message(7, datetime.now(UTC), CHAT, from_user=USER, text=text, reply_markup=markup)


def _tap(data: str, message: Message | InaccessibleMessage) -> Update:
    query = CallbackQuery("q1", USER, chat_instance="c", data=data, message=message)
    return Update(1, callback_query=query)


def test_a_command_with_the_bots_name_and_a_deep_link_payload() -> None:
    update = Update(1, message=_message("/START@palaute_bot j-market-abc"))
    incoming = updates.command(update, ["j-market-abc"])
    assert (incoming.kind, incoming.command, incoming.payload) == (
        IncomingKind.COMMAND,
        "start",
        "j-market-abc",
    )
    assert (incoming.address, incoming.message_ref) == ("42", "42:7")
    assert (incoming.language, incoming.display_name, incoming.external_id) == ("fi", "Aino", "42")


def test_only_buttons_on_the_tapped_message_count() -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("9", callback_data="a:1:0:9")]])
    asked = _message("How likely…?", keyboard)
    tapped = updates.button(_tap("a:1:0:9", asked))
    assert tapped is not None and (tapped.payload, tapped.message_ref) == ("a:1:0:9", "42:7")
    assert updates.button(_tap("a:1:0:10", asked)) is None  # not offered: forged
    assert updates.button(_tap("a:1:0:9", _message("Answered: 9"))) is None  # buttons gone
    assert updates.button(_tap("x" * 65, asked)) is None


def test_a_message_too_old_to_inspect_leaves_validation_to_the_payload() -> None:
    old = InaccessibleMessage(CHAT, 7)
    tapped = updates.button(_tap("a:1:0:9", old))
    assert tapped is not None and tapped.message_ref == "42:7"
