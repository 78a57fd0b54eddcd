"""Dashboard sign-in: accounts or the shared password, sessions in the database, a brake on guessing.

Named accounts (`palaute user add`) sign in with name and password, checked against a scrypt
hash off the event loop. Until the first account exists, the shared `server.dashboard_password`
(or a sign-in link) signs in as an admin called "shared"; from then on it is refused, and
sessions it opened end.

A session cookie is `<expiry>.<nonce>.<signature>`, signed with the server key; a shared session
is also bound to the configured password, so changing it signs everyone out. The session is
valid while the database holds the SHA-256 of its nonce (and its account): signing out, removing
the account or changing its password deletes it, and that outlives a restart. Forms carry a
CSRF token derived from the nonce with the server key.

Guessing is limited per client address: an attempt is counted when it arrives, before its body
is read, so that logins sent all at once cannot all be checked before the first one counts.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.passwords import dummy_hash, verify_password
from bot.tokens import TokenSigner, same_secret
from storage.dashboard_accounts import SHARED_NAME, Account, DashboardAccountRepository, Role
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
    account: str | None = None
    role: Role = Role.ADMIN

    @property
    def who(self) -> str:
        """The name recorded for what this session does (a follow-up's owner)."""
        return self.account or SHARED_NAME

    @property
    def may_act(self) -> bool:
        return self.role is Role.ADMIN


class DashboardAuth:
    def __init__(
        self,
        signer: TokenSigner,
        password: str | None,
        sessions: DashboardSessionRepository,
        accounts: DashboardAccountRepository,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`password`: the shared one; None when there is none (accounts or sign-in links)."""
        self.signer = signer
        self.password = password
        self.sessions = sessions
        self.accounts = accounts
        self.clock = clock
        # Without a shared password, shared sessions (sign-in links) are bound to a secret of
        # this process: a restart ends them, as it ends the links.
        secret = password if password is not None else secrets.token_urlsafe(32)
        self._binding = hashlib.sha256(b"palaute-dashboard:" + secret.encode()).hexdigest()[:16]
        self._attempts: dict[str, list[float]] = {}

    def _sign(self, data: str, *, account: bool) -> str:
        return self.signer.mac("dashboard", f"{data}.{'account' if account else self._binding}")

    def _session(
        self, nonce: str, expires: int, account: str | None = None, role: Role = Role.ADMIN
    ) -> Session:
        return Session(nonce, expires, self.signer.mac("dashboard-csrf", nonce), account, role)

    @staticmethod
    def _stored_id(nonce: str) -> str:
        return hashlib.sha256(nonce.encode()).hexdigest()

    def password_matches(self, submitted: str) -> bool:
        return self.password is not None and same_secret(submitted, self.password)

    async def account_matching(self, name: str, password: str) -> Account | None:
        """The account when the password is its own. The hash is CPU work: it runs in a thread,
        and an unknown name costs as much as a wrong password."""
        account = await self.accounts.get(name) if 0 < len(name) <= 200 else None
        stored = account.password_hash if account is not None else dummy_hash()
        matches = await asyncio.to_thread(verify_password, password, stored)
        return account if matches and account is not None else None

    async def new_session(self, account: Account | None = None) -> tuple[Session, str]:
        """A session, stored, and its cookie value; `account` None for a shared session."""
        now = self.clock()
        session = self._session(
            secrets.token_urlsafe(18),
            int(now) + SESSION_SECONDS,
            account.name if account else None,
            account.role if account else Role.ADMIN,
        )
        await self.sessions.start(
            self._stored_id(session.nonce),
            now=now,
            expires_at=session.expires,
            account=session.account,
        )
        if account is not None:
            await self.accounts.signed_in(account.name, now=now)
        data = f"{session.expires}.{session.nonce}"
        return session, f"{data}.{self._sign(data, account=account is not None)}"

    async def session(self, cookie: str | None) -> Session | None:
        if not cookie or cookie.count(".") != 2 or len(cookie) > 200:
            return None
        expires, nonce, signature = cookie.split(".")
        if not expires.isdigit():
            return None
        data = f"{expires}.{nonce}"
        of_account = same_secret(signature, self._sign(data, account=True))
        if not of_account and not same_secret(signature, self._sign(data, account=False)):
            return None
        now = self.clock()
        if int(expires) < now:
            return None
        holder = await self.sessions.holder(self._stored_id(nonce), now=now)
        if holder is None or (holder.account is not None) != of_account:
            return None
        return self._session(nonce, int(expires), holder.account, holder.role)

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
