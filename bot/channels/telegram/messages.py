"""Addresses, message references and inline keyboards as Telegram wants them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MaybeInaccessibleMessage, Message
from telegram.constants import InlineKeyboardButtonLimit, InlineKeyboardMarkupLimit

from bot.channels.base import Button, rejected_message

_MAX_DATA = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
# Undocumented by Telegram (PTB's telegram.constants): past 100 buttons it answers "reply
# markup is too long"; past 8 in a row clients leave buttons out.
MAX_BUTTONS = InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER
MAX_BUTTONS_PER_ROW = InlineKeyboardMarkupLimit.BUTTONS_PER_ROW


def chat_id(address: str) -> int | str:
    """A palaute address as a Bot API chat_id: numeric ids as ints, `@channel` names as they are."""
    return int(address) if address.lstrip("-").isdigit() else address


def message_ref(message: MaybeInaccessibleMessage) -> str:
    return f"{message.chat.id}:{message.message_id}"


def parse_message_ref(ref: str) -> tuple[int | str, int]:
    """(chat_id, message_id) of a reference made by `message_ref`."""
    chat, _, message_id = ref.rpartition(":")
    if not chat or not message_id.isdigit():
        raise rejected_message(f"{ref!r} is not a Telegram message reference")
    return chat_id(chat), int(message_id)


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Buttons whose payloads come back as callback data; None when there are no buttons."""
    kept = [part for row in rows if row for part in _fitting_rows(row)]
    if not kept:
        return None
    total = sum(len(row) for row in kept)
    if total > MAX_BUTTONS:
        raise rejected_message(f"{total} buttons on one message; Telegram takes {MAX_BUTTONS}")
    for row in kept:
        for button in row:
            size = len(button.payload.encode())
            if not InlineKeyboardButtonLimit.MIN_CALLBACK_DATA <= size <= _MAX_DATA:
                raise rejected_message(
                    f"button payload {button.payload!r} is {size} bytes; Telegram takes 1–64"
                )
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.payload) for b in row] for row in kept]
    )


def _fitting_rows(row: Sequence[Button]) -> list[Sequence[Button]]:
    """A row as several rows of at most 8, evened out (12 buttons: 6 and 6, not 8 and 4)."""
    count = -(-len(row) // MAX_BUTTONS_PER_ROW)
    size = -(-len(row) // count)
    return [row[start : start + size] for start in range(0, len(row), size)]


Send = Callable[[], Awaitable[Message]]


class MessageSequence:
    """Several Telegram messages that are one outbox item (a greeting and its question, a chart
    and its report).

    When a later part fails, the dispatcher retries the whole item; the parts that already went
    out are remembered here so that the customer does not get the greeting twice.
    """

    def __init__(self) -> None:
        self._sent: dict[Hashable, int] = {}

    async def send(self, key: Hashable, parts: Sequence[Send]) -> Message:
        """Send the parts not yet sent under `key`; returns the last message."""
        done = self._sent.get(key, 0)
        last: Message | None = None
        for index, part in enumerate(parts):
            if index < done:
                continue
            last = await part()
            self._sent[key] = index + 1
        self._sent.pop(key, None)
        assert last is not None, "a message sequence has at least one part"
        return last

    def forget(self, key: Hashable) -> None:
        self._sent.pop(key, None)
