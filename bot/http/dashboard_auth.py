"""Dashboard sign-in: the password check, sessions kept in the database, a brake on guessing.

A session cookie is `<expiry>.<nonce>.<signature>`, signed with the server key and bound to
the configured password, so changing the password signs everyone out. The session is valid
while the database holds the SHA-256 of its nonce: signing out deletes it, and that outlives a
restart. Forms carry a CSRF token derived from the nonce with the server key.

Guessing is limited per client address: an attempt is counted when it arrives, before its body
is read, so that logins sent all at once cannot all be checked before the first one counts.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.tokens import TokenSigner, same_secret
from storage.dashboard_sessions import DashboardSessionRepository

SESSION_COOKIE = "palaute_dashboard"
LOGIN_COOKIE = "palaute_dashboard_login"
SESSION_SECONDS = 12 * 3600
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60
MAX_ADDRESSES = 10_000


@dataclass(frozen=True)
class Session:
    nonce: str
    expires: int
    csrf: str
    """Echoed by the dashboard's forms; another site can neither read nor compute it."""


class DashboardAuth:
    def __init__(
        self,
        signer: TokenSigner,
        password: str,
        sessions: DashboardSessionRepository,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self.password = password
        self.sessions = sessions
        self.clock = clock
        self._binding = hashlib.sha256(b"palaute-dashboard:" + password.encode()).hexdigest()[:16]
        self._attempts: dict[str, list[float]] = {}

    def _sign(self, data: str) -> str:
        return self.signer.mac("dashboard", f"{data}.{self._binding}")

    def _session(self, nonce: str, expires: int) -> Session:
        return Session(nonce, expires, self.signer.mac("dashboard-csrf", nonce))

    @staticmethod
    def _stored_id(nonce: str) -> str:
        return hashlib.sha256(nonce.encode()).hexdigest()

    def password_matches(self, submitted: str) -> bool:
        return same_secret(submitted, self.password)

    async def new_session(self) -> tuple[Session, str]:
        """A session, stored, and its cookie value."""
        now = self.clock()
        session = self._session(secrets.token_urlsafe(18), int(now) + SESSION_SECONDS)
        await self.sessions.start(
            self._stored_id(session.nonce), now=now, expires_at=session.expires
        )
        data = f"{session.expires}.{session.nonce}"
        return session, f"{data}.{self._sign(data)}"

    async def session(self, cookie: str | None) -> Session | None:
        if not cookie or cookie.count(".") != 2 or len(cookie) > 200:
            return None
        expires, nonce, signature = cookie.split(".")
        if not expires.isdigit() or not same_secret(signature, self._sign(f"{expires}.{nonce}")):
            return None
        now = self.clock()
        if int(expires) < now:
            return None
        if not await self.sessions.active(self._stored_id(nonce), now=now):
            return None
        return self._session(nonce, int(expires))

    def csrf_ok(self, session: Session, submitted: object) -> bool:
        return isinstance(submitted, str) and same_secret(submitted, session.csrf)

    async def end(self, session: Session) -> None:
        await self.sessions.end(self._stored_id(session.nonce))

    def login_token(self, nonce: str) -> str:
        """The sign-in form's CSRF token, bound to the browser's login cookie."""
        return self.signer.mac("dashboard-login", nonce)

    def login_token_ok(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return same_secret(token, self.login_token(nonce))

    def attempt(self, address: str) -> int:
        """Count a sign-in attempt from `address`: 0 when it may go ahead, else the seconds until
        one may (after MAX_FAILURES attempts within FAILURE_WINDOW)."""
        now = self.clock()
        recent = [t for t in self._attempts.get(address, []) if now - t < FAILURE_WINDOW]
        if len(recent) >= MAX_FAILURES:
            self._attempts[address] = recent
            return max(1, math.ceil(recent[0] + FAILURE_WINDOW - now))
        if address not in self._attempts and len(self._attempts) >= MAX_ADDRESSES:
            self._forget_old(now)
        recent.append(now)
        self._attempts[address] = recent
        return 0

    def not_a_guess(self, address: str) -> None:
        """The attempt counted last was no wrong password (the right one, or an expired form)."""
        recent = self._attempts.get(address)
        if recent:
            recent.pop()
            if not recent:
                del self._attempts[address]

    def _forget_old(self, now: float) -> None:
        self._attempts = {
            address: times
            for address, times in self._attempts.items()
            if times and now - times[-1] < FAILURE_WINDOW
        }
        if len(self._attempts) >= MAX_ADDRESSES:
            self._attempts.clear()
