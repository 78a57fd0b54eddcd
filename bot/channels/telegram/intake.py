"""Durable intake: every Telegram update is in SQLite before Telegram is told it arrived.

python-telegram-bot confirms an update (the next getUpdates offset, the webhook's 200) before
its handlers have run, so a crash in between would lose the customer's answer. Here an update
is written to the inbox first, then handed to the Application; the update processor marks it
processed once its handlers are done, and whatever is still unprocessed at the next start is
handled then. The inbox keys rows by update_id, so an update delivered twice is handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import Application, SimpleUpdateProcessor

from bot.channels.telegram.updates import CHANNEL
from bot.clock import Clock
from storage.database import StorageError
from storage.store import Store

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "callback_query")
KEEP_PROCESSED = timedelta(days=1)
"""Processed updates are kept this long to recognise a redelivery, then pruned."""


class UpdateInbox:
    """The inbox table between Telegram and the Application's update queue."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None
        # Storing and deciding whether to hand over happen under one lock, so that an update
        # arriving while `open` replays the inbox is handed over exactly once.
        self._lock = asyncio.Lock()

    async def accept(self, updates: Sequence[tuple[int, str]]) -> None:
        """Store (update_id, JSON) pairs; hand the new ones over if the Application runs."""
        if not updates:
            return
        async with self._lock:
            new = set(
                await self._store.inbox.store_many(
                    CHANNEL, [(str(i), payload) for i, payload in updates], now=self._clock.now()
                )
            )
            if self._application is None:
                return  # kept in the inbox for `open`
            for update_id, payload in updates:
                if str(update_id) in new:
                    new.discard(str(update_id))
                    await self._hand_over(str(update_id), payload)

    async def open(self, application: Application[Any, Any, Any, Any, Any, Any]) -> int:
        """Hand over what is stored but unprocessed (an earlier run's leftovers); from now on new
        updates go straight to `application`. Returns how many were left over."""
        async with self._lock:
            leftovers = await self._store.inbox.replay(CHANNEL, now=self._clock.now())
            self._application = application
            # Called by PTB (as every error handler is) when a handler raised: the update is
            # done with, and `palaute status` tells why it came to nothing.
            application.add_error_handler(self._record_error)
            for update_id, payload in leftovers:
                await self._hand_over(update_id, payload)
        if leftovers:
            log.warning("handling %d Telegram update(s) left over from before", len(leftovers))
        return len(leftovers)

    def close(self) -> None:
        """Stop handing over: later updates wait in the inbox for the next start."""
        self._application = None

    async def _hand_over(self, update_id: str, payload: str) -> None:
        assert self._application is not None
        try:
            update = Update.de_json(json.loads(payload), self._application.bot)
        except Exception:
            # Left unprocessed, an unreadable row would stop every later start at this point.
            log.exception("Telegram update %s cannot be read; it is skipped", update_id)
            await self._store.inbox.mark_failed(
                CHANNEL,
                update_id,
                error="cannot be read as a Telegram update",
                now=self._clock.now(),
            )
            return
        await self._application.update_queue.put(update)

    async def _record_error(self, update: object, context: Any) -> None:
        if isinstance(update, Update):
            await self.failed(update, context.error)

    async def failed(self, update: Update, error: BaseException | None) -> None:
        """Its handling raised: marked done with the reason, so that it is not replayed."""
        reason = f"handling it failed: {type(error).__name__}: {error}"
        try:
            await self._store.inbox.mark_failed(
                CHANNEL, str(update.update_id), error=reason, now=self._clock.now()
            )
        except Exception:
            log.exception("could not record that Telegram update %s failed", update.update_id)

    async def processed(self, update: object) -> None:
        if not isinstance(update, Update):
            return
        try:
            await self._store.inbox.mark_processed(
                CHANNEL, str(update.update_id), now=self._clock.now()
            )
        except Exception:
            # Left unprocessed, it is handled again at the next start; its answer is stored once.
            log.exception("could not mark Telegram update %s processed", update.update_id)

    async def prune(self) -> None:
        removed = await self._store.inbox.prune(self._clock.now() - KEEP_PROCESSED.total_seconds())
        if removed:
            log.debug("pruned %d processed Telegram update(s)", removed)


class InboxUpdateProcessor(SimpleUpdateProcessor):
    """A chat's updates one at a time, in order (answers are a conversation), different chats
    side by side, so that one customer's round trips to Telegram and SQLite do not hold up
    everyone else's. Each update is marked processed in the inbox once its handlers finished."""

    __slots__ = ("_done", "_lanes")

    def __init__(
        self, done: Callable[[object], Awaitable[None]], max_concurrent_updates: int = 64
    ) -> None:
        super().__init__(max_concurrent_updates=max_concurrent_updates)
        self._done = done
        self._lanes: dict[object, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # PTB starts the updates' tasks in arrival order and the semaphore and the locks are
        # first come, first served, so a chat's updates enter their lane in order.
        key = _lane(update)
        lock, waiting = self._lanes.get(key) or (asyncio.Lock(), 0)
        self._lanes[key] = (lock, waiting + 1)
        try:
            async with lock:
                await coroutine
        except Exception:
            # Left unprocessed, the update would fail again at every start; handlers' own
            # errors are caught by PTB, so this is an update PTB itself could not take.
            log.exception("Telegram update %s could not be handled; it is skipped", _id(update))
        finally:
            lock, waiting = self._lanes[key]
            if waiting <= 1:
                del self._lanes[key]
            else:
                self._lanes[key] = (lock, waiting - 1)
        await self._done(update)


def _lane(update: object) -> object:
    """Updates of one chat (or, without a chat, of one user) are handled in order."""
    key: tuple[str, object] = ("update", id(update))
    if isinstance(update, Update):
        if update.effective_chat is not None:
            key = ("chat", update.effective_chat.id)
        elif update.effective_user is not None:
            key = ("user", update.effective_user.id)
    try:
        hash(key)
    except TypeError:  # a forged update's "id" can be a list or an object
        return ("update", id(update))
    return key


def _id(update: object) -> object:
    return update.update_id if isinstance(update, Update) else None


class Poller:
    """getUpdates in a loop: store each batch, then confirm it with the next request's offset.

    This replaces PTB's Updater (the Application is built with `updater(None)`), whose offset
    confirms updates before the inbox could have stored them.
    """

    def __init__(
        self, bot: Bot, inbox: UpdateInbox, *, timeout: timedelta = timedelta(seconds=30)
    ) -> None:
        self._bot = bot
        self._inbox = inbox
        self._timeout = timeout
        self._offset: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="palaute-telegram-polling")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._offset is None:
            return
        try:
            # Confirm the last stored batch, so that the next start does not fetch it again.
            await self._bot.get_updates(
                offset=self._offset, limit=1, timeout=0, allowed_updates=ALLOWED_UPDATES
            )
        except TelegramError as error:
            log.info("could not confirm the last Telegram updates (they come again): %s", error)

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                updates = await self._bot.get_updates(
                    offset=self._offset, timeout=self._timeout, allowed_updates=ALLOWED_UPDATES
                )
                await self._inbox.accept([(u.update_id, u.to_json()) for u in updates])
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                delay = min(30.0, 2.0 ** min(failures - 1, 5))
                if isinstance(error, NetworkError):
                    log.warning("polling Telegram failed (%s); retrying in %.0f s", error, delay)
                elif isinstance(error, TelegramError):  # e.g. a webhook is set, a second poller
                    log.error("polling Telegram failed (%s); retrying in %.0f s", error, delay)
                elif isinstance(error, StorageError):  # Telegram keeps what was not confirmed
                    log.error(
                        "could not store Telegram updates (%s); retrying in %.0f s", error, delay
                    )
                else:
                    log.error("polling Telegram failed; retrying in %.0f s", delay, exc_info=error)
                await asyncio.sleep(delay)
                continue
            failures = 0
            if updates:
                self._offset = updates[-1].update_id + 1
