"""Logging set-up that keeps secrets out of every log line.

Client libraries log request URLs (httpx logs Telegram's `/bot<token>/` URLs at INFO), so
scrubbing happens on the handler, after formatting, whatever logger the line came from.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

REDACTED = "[secret]"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (6 characters or more) replaced."""
    for secret in sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


_generated: set[str] = set()
"""Secrets palaute made or loaded itself, not in the config: scrubbed as well."""


def add_secret(secret: str | None) -> None:
    """Scrub `secret` from every log line from now on: e.g. the Telegram webhook secret made and
    kept in the database (python-telegram-bot logs setWebhook's parameters at DEBUG)."""
    if secret:
        _generated.add(secret)


class SecretScrubber(logging.Formatter):
    def __init__(self, secrets: Iterable[str], fmt: str) -> None:
        super().__init__(fmt)
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record), [*self.secrets, *_generated])


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SecretScrubber(secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Request lines of the HTTP clients are noise at INFO; at DEBUG they are scrubbed like the rest.
    if root.level > logging.DEBUG:
        for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
