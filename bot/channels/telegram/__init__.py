"""Telegram: conversational surveys on python-telegram-bot (see channel.py)."""

from bot.channels.telegram.channel import TelegramChannel

__all__ = ["TelegramChannel"]
