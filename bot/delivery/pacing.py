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
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.channels.base import Limits

GROUP_BURST = 3
FLOOD_CHATS = 3
FLOOD_WINDOW = 1.0
"""429s to FLOOD_CHATS different quiet chats within this many seconds: the bot-wide limit.

Fewer are strays: a request delayed on its way lands in the same second as the next ones, and
Telegram's count of that second goes one over (seen in bench.answer_storm, once or twice in a
run). Over a real bot-wide limit nearly every message is refused, so three come within a tenth
of a second at 29 a second."""
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
    window: float = 1.0
    """Seconds within which two messages to the chat can trip its per-chat limit."""
    tokens: float = field(init=False)
    updated: float = field(init=False)
    taken_at: deque[float] = field(init=False)
    """When the last two tokens were taken: the message just sent and the one before it."""
    _left_at_take: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.updated = self.monotonic()
        self.taken_at = deque(maxlen=2)

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
            self.taken_at.append(self.updated)
            return 0.0
        return (1 - self.tokens) / self.rate

    def time_until(self, count: int) -> float:
        """Seconds until `count` tokens (at most a whole burst) are there, 0 if they are now."""
        self._refill()
        needed = min(count, self.burst)
        return 0.0 if self.tokens >= needed else (needed - self.tokens) / self.rate

    def take(self, count: int) -> None:
        """Take `count` tokens now, into debt if need be: the wait for them is longer next time."""
        self._refill()
        self.tokens -= count
        self._left_at_take = self.tokens
        for _ in range(count):
            self.taken_at.append(self.updated)

    def settle(self) -> None:
        """The message the last tokens were taken for has been answered: count them as taken
        now. The platform counts a message when it arrives, somewhere between the take and the
        answer, and a busy machine or network stretches that unevenly; refilling only from the
        answer on keeps two messages to the chat a whole interval apart wherever they landed."""
        if self._left_at_take is None:
            return
        self._refill()
        self.tokens = min(self.tokens, self._left_at_take)
        self._left_at_take = None
        if self.taken_at:
            self.taken_at[-1] = self.updated

    def recently_busy(self) -> bool:
        """Whether the last message taken had another one within `window` before it."""
        if len(self.taken_at) < 2:
            return False
        earlier, last = self.taken_at
        return last - earlier < self.window

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
    """A channel's global limit plus one bucket per chat (and a slower one per group chat).

    A 429 says "too many" but not which limit was hit. palaute reads it from the chat's own
    recent sends (see `throttled`): a chat that just had a message hit its own per-chat limit,
    which stops that chat alone and takes away its burst for good, since this chat evidently is
    not allowed one; chats without a recent message can only have hit the bot-wide limit, and
    when FLOOD_CHATS of them are refused within FLOOD_WINDOW the whole channel waits. Pausing every chat
    for one chat's 429 was what made throughput collapse in an answer storm (bench/README.md).
    """

    def __init__(self, limits: Limits, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.monotonic = monotonic
        self.global_limiter = PriorityLimiter(
            TokenBucket(limits.per_second, limits.burst, monotonic, slack=TIMER_SLACK)
        )
        self._chats: dict[str, TokenBucket] = {}
        self._strict: set[str] = set()
        """Chats that got a 429 of their own: never a burst again (kept while palaute runs)."""
        self.whole_channel_pauses = 0
        self._quiet_refusals: deque[tuple[float, str]] = deque()
        """(when, chat) of recent 429s that no per-chat limit explains."""

    def share(self, workers: int) -> None:
        """Several workers send for one bot: each keeps to its share of the bot-wide pace,
        recomputed from the live workers (storage.workers) at each heartbeat. A worker that
        joins waits two heartbeats before it sends, so the others have slowed down first; one that
        dies is counted out when its heartbeat lapses, until then the rest keep to the smaller
        share.

        One bucket lets at most burst + rate messages into any second; n buckets n bursts plus
        their rates. So each worker's rate leaves room for the others' bursts, and twice as
        much again for their sends arriving bunched (each process's requests are delayed by its
        own scheduling, independently of the others': with less, a loaded test machine saw a
        stray 429 a minute). Together they let fewer into a second than one worker alone
        (29 + 1 for Telegram), at a sustained rate of rate − 3·(n − 1)·burst: 26 a second for
        two Telegram workers, 23 for three."""
        workers = max(1, workers)
        burst = self.limits.burst
        bucket = self.global_limiter.bucket
        bucket.time_until(0)  # the tokens refilled at the old rate up to now
        bucket.rate = max(
            self.limits.per_second / (10 * workers),
            (self.limits.per_second - 3 * (workers - 1) * burst) / workers,
        )
        bucket.tokens = min(bucket.tokens, bucket.burst)

    def chat_bucket(self, address: str) -> TokenBucket:
        bucket = self._chats.get(address)
        if bucket is None:
            if self.limits.per_group_per_minute and address.startswith("-"):
                # A burst plus the refill of one minute must stay within the per-minute limit.
                per_minute = self.limits.per_group_per_minute
                burst = max(1, min(GROUP_BURST, int(per_minute) - 1))
                bucket = TokenBucket((per_minute - burst) / 60, burst, self.monotonic)
                bucket.window = 60.0
            else:
                bucket = TokenBucket(
                    self.limits.per_chat_per_second, self.limits.per_chat_burst, self.monotonic
                )
                bucket.window = 1 / self.limits.per_chat_per_second
            if address in self._strict:
                bucket.burst = bucket.tokens = 1
            self._chats[address] = bucket
            if len(self._chats) > 50_000:
                self._forget_idle()
        return bucket

    def _forget_idle(self) -> None:
        now = self.monotonic()
        for address, bucket in list(self._chats.items()):
            if now - bucket.updated > 60:
                del self._chats[address]
        if len(self._strict) > 500_000:
            self._strict.clear()

    async def acquire(
        self, address: str, priority: int, count: int = 1, *, new_messages: int | None = None
    ) -> None:
        """Wait until `count` calls may go out, `new_messages` of them (all, by default) adding
        a message to the chat at `address`: a greeting and its question are 2 and 2, an edit
        of a message already there is 1 and 0 (the per-chat limit counts messages sent).

        The chat's tokens are taken only once the global budget lets the message go: a wait in
        the global queue must not count as time between two messages in the chat. Only one
        message per chat is in flight (the dispatcher's rule), so nobody else takes them
        meanwhile.
        """
        bucket = self.chat_bucket(address)
        adding = count if new_messages is None else new_messages
        if adding:
            while (wait := bucket.time_until(adding)) > 0:
                await asyncio.sleep(wait)
        calls = count if self.limits.edits_in_global else adding
        if calls:
            await self.global_limiter.acquire(priority, calls)
        if adding:
            bucket.take(adding)

    def settle(self, address: str) -> None:
        """A message to `address` is back from the platform (sent or refused): see
        TokenBucket.settle."""
        bucket = self._chats.get(address)
        if bucket is not None:
            bucket.settle()

    def throttled(self, address: str, seconds: float) -> bool:
        """The platform answered 429 "retry after `seconds`" to a message for `address`.

        The rule: when the chat had another message within its per-chat window (a second for
        a private chat at 1 a second, a minute for a group) before the one refused, the 429 is
        the chat's own: the chat waits `seconds` and keeps to the bare per-chat rate from now
        on. Otherwise no per-chat limit explains it. One or two such 429s may be the network
        bunching a few requests together; FLOOD_CHATS of them to different chats within
        FLOOD_WINDOW are the bot-wide limit (another copy of the bot, a lower limit than
        configured), and every chat waits. Returns whether the whole channel was paused.
        """
        bucket = self.chat_bucket(address)
        bucket.pause(seconds)
        if bucket.recently_busy():
            self._strict.add(address)
            bucket.burst = 1
            return False
        now = self.monotonic()
        refusals = self._quiet_refusals
        while refusals and now - refusals[0][0] > FLOOD_WINDOW:
            refusals.popleft()
        refusals.append((now, address))
        if len({chat for _, chat in refusals}) < FLOOD_CHATS:
            return False
        refusals.clear()
        self.global_limiter.bucket.pause(seconds)
        self.whole_channel_pauses += 1
        return True
