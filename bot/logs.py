"""Logging set-up that keeps secrets and personal data out of every log line.

Client libraries log request URLs (httpx logs Telegram's `/bot<token>/` URLs at INFO), so
scrubbing happens on the handler, after formatting, whatever logger the line came from.

At DEBUG the libraries log what they carry: aiosqlite every query with its parameters (survey
tokens, comments), python-telegram-bot every Bot API call's parameters and result and every
update, slack_sdk every request and response body, aiohttp's access log every path (a personal
survey link is `/s/<token>`, and whoever has it answers as the customer). Their DEBUG lines
keep what happened but not the data: a line's arguments, or for a line formatted beforehand
everything after its first `:`, become `[…]`. aiosqlite's per-query lines are dropped, and
personal survey link tokens are cut out of any line at any level.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

REDACTED = "[secret]"
OMITTED = "[…]"

LIBRARIES = frozenset(
    {"telegram", "slack_sdk", "slack_bolt", "httpx", "httpcore", "aiohttp", "apscheduler",
     "asyncio", "jinja2", "PIL", "matplotlib", "hpack", "urllib3", "websockets"}
)  # fmt: skip
"""Loggers whose DEBUG lines may carry what palaute sends and receives."""
_SURVEY_PATH = re.compile(
    r"(/s/)(?!s-[A-Za-z0-9_]{1,40}-[A-Za-z0-9_-]{16}(?![A-Za-z0-9_\-.~%]))[A-Za-z0-9_\-.~%]+"
)
"""A personal survey link's token; an open survey's (`s-<touchpoint>-<signature>`, printed on
posters and logged at start as the demo link) is public and stays, also when its signature
ends in "-" (where `\b` would not end it)."""
_SURVEY_QUERY = re.compile(r"(/s/[^\s?\"']*\?)[^\s\"']+")
"""A survey link's query: `?p=` carries the properties it was made with."""


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


def _without_details(record: logging.LogRecord) -> logging.LogRecord:
    """A library's DEBUG record with its data left out (see the module docstring)."""
    if record.levelno > logging.DEBUG or record.name.split(".")[0] not in LIBRARIES:
        return record
    quiet = logging.makeLogRecord(record.__dict__)
    if record.args:
        count = len(record.args) if isinstance(record.args, tuple) else 1
        quiet.args = (OMITTED,) * count if isinstance(record.args, tuple) else None
        quiet.msg = str(record.msg) if count > 0 and isinstance(record.args, tuple) else OMITTED
    else:
        head, colon, _rest = str(record.msg).partition(":")
        quiet.msg = f"{head}: {OMITTED}" if colon else str(record.msg)
    quiet.exc_info, quiet.exc_text = None, None
    return quiet


REVEALED = "palaute_revealed_secret"
"""The record attribute naming the one secret a line is meant to show (see `reveal`)."""


def reveal(logger: logging.Logger, message: str, secret: str, *args: object) -> None:
    """Log `message` (at INFO) for the operator with `secret` in it, e.g. a one-time sign-in
    link: the secret is scrubbed from every other line from now on, and shown in this one only."""
    add_secret(secret)
    logger.info(message, *args, extra={REVEALED: secret})


class SecretScrubber(logging.Formatter):
    """Formats a record without a library's DEBUG details, then scrubs every added secret and
    every survey link token out of the whole line."""

    def format(self, record: logging.LogRecord) -> str:
        shown = getattr(record, REVEALED, None)
        secrets = [s for s in _secrets if s != shown] if shown else _secrets
        try:
            line = super().format(_without_details(record))
        except (TypeError, ValueError):  # a template whose placeholders are not all %s
            line = f"{record.name}: {OMITTED}"
        line = _SURVEY_PATH.sub(r"\1[token]", _replace(line, secrets))
        return _SURVEY_QUERY.sub(rf"\1{OMITTED}", line)


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
    # One line per query with its parameters (tokens, comments), and nothing else of use.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    # Request lines of the HTTP clients are noise at INFO; at DEBUG they are scrubbed like the rest.
    if root.level > logging.DEBUG:
        for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
