"""What one message of a channel can carry, for the checks that keep palaute's messages within it.

Static, so that `palaute check` can tell before anything starts that a survey cannot be sent.
A channel's spec names its capacity; the web channel has none: a page holds any text and any
number of choices.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram.constants import InlineKeyboardMarkupLimit, MessageLimit


@dataclass(frozen=True)
class MessageCapacity:
    platform: str
    """As the organizer knows it, for messages ("Telegram")."""
    max_text_length: int
    """Characters in one message, counted after formatting is parsed (see `text_length`)."""
    max_buttons: int | None
    """Buttons on one message, all rows together; None for a channel that asks a question with
    more options than its buttons hold in another way (WhatsApp: typed, with a hint)."""


TELEGRAM = MessageCapacity(
    platform="Telegram",
    # telegram.constants.MessageLimit.MAX_TEXT_LENGTH: 1-4096 characters after entities parsing
    # (Bot API, sendMessage `text`).
    max_text_length=MessageLimit.MAX_TEXT_LENGTH,
    # telegram.constants.InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER (undocumented by Telegram,
    # which answers "reply markup is too long" past it). The 8 a row (BUTTONS_PER_ROW) is the
    # adapter's layout, never the survey's problem.
    max_buttons=InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER,
)


def text_length(text: str) -> int:
    """Length in UTF-16 code units: an emoji counts twice.

    Telegram's own count is disputed: entity offsets are UTF-16, and many clients split by UTF-16,
    while a live probe found 4096 emoji accepted (FerroxLabs/wayland#934: code points). UTF-16 is
    never less than the code points, so a text within a limit by this count fits either way.
    """
    return len(text.encode("utf-16-le")) // 2
