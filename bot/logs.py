"""Logging set-up that keeps secrets out of every log line.

Client libraries log request URLs (httpx logs Telegram's `/bot<token>/` URLs at INFO), so
scrubbing happens on the handler, after formatting, whatever logger the line came from.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

REDACTED = "[secret]"


_secrets: list[str] = []
"""Every secret to scrub, longest first, so that one inside a longer one cannot spoil it."""


def add_secret(secret: str | None) -> None:
    """Scrub `secret` (if 6 characters or more) from every log line from now on: the config's,
    and those palaute makes and keeps in the database itself, such as the Telegram webhook
    secret (python-telegram-bot logs setWebhook's parameters at DEBUG)."""
    global _secrets
    if secret and len(secret) >= 6 and secret not in _secrets:
        # A new list, not an in-place sort: a line being formatted in another thread reads
        # the old one whole.
        _secrets = sorted([*_secrets, secret], key=len, reverse=True)


def _replace(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (6 characters or more) replaced: these and those added."""
    given = {s for s in secrets if s and len(s) >= 6}
    return _replace(text, sorted(given.union(_secrets), key=len, reverse=True))


REVEALED = "palaute_revealed_secret"
"""The record attribute naming the one secret a line is meant to show (see `reveal`)."""


def reveal(logger: logging.Logger, message: str, secret: str, *args: object) -> None:
    """Log `message` (at INFO) for the operator with `secret` in it, e.g. a one-time sign-in
    link: the secret is scrubbed from every other line from now on, and shown in this one only."""
    add_secret(secret)
    logger.info(message, *args, extra={REVEALED: secret})


class SecretScrubber(logging.Formatter):
    """Formats a record, then scrubs every added secret out of the whole line."""

    def format(self, record: logging.LogRecord) -> str:
        shown = getattr(record, REVEALED, None)
        secrets = [s for s in _secrets if s != shown] if shown else _secrets
        return _replace(super().format(record), secrets)


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    for secret in secrets:
        add_secret(secret)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SecretScrubber("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Request lines of the HTTP clients are noise at INFO; at DEBUG they are scrubbed like the rest.
    if root.level > logging.DEBUG:
        for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
