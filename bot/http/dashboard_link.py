"""One-time sign-in links for a local dashboard without a password, as Jupyter prints its token URL.

Only for a server on a loopback address: whoever can open the link can already reach the
machine. A link is a random token held in memory (never stored, never logged but in the one line
for the operator), good once and for `LINK_SECONDS`; a restart prints a new one.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable

from bot.tokens import same_secret

LINK_SECONDS = 3600
NEW_LINK_PAUSE = 60
"""Seconds between two links printed on request, so that a button pressed twice (or a script)
cannot fill the operator's log."""
MAX_OPEN_LINKS = 5


def is_loopback(host: str) -> bool:
    """True for a server only this machine can reach: localhost, 127.0.0.0/8, ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SignInLinks:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._open: dict[str, float] = {}
        """Token → when it expires."""
        self._last_issued: float | None = None

    def issue(self) -> str:
        now = self.clock()
        self._open = {t: e for t, e in self._open.items() if e > now}
        while len(self._open) >= MAX_OPEN_LINKS:
            self._open.pop(next(iter(self._open)))
        token = secrets.token_urlsafe(32)
        self._open[token] = now + LINK_SECONDS
        self._last_issued = now
        return token

    def may_issue(self) -> bool:
        """False within NEW_LINK_PAUSE of the last link."""
        return self._last_issued is None or self.clock() - self._last_issued >= NEW_LINK_PAUSE

    def redeem(self, submitted: str | None) -> bool:
        """True once for an open, unexpired token; it is gone afterwards either way."""
        if not submitted or len(submitted) > 100:
            return False
        now = self.clock()
        for token, expires in list(self._open.items()):
            if same_secret(submitted, token):
                del self._open[token]
                return expires > now
        return False
