"""Events of one chat one after another, different chats side by side.

A customer's messages are a conversation and must be handled in order; one customer whose
handling waits (a slow Graph API call) must not hold up everyone else's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable

MAX_CONCURRENT = 64


class Lanes:
    def __init__(self, max_concurrent: int = MAX_CONCURRENT) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tasks: set[asyncio.Task[None]] = set()

    def run(self, key: Hashable, job: Callable[[], Awaitable[None]]) -> None:
        """Start `job` after the jobs already started for `key`."""
        lock, waiting = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, waiting + 1)
        task = asyncio.create_task(self._in_lane(key, lock, job), name=f"whatsapp-lane-{key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _in_lane(
        self, key: Hashable, lock: asyncio.Lock, job: Callable[[], Awaitable[None]]
    ) -> None:
        # Tasks start in the order they were created and asyncio's locks are first come, first
        # served, so a lane's jobs run in the order `run` was called.
        try:
            async with lock, self._slots:
                await job()
        finally:
            lock, waiting = self._locks[key]
            if waiting <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, waiting - 1)

    async def idle(self) -> None:
        """Until every job started so far is done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
