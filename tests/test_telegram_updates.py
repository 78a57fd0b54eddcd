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


def test_a_press_and_a_reply_in_a_team_group_come_from_the_group() -> None:
    group = Chat(-1001234567890, Chat.SUPERGROUP, title="Customer care")
    anna = User(7, "Anna", is_bot=False, last_name="Virtanen", language_code="fi")
    palaute = User(1, "palaute", is_bot=True)
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("I'll follow up", callback_data="f:1:claim")]]
    )
    alert = Message(
        5, datetime.now(UTC), group, from_user=palaute, text="Detractor #1", reply_markup=keyboard
    )
    query = CallbackQuery("q2", anna, chat_instance="c", data="f:1:claim", message=alert)
    press = updates.button(Update(2, callback_query=query))
    assert press is not None
    assert (press.address, press.message_ref, press.display_name, press.shared_chat) == (
        "-1001234567890",
        "-1001234567890:5",
        "Anna Virtanen",  # among colleagues, the full name
        True,
    )
    answer = Message(
        9, datetime.now(UTC), group, from_user=anna, text="So sorry!", reply_to_message=alert
    )
    reply = updates.reply(Update(3, message=answer))
    assert (reply.kind, reply.text, reply.address, reply.message_ref, reply.shared_chat) == (
        IncomingKind.TEXT,
        "So sorry!",
        "-1001234567890",
        "-1001234567890:5",  # the alert replied to, not the reply itself
        True,
    )
    customer = updates.text(Update(4, message=_message("Late again")))
    assert (customer.display_name, customer.shared_chat) == ("Aino", False)

    # A Telegram channel has no replies, but its alert buttons work the same.
    channel = Chat(-1009876543210, Chat.CHANNEL, title="Alerts")
    posted = Message(3, datetime.now(UTC), channel, text="Detractor #2", reply_markup=keyboard)
    query = CallbackQuery("q3", anna, chat_instance="c", data="f:1:claim", message=posted)
    press = updates.button(Update(5, callback_query=query))
    assert press is not None and press.shared_chat and press.address == "-1009876543210"
    assert press.display_name == "Anna Virtanen"
