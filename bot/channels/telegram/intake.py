"""Durable intake: every Telegram update is in SQLite before Telegram is told it arrived.

python-telegram-bot confirms an update (the next getUpdates offset, the webhook's 200) before
its handlers have run, so a crash in between would lose the customer's answer. Here an update
is written to the shared inbox (bot/channels/intake.py, keyed by update_id) first, then handed
to the Application; the update processor marks it processed once its handlers are done.
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

from bot.channels.intake import DurableInbox
from bot.channels.lanes import Lanes
from storage.database import StorageError

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "callback_query")


class UpdateInbox:
    """The shared durable inbox (bot/channels/intake.py) between Telegram and the
    Application's update queue."""

    def __init__(self, intake: DurableInbox) -> None:
        self._intake = intake
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None

    async def accept(self, updates: Sequence[tuple[int, str]]) -> None:
        """Store (update_id, JSON) pairs; the new ones go to the Application if it runs."""
        await self._intake.accept([(str(update_id), payload) for update_id, payload in updates])

    async def open(self, application: Application[Any, Any, Any, Any, Any, Any]) -> int:
        """Hand over what an earlier run left unprocessed; from now on new updates go straight
        to `application`. Returns how many were left over."""
        self._application = application
        # Called by PTB (as every error handler is) when a handler raised: the update is
        # done with, and `palaute status` tells why it came to nothing.
        application.add_error_handler(self._record_error)
        return await self._intake.open(self._hand_over)

    def close(self) -> None:
        """Stop handing over: later updates wait in the inbox for the next start."""
        self._intake.close()

    async def _hand_over(self, update_id: str, payload: str) -> None:
        assert self._application is not None
        try:
            update = Update.de_json(json.loads(payload), self._application.bot)
        except Exception:
            # Left unprocessed, an unreadable row would stop every later start at this point.
            log.exception("Telegram update %s cannot be read; it is skipped", update_id)
            await self._intake.failed(update_id, "cannot be read as a Telegram update")
            return
        await self._application.update_queue.put(update)

    async def _record_error(self, update: object, context: Any) -> None:
        if isinstance(update, Update):
            error = context.error
            reason = f"handling it failed: {type(error).__name__}: {error}"
            await self._intake.failed(str(update.update_id), reason)

    async def processed(self, update: object) -> None:
        if isinstance(update, Update):
            await self._intake.processed(str(update.update_id))


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
        self._lanes = Lanes()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # PTB starts the updates' tasks in arrival order and the semaphore and the locks are
        # first come, first served, so a chat's updates enter their lane in order.
        try:
            async with self._lanes.lane(_lane(update)):
                await coroutine
        except Exception:
            # Left unprocessed, the update would fail again at every start; handlers' own
            # errors are caught by PTB, so this is an update PTB itself could not take.
            log.exception("Telegram update %s could not be handled; it is skipped", _id(update))
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
