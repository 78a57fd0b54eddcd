"""Telegram: conversational surveys on python-telegram-bot (see channel.py)."""

from bot.channels.telegram.spec import SPEC

__all__ = ["SPEC"]
