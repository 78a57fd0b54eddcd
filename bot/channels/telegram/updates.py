"""Telegram updates as palaute's `Incoming` values. Translation only: no decisions here."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType, InlineKeyboardButtonLimit

from bot.channels.base import Incoming, IncomingKind
from bot.channels.telegram.messages import message_ref

log = logging.getLogger(__name__)

CHANNEL = "telegram"


def _incoming(
    update: Update,
    kind: IncomingKind,
    *,
    message_ref: str,
    text: str = "",
    payload: str | None = None,
    command: str | None = None,
) -> Incoming:
    chat = update.effective_chat
    user = update.effective_user
    assert chat is not None, "handlers only take updates from a chat"
    shared = chat.type != ChatType.PRIVATE
    # Among colleagues in a group the full name says who it was; a customer is their first name.
    name = (user.full_name if shared else user.first_name) if user else None
    return Incoming(
        channel=CHANNEL,
        address=str(chat.id),
        kind=kind,
        text=_unicode(text) or "",
        payload=_unicode(payload),
        command=_unicode(command),
        message_ref=message_ref,
        language=_unicode(user.language_code) if user else None,
        display_name=_unicode(name),
        external_id=str(user.id) if user else None,
        shared_chat=shared,
    )


def _unicode(text: object) -> str | None:
    """Text SQLite can store: a lone surrogate (JSON allows "\\ud800"; only a forged update has
    one) becomes U+FFFD instead of failing the customer's whole update; a forged update's list
    or number where text belongs becomes None."""
    if not isinstance(text, str):
        return None
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def command_name(message: Message) -> str:
    """`/start@palaute_bot payload` → "start"."""
    first = (message.text or "").split(maxsplit=1)[0]
    return first.removeprefix("/").partition("@")[0].lower()


def command(update: Update, args: list[str] | None) -> Incoming:
    message = update.effective_message
    assert message is not None
    return _incoming(
        update,
        IncomingKind.COMMAND,
        command=command_name(message),
        payload=args[0] if args else None,
        message_ref=message_ref(message),
    )


def text(update: Update) -> Incoming:
    message = update.effective_message
    assert message is not None
    return _incoming(
        update, IncomingKind.TEXT, text=message.text or "", message_ref=message_ref(message)
    )


def reply(update: Update) -> Incoming:
    """A reply in a group to one of palaute's messages (an alert): about the message replied to."""
    message = update.effective_message
    assert message is not None and message.reply_to_message is not None
    return _incoming(
        update,
        IncomingKind.TEXT,
        text=message.text or "",
        message_ref=message_ref(message.reply_to_message),
    )


def button(update: Update) -> Incoming | None:
    """The tapped button, or None for callback data that palaute did not offer on that message."""
    query = update.callback_query
    assert query is not None
    data = offered_data(query)
    if data is None:
        return None
    assert query.message is not None
    return _incoming(
        update, IncomingKind.BUTTON, payload=data, message_ref=message_ref(query.message)
    )


def offered_data(query: CallbackQuery) -> str | None:
    """The query's callback data if it can be one of our buttons, else None (logged).

    A client can send any callback data for any message, so the data must be among the buttons
    the message carries now. A message that lost its buttons (the question was answered) offers
    none, which also makes a second tap on a stale keyboard harmless. An old message Telegram no
    longer shows us cannot be checked here; the payload's own validation still applies.
    """
    data = query.data
    if not data or len(data.encode()) > InlineKeyboardButtonLimit.MAX_CALLBACK_DATA:
        log.warning("ignored a Telegram button tap with malformed callback data")
        return None
    if query.message is None:
        log.warning("ignored a Telegram button tap on an inline message")
        return None
    message = query.message
    if not isinstance(message, Message):
        return data
    markup = message.reply_markup
    if markup is None:
        log.info("ignored a tap on the old buttons of answered message %s", message_ref(message))
        return None
    if data not in {b.callback_data for row in markup.inline_keyboard for b in row}:
        log.warning("ignored a forged button tap on message %s", message_ref(message))
        return None
    return data
