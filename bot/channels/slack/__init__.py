"""Slack: surveys in DMs with Block Kit, on slack-bolt (see channel.py)."""

from bot.channels.slack.spec import SPEC

__all__ = ["SPEC"]
