"""t.me deep links: open a chat with the bot, carrying a start payload (`/start <payload>`)."""

from __future__ import annotations


def start_link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"
