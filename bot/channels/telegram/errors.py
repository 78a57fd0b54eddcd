"""Telegram's errors as palaute's delivery outcomes (retry later, drop this message, chat gone)."""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import (
    DeliveryError,
    permanent_failure,
    rejected_message,
    temporary_failure,
)

_CHAT_GONE = ("chat not found", "peer_id_invalid", "user not found")
"""Bad requests that mean a private chat does not exist (any more)."""


def retry_after_seconds(error: RetryAfter) -> float:
    """How long Telegram asked us to wait, whichever type this PTB version hands out."""
    # PTB 22 returns an int (with a deprecation warning) unless PTB_TIMEDELTA is set, in which
    # case it returns a timedelta; palaute does not set process-wide switches for a library.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def is_not_modified(error: TelegramError) -> bool:
    """An edit that would change nothing: the message already reads as wanted."""
    return isinstance(error, BadRequest) and "message is not modified" in error.message.lower()


def delivery_error(error: TelegramError, chat_id: int | str) -> DeliveryError:
    """What the dispatcher should do after `error` on a message to `chat_id`."""
    reason = f"Telegram: {error.message}"
    if isinstance(error, RetryAfter):
        return temporary_failure("Telegram: too many requests", retry_after_seconds(error))
    if isinstance(error, Forbidden):
        # Blocked by the user, user deactivated, bot kicked from the group: nobody to write to.
        return permanent_failure(reason)
    if isinstance(error, ChatMigrated):
        return rejected_message(
            f"Telegram: the group became the supergroup {error.new_chat_id}; use that chat id"
        )
    if isinstance(error, BadRequest):  # before NetworkError, which BadRequest subclasses
        private = isinstance(chat_id, int) and chat_id > 0
        if private and any(gone in error.message.lower() for gone in _CHAT_GONE):
            return permanent_failure(reason)
        return rejected_message(reason)
    if isinstance(error, InvalidToken):
        return temporary_failure("Telegram rejected the bot token ([telegram] token)")
    return temporary_failure(reason)  # NetworkError, TimedOut, a 5xx: Telegram will be back
