"""The durable intake every channel with incoming platform traffic shares.

A platform is told a request arrived (a webhook's 200, the next getUpdates offset, a Socket Mode
ack) only once the raw request is in the `inbox` table. A request delivered twice is stored
once and handled once (the key is the platform's own id: an update_id, an event_id). What was
stored but not handled before a stop or a crash is handed over again at the next start. Each
item is marked processed (or failed, with the reason for `palaute status`) once its handling is
done, and processed items are pruned after `KEEP_PROCESSED`.

The channel decides what "handing over" means (queueing a Telegram update for PTB, running a
Slack request through bolt): it must be quick, and the channel marks the item done later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from bot.clock import Clock
from storage.inbox import InboxRepository

log = logging.getLogger(__name__)

KEEP_PROCESSED = timedelta(days=1)
"""Processed items are kept this long to recognise a redelivery (Slack retries for about an
hour, Telegram redelivers what it was not told about), then pruned."""
PRUNE_EVERY = timedelta(hours=1)
ADOPT_EVERY = timedelta(seconds=5)

HandOver = Callable[[str, str], Awaitable[None]]
"""(key, raw payload as stored) → start handling it; returns without waiting for the end."""


class DurableInbox:
    """One channel's part of the inbox table, between the platform and the adapter."""

    def __init__(
        self, channel: str, inbox: InboxRepository, clock: Clock, *, worker: str | None = None
    ) -> None:
        """`worker`: this worker's id when several share a PostgreSQL database: its items are
        its own, and it takes over only a dead worker's (`open`, `adopt`)."""
        self.channel = channel
        self._inbox = inbox
        self._clock = clock
        self._worker = worker
        self._hand_over: HandOver | None = None
        # Storing and deciding whether to hand over happen under one lock, so that an item
        # arriving while `open` replays the inbox is handed over exactly once.
        self._lock = asyncio.Lock()

    async def accept(self, items: Sequence[tuple[str, str]]) -> list[str]:
        """Store (key, raw payload) pairs before the platform is answered; returns the keys
        that were new. New items are handed over at once while open, else at `open`."""
        if not items:
            return []
        async with self._lock:
            new = set(
                await self._inbox.store_many(
                    self.channel, list(items), now=self._now(), worker=self._worker
                )
            )
            fresh: list[str] = []
            for key, payload in items:
                if key not in new:
                    continue
                new.discard(key)  # a key twice in one batch is handled once
                fresh.append(key)
                if self._hand_over is not None:
                    await self._hand_over(key, payload)
        return fresh

    async def open(self, hand_over: HandOver) -> int:
        """Hand over what is stored but unprocessed (an earlier run's leftovers); from now on new
        items are handed over as they arrive. Returns how many were left over."""
        async with self._lock:
            leftovers = await self._inbox.replay(self.channel, now=self._now(), worker=self._worker)
            self._hand_over = hand_over
            for key, payload in leftovers:
                await hand_over(key, payload)
        if leftovers:
            log.warning(
                "handling %d %s update(s) received before the last stop",
                len(leftovers),
                self.channel,
            )
        return len(leftovers)

    async def adopt(self) -> int:
        """Several workers: hand over what a worker that died had stored but not finished (the
        lease holder runs this every `ADOPT_EVERY`). Returns how many."""
        if self._worker is None or self._hand_over is None:
            return 0
        async with self._lock:
            orphans = await self._inbox.replay(self.channel, now=self._now(), worker=self._worker)
            for key, payload in orphans:
                if self._hand_over is None:
                    break  # closed meanwhile: left for the next start or holder
                await self._hand_over(key, payload)
        if orphans:
            log.warning(
                "handling %d %s update(s) a stopped worker had not finished",
                len(orphans),
                self.channel,
            )
        return len(orphans)

    def close(self) -> None:
        """Stop handing over: later items wait in the inbox for the next start."""
        self._hand_over = None

    async def processed(self, key: str) -> None:
        try:
            await self._inbox.mark_processed(self.channel, key, now=self._now())
        except Exception:
            # Left unprocessed, it is handled again at the next start; its answer is stored once.
            log.exception("could not mark %s update %s processed", self.channel, key)

    async def failed(self, key: str, reason: str) -> None:
        """Done with, never replayed; the reason is kept for `palaute status`."""
        try:
            await self._inbox.mark_failed(self.channel, key, error=reason, now=self._now())
        except Exception:
            log.exception("could not record that %s update %s failed", self.channel, key)

    async def prune(self) -> None:
        removed = await self._inbox.prune(self._now() - KEEP_PROCESSED.total_seconds())
        if removed:
            log.debug("pruned %d processed inbox row(s)", removed)

    def _now(self) -> float:
        return self._clock.now()
