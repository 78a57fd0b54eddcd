"""Who a browser is, and what keeps web survey forms safe: signed cookies, CSRF, per-IP limits.

A browser is known by a random id in a signed, HttpOnly, SameSite=Lax session cookie. The CSRF
token of its forms is derived from that id with the server's key (a signed double submit):
a page on another site can neither read the cookie nor compute the token.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from bot.delivery.pacing import TokenBucket
from bot.tokens import TokenSigner, same_secret

COOKIE = "palaute_browser"
_COOKIE_PURPOSE = "browser"
_CSRF_PURPOSE = "csrf"


class BrowserIds:
    def __init__(self, signer: TokenSigner) -> None:
        self.signer = signer

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(16)

    def cookie_value(self, browser_id: str) -> str:
        return f"{browser_id}.{self.signer.mac(_COOKIE_PURPOSE, browser_id)}"

    def read_cookie(self, value: str | None) -> str | None:
        """The browser id of a genuine cookie; None for a missing, forged or malformed one."""
        if not value or value.count(".") != 1 or len(value) > 128:
            return None
        browser_id, signature = value.split(".")
        if not browser_id.isalnum() or not self.signer.check_mac(
            _COOKIE_PURPOSE, browser_id, signature
        ):
            return None
        return browser_id

    def csrf_token(self, browser_id: str) -> str:
        return self.signer.mac(_CSRF_PURPOSE, browser_id)

    def csrf_valid(self, browser_id: str | None, submitted: str | None) -> bool:
        if not browser_id or not submitted:
            return False
        return same_secret(submitted, self.csrf_token(browser_id))


class IpRateLimiter:
    """A token bucket per client address for starting new responses on open links.

    Generous on purpose: a market's visitors share a few mobile-network addresses.
    """

    def __init__(
        self,
        *,
        per_minute: float = 30,
        burst: int = 30,
        monotonic: Callable[[], float] = time.monotonic,
        max_addresses: int = 10_000,
    ) -> None:
        self.rate = per_minute / 60
        self.burst = burst
        self.monotonic = monotonic
        self.max_addresses = max_addresses
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, address: str) -> float:
        """0 when this address may start a response now, else the seconds until it may."""
        bucket = self._buckets.get(address)
        if bucket is None:
            if len(self._buckets) >= self.max_addresses:
                self._forget_full()
            bucket = TokenBucket(self.rate, self.burst, self.monotonic)
            self._buckets[address] = bucket
        return bucket.try_take()

    def _forget_full(self) -> None:
        """Drop buckets that have refilled: forgetting them changes nothing."""
        now = self.monotonic()
        for address, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.burst:
                del self._buckets[address]
        if len(self._buckets) >= self.max_addresses:
            self._buckets.clear()
