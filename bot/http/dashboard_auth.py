"""Dashboard sign-in: the password check, signed session cookies and a brake on guessing.

A session cookie is `<expiry>.<nonce>.<signature>`, signed with the server key and bound to
the configured password, so changing the password signs everyone out. Signing out revokes the
nonce in memory until the cookie would have expired anyway.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.tokens import TokenSigner, same_secret

SESSION_COOKIE = "palaute_dashboard"
LOGIN_COOKIE = "palaute_dashboard_login"
SESSION_SECONDS = 12 * 3600
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60


@dataclass(frozen=True)
class Session:
    nonce: str
    expires: int

    @property
    def csrf(self) -> str:
        """Not a secret on its own: forms echo it, and it is checked against the cookie."""
        return self.nonce


class DashboardAuth:
    def __init__(
        self, signer: TokenSigner, password: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.signer = signer
        self.password = password
        self.clock = clock
        self._binding = hashlib.sha256(b"palaute-dashboard:" + password.encode()).hexdigest()[:16]
        self._revoked: dict[str, int] = {}
        self._failures: dict[str, list[float]] = {}

    def _sign(self, data: str) -> str:
        return self.signer.mac("dashboard", f"{data}.{self._binding}")

    def password_matches(self, submitted: str) -> bool:
        return same_secret(submitted, self.password)

    def new_session(self) -> tuple[Session, str]:
        """A session and its cookie value."""
        session = Session(secrets.token_urlsafe(18), int(self.clock()) + SESSION_SECONDS)
        data = f"{session.expires}.{session.nonce}"
        return session, f"{data}.{self._sign(data)}"

    def session(self, cookie: str | None) -> Session | None:
        if not cookie or cookie.count(".") != 2 or len(cookie) > 200:
            return None
        expires, nonce, signature = cookie.split(".")
        if not expires.isdigit() or not self.signer_ok(f"{expires}.{nonce}", signature):
            return None
        if int(expires) < self.clock() or nonce in self._revoked:
            return None
        return Session(nonce, int(expires))

    def signer_ok(self, data: str, signature: str) -> bool:
        return same_secret(signature, self._sign(data))

    def revoke(self, session: Session) -> None:
        now = self.clock()
        self._revoked = {n: e for n, e in self._revoked.items() if e > now}
        self._revoked[session.nonce] = session.expires

    def login_token(self, nonce: str) -> str:
        """The sign-in form's CSRF token, bound to the browser's login cookie."""
        return self.signer.mac("dashboard-login", nonce)

    def login_token_ok(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return same_secret(token, self.login_token(nonce))

    def blocked(self, address: str) -> bool:
        """True after MAX_FAILURES wrong passwords from one address within FAILURE_WINDOW."""
        now = self.clock()
        recent = [t for t in self._failures.get(address, []) if now - t < FAILURE_WINDOW]
        if recent:
            self._failures[address] = recent
        else:
            self._failures.pop(address, None)
        return len(recent) >= MAX_FAILURES

    def failed(self, address: str) -> None:
        if len(self._failures) > 10_000:
            self._failures.clear()
        self._failures.setdefault(address, []).append(self.clock())
