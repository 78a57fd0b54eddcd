"""The web channel: survey pages at personal and open links (see channel.py)."""

from bot.channels.web.spec import SPEC

__all__ = ["SPEC"]
