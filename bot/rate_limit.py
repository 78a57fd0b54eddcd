"""Token buckets that pace sends to a platform's published limits.

A bucket holds `burst` tokens and refills at `rate` per second, so a customer's answer, the edit
of the tapped question and the next question go out at once, while a long run of sends to one
chat settles at the sustained rate. Waiters are served by priority, so a conversation reply
overtakes an event blast waiting for the same global budget.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.channels.base import Limits

GROUP_BURST = 3
TIMER_SLACK = 0.005
"""How late a woken waiter may be without the global rate losing that time (see TokenBucket)."""


@dataclass
class TokenBucket:
    rate: float
    burst: float
    monotonic: Callable[[], float] = time.monotonic
    slack: float = 0.0
    """Seconds of refill kept above `burst`. A waiter sleeping until its token is due wakes a
    timer tick late (about a millisecond); with a burst of 1 that lateness was lost on every
    token, 1-3% of the rate. With a whole burst + rate, a slack under 1 / rate still never lets
    more than burst + rate messages into any second."""
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.updated = self.monotonic()

    def _refill(self) -> None:
        now = self.monotonic()
        cap = self.burst + self.slack * self.rate
        self.tokens = min(cap, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def try_take(self) -> float:
        """Take a token and return 0, or return how many seconds until one is available."""
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def pause(self, seconds: float) -> None:
        """The platform said slow down (429): no token until `seconds` from now.

        "Retry after N s" counts from now, so several 429s at once do not add up their waits.
        """
        self._refill()
        self.tokens = min(self.tokens, 1 - seconds * self.rate)


class PriorityLimiter:
    """One global bucket shared by waiters in priority order."""

    def __init__(self, bucket: TokenBucket) -> None:
        self.bucket = bucket
        # (-priority, arrival, future, [tokens still needed])
        self._waiters: list[tuple[int, int, asyncio.Future[None], list[int]]] = []
        self._counter = itertools.count()
        self._pump: asyncio.Task[None] | None = None

    async def acquire(self, priority: int, count: int = 1) -> None:
        """Take `count` tokens (one per platform message), served together in priority order."""
        if not self._waiters:
            while count > 0 and self.bucket.try_take() == 0:
                count -= 1
            if count <= 0:
                return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (-priority, next(self._counter), future, [count]))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._serve())
        await future

    async def _serve(self) -> None:
        while self._waiters:
            wait = self.bucket.try_take()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            _, _, future, needed = self._waiters[0]
            if future.done():  # the waiter was cancelled: its token goes to the next one
                heapq.heappop(self._waiters)
                self.bucket.tokens += 1
                continue
            needed[0] -= 1
            if needed[0] <= 0:
                heapq.heappop(self._waiters)
                future.set_result(None)


class ChannelLimiter:
    """A channel's global limit plus one bucket per chat (and a slower one per group chat)."""

    def __init__(self, limits: Limits, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.monotonic = monotonic
        self.global_limiter = PriorityLimiter(
            TokenBucket(limits.per_second, limits.burst, monotonic, slack=TIMER_SLACK)
        )
        self._chats: dict[str, TokenBucket] = {}

    def chat_bucket(self, address: str) -> TokenBucket:
        bucket = self._chats.get(address)
        if bucket is None:
            if self.limits.per_group_per_minute and address.startswith("-"):
                # A burst plus the refill of one minute must stay within the per-minute limit.
                burst = GROUP_BURST
                rate = (self.limits.per_group_per_minute - burst) / 60
                bucket = TokenBucket(rate, burst, self.monotonic)
            else:
                bucket = TokenBucket(
                    self.limits.per_chat_per_second, self.limits.per_chat_burst, self.monotonic
                )
            self._chats[address] = bucket
            if len(self._chats) > 50_000:
                self._forget_idle()
        return bucket

    def _forget_idle(self) -> None:
        now = self.monotonic()
        for address, bucket in list(self._chats.items()):
            if now - bucket.updated > 60:
                del self._chats[address]

    async def acquire(
        self, address: str, priority: int, count: int = 1, *, new_messages: int | None = None
    ) -> None:
        """Wait until `count` calls may go out, `new_messages` of them (all, by default) adding
        a message to the chat at `address`: a greeting and its question are 2 and 2, an edit
        of a message already there is 1 and 0 (the per-chat limit counts messages sent)."""
        bucket = self.chat_bucket(address)
        for _ in range(count if new_messages is None else new_messages):
            while (wait := bucket.try_take()) > 0:
                await asyncio.sleep(wait)
        await self.global_limiter.acquire(priority, count)

    def pause(self, address: str, seconds: float, *, whole_channel: bool = False) -> None:
        self.chat_bucket(address).pause(seconds)
        if whole_channel:
            self.global_limiter.bucket.pause(seconds)
