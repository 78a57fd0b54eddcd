"""Sends the outbox through the channel adapters: in order per chat, paced, retried, durable.

See storage.outbox for the delivery guarantee (at most one duplicate, only for a message in
flight at a crash).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.channels.base import (
    Button,
    Channel,
    DeliveryError,
    MessageRejected,
    OutgoingPrompt,
)
from bot.clock import Clock
from bot.delivery.pacing import ChannelLimiter
from bot.team.document import from_payload as team_document_from_payload
from bot.team.document import has_chart
from storage.contacts import ContactRepository
from storage.database import StorageError
from storage.invitations import InvitationRepository
from storage.outbox import PRIORITY_CONVERSATION, OutboxRepository
from storage.prompts import SentPromptRepository
from storage.records import OutboxMessage
from storage.unit_of_work import DatabaseBackend

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_IN_FLIGHT = 64
BULK_IN_FLIGHT = 48
"""Bulk sends never take the last slots: those stay free for conversation replies."""

RECHECK_AFTER_WAIT = 0.25
"""Seconds: the claim checked the opt-out; a message that then waited longer than this for its
turn (rate limits, a 429 pause) is checked again right before it is sent."""

SentHook = Callable[[OutboxMessage, str], Awaitable[None]]


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: ~1 s, 2 s, 4 s, … capped at 5 minutes."""
    return float(min(300.0, 2 ** (attempt - 1)) * random.uniform(0.8, 1.2))


EDITS = frozenset({"edit", "team_edit"})
"""Kinds that change a message already in the chat: no new message for the per-chat limit."""


def platform_messages(message: OutboxMessage) -> int:
    """How many platform messages an outbox item becomes: each needs its own place in the pace."""
    if message.kind == "prompt" and message.payload.get("intro"):
        return 2  # the greeting, then the question
    if message.kind == "team" and has_chart(message.payload):
        return 2  # the chart, then the text
    return 1


def rows_from_payload(payload: object) -> tuple[tuple[Button, ...], ...]:
    if not isinstance(payload, list):
        return ()
    return tuple(tuple(Button(str(b["label"]), str(b["payload"])) for b in row) for row in payload)


@dataclass(frozen=True)
class DispatchStorage:
    """What the `Dispatcher` reads and writes: the outbox, and what a send or a failure records."""

    database: DatabaseBackend
    outbox: OutboxRepository
    prompts: SentPromptRepository
    invitations: InvitationRepository
    contacts: ContactRepository


class Dispatcher:
    def __init__(
        self,
        store: DispatchStorage,
        channels: Mapping[str, Channel],
        clock: Clock,
        *,
        wakeup: asyncio.Event,
        sent_hooks: Sequence[SentHook],
        worker: str | None = None,
    ) -> None:
        """`wakeup` is set (by `wake()` and by the services that queue messages) when the
        outbox has something new; `sent_hooks` run after each message is recorded as sent.

        `worker`: this worker's id when several share a PostgreSQL database (storage.workers);
        None for the one run on SQLite."""
        self.store = store
        self.channels = channels
        self.clock = clock
        self.limiters = {name: ChannelLimiter(channel.limits) for name, channel in channels.items()}
        self._wake = wakeup
        self._in_flight: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._claimed: dict[tuple[str, str], int] = {}
        """The message each chat in flight has claimed (its id)."""
        self._sending: set[tuple[str, str]] = set()
        """Chats whose message is with the platform right now (past the rate limits)."""
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.sent_hooks = tuple(sent_hooks)
        self.worker = worker
        # A chat another worker just wrote to stays with it until a full burst of the chat's
        # own limit has refilled: the two workers' chat buckets never add up.
        self._chat_gaps = {
            name: channel.limits.per_chat_burst / channel.limits.per_chat_per_second
            for name, channel in channels.items()
            if channel.limits.per_chat_per_second > 0
        }

    def wake(self) -> None:
        self._wake.set()

    async def start(self, *, first_claim_after: float = 0.0) -> None:
        """`first_claim_after`: seconds to wait before the first claim (a worker joining others
        waits for them to slow down to their new share of the pace)."""
        if self.worker is None:
            # One run (the run lease): whatever is `sending` was left by a crash. With several
            # workers, storage.workers hands back only what a dead worker left.
            recovered = await self.store.outbox.recover()
            if recovered:
                log.warning(
                    "%d message(s) were being sent when palaute stopped; sending them again",
                    recovered,
                )
        self._task = asyncio.create_task(self._run(first_claim_after), name="palaute-dispatcher")

    def share_pace(self, workers: int) -> None:
        """`workers` live workers send for the same bots: each keeps to its share of every
        channel's bot-wide pace (bot.delivery.pacing.ChannelLimiter.share)."""
        for limiter in self.limiters.values():
            limiter.share(workers)

    async def stop(self, timeout: float = 10.0) -> None:
        """Let messages being sent finish (up to `timeout`); the rest stay safely in the outbox.

        A message still waiting for its turn under the rate limits has not gone anywhere: it
        is put back at once rather than held up for, or sent during, the shutdown.
        """
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task
        # Only this process's claims go back: after a lost lease, another owner's are its own.
        claimed = list(self._claimed.values())
        for key, task in self._in_flight.items():
            if key not in self._sending:
                task.cancel()
        pending = list(self._in_flight.values())
        if pending:
            _done, not_done = await asyncio.wait(pending, timeout=timeout)
            for task in not_done:
                task.cancel()
            await asyncio.gather(*not_done, return_exceptions=True)
        await self.store.outbox.recover(claimed)

    async def _run(self, first_claim_after: float = 0.0) -> None:
        if first_claim_after > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_requested(), first_claim_after)
        while not self._stopping:
            self._wake.clear()
            try:
                claimed = await self._claim()
            except Exception:
                log.exception("could not read the outbox; trying again shortly")
                claimed = 0
            if self._stopping:
                break
            if claimed == 0:
                await self._sleep()

    async def _stop_requested(self) -> None:
        while not self._stopping:
            self._wake.clear()
            await self._wake.wait()

    async def _sleep(self) -> None:
        # Nothing could be claimed: what is due now waits for a chat or a slot in flight, whose
        # end wakes us (a retry due meanwhile waits at most a second), so only with nothing in
        # flight does a message due later need a timer.
        timeout = 1.0
        if not self._in_flight:
            now = self.clock.now()
            next_at = await self.store.outbox.next_not_before(after=now)
            if next_at is not None:
                timeout = min(1.0, next_at - now)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(timeout, 0.01))

    async def _claim(self) -> int:
        free = MAX_IN_FLIGHT - len(self._in_flight)
        if free <= 0:
            return 0
        bulk_in_flight = sum(1 for t in self._in_flight.values() if t.get_name() == "bulk")
        messages = await self.store.outbox.claim(
            self.clock.now(),
            free,
            set(self._in_flight),
            bulk_limit=max(0, BULK_IN_FLIGHT - bulk_in_flight),
            worker=self.worker,
            chat_gaps=self._chat_gaps,
        )
        started = 0
        for message in messages:
            key = (message.channel, message.address)
            bulk = message.priority < PRIORITY_CONVERSATION
            task = asyncio.create_task(self._send(message), name="bulk" if bulk else "conversation")
            self._in_flight[key] = task
            self._claimed[key] = message.id
            task.add_done_callback(functools.partial(self._finished, key))
            started += 1
        return started

    def _finished(self, key: tuple[str, str], _task: asyncio.Task[None] | None = None) -> None:
        self._in_flight.pop(key, None)
        self._claimed.pop(key, None)
        self._wake.set()

    async def _send(self, message: OutboxMessage) -> None:
        channel = self.channels.get(message.channel)
        if channel is None:
            reason = f"channel {message.channel!r} is not configured"
            await self._persist(
                message, functools.partial(self.store.outbox.mark_failed, message.id, error=reason)
            )
            return
        try:
            perform = self._prepare(channel, message)
            count = platform_messages(message)
        except DeliveryError as error:
            await self._give_up(message, error.reason)
            return
        except Exception as error:
            # A payload this version cannot turn into a message fails the same way every time:
            # no retries; its chat goes on with the next message.
            await self._give_up(message, f"could not be prepared: {type(error).__name__}: {error}")
            return
        limiter = self.limiters[message.channel]
        key = (message.channel, message.address)
        try:
            claimed_at = time.monotonic()
            await limiter.acquire(
                message.address,
                message.priority,
                count,
                new_messages=0 if message.kind in EDITS else count,
            )
            waited = time.monotonic() - claimed_at > RECHECK_AFTER_WAIT
            if waited and await self.store.outbox.drop_if_opted_out(message):
                log.info("message %s was not sent: the customer opted out meanwhile", message.id)
                return
            self._sending.add(key)
            try:
                ref = await perform()
            finally:
                self._sending.discard(key)
                limiter.settle(message.address)
        except DeliveryError as error:
            await self._persist(message, functools.partial(self._failed, message, error, limiter))
            return
        except Exception as error:  # an adapter bug must not stop the queue
            log.exception("sending outbox message %s failed unexpectedly", message.id)
            failure = DeliveryError(f"unexpected error: {type(error).__name__}", permanent=False)
            await self._persist(message, functools.partial(self._failed, message, failure, limiter))
            return
        await self._persist(message, functools.partial(self._record_sent, message, ref))
        for hook in self.sent_hooks:
            try:
                await hook(message, ref)
            except Exception:
                log.exception("a sent hook failed for outbox message %s", message.id)

    async def _record_sent(self, message: OutboxMessage, ref: str) -> None:
        now = self.clock.now()
        if message.kind == "prompt" and message.invitation_id is not None:
            # One transaction: sent, where the question is shown, and that the survey arrived.
            async with self.store.database.transaction() as connection:
                await self.store.outbox.mark_sent(message.id, now=now, result=ref, work=connection)
                await self.store.prompts.record(
                    message.invitation_id,
                    str(message.payload["question_id"]),
                    ref,
                    work=connection,
                )
                await self.store.invitations.stamp_sent(connection, message.invitation_id, now=now)
        elif message.payload.get("erase_when_sent"):
            # The confirmation of an erasure: once sent, nothing of it is kept (bot.erasure).
            await self.store.outbox.delete(message.id)
        else:
            await self.store.outbox.mark_sent(message.id, now=now, result=ref)

    async def _persist(self, message: OutboxMessage, write: Callable[[], Awaitable[None]]) -> None:
        """Record what became of a message; while the database cannot be written (locked, full,
        read-only), keep trying. Its chat waits meanwhile, so its order holds; stopped first,
        the message stays `sending` and is sent again at the next start (the crash bound)."""
        delay = 0.5
        while True:
            try:
                await write()
                return
            except StorageError as error:
                log.error(
                    "could not record what became of outbox message %s (%s); trying again in %.1f s",
                    message.id,
                    error,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _give_up(self, message: OutboxMessage, reason: str) -> None:
        log.warning("outbox message %s (%s) failed: %s", message.id, message.kind, reason)
        await self._persist(
            message, functools.partial(self.store.outbox.mark_failed, message.id, error=reason)
        )

    def _prepare(self, channel: Channel, message: OutboxMessage) -> Callable[[], Awaitable[str]]:
        """The call that sends `message`, built from its payload before anything is sent."""
        payload = message.payload
        address = message.address
        if not isinstance(payload, dict):
            raise TypeError(f"the payload is a {type(payload).__name__}, not an object")
        if message.kind == "prompt":
            if message.invitation_id is not None:
                str(payload["question_id"])  # recorded once sent: where the question is shown
            prompt = OutgoingPrompt(
                str(payload["text"]),
                rows_from_payload(payload.get("rows")),
                payload.get("intro"),
                message.invitation_id,
            )
            return functools.partial(channel.send_prompt, address, prompt)
        if message.kind == "text":
            rows = rows_from_payload(payload.get("rows"))
            return functools.partial(channel.send_text, address, str(payload["text"]), rows)
        if message.kind == "edit":
            ref, text = str(payload["message_ref"]), str(payload["text"])

            async def edit() -> str:
                await channel.edit(address, ref, text)
                return ref

            return edit
        if message.kind == "team":
            return functools.partial(
                channel.send_team, address, team_document_from_payload(payload)
            )
        if message.kind == "team_edit":
            ref, document = str(payload["message_ref"]), team_document_from_payload(payload)

            async def edit_team() -> str:
                await channel.edit_team(address, ref, document)
                return ref

            return edit_team
        if message.kind == "webhook":
            # Only bot.team.webhooks.WebhookChannel sends these; the URL is the address.
            send_webhook = getattr(channel, "send_webhook", None)
            if send_webhook is None:
                raise DeliveryError(f"{message.channel} cannot send webhooks", permanent=True)

            async def webhook() -> str:
                return str(await send_webhook(address, payload))

            return webhook
        raise DeliveryError(f"unknown outbox message kind {message.kind!r}", permanent=True)

    async def _failed(
        self, message: OutboxMessage, error: DeliveryError, limiter: ChannelLimiter
    ) -> None:
        now = self.clock.now()
        if isinstance(error, MessageRejected):
            log.warning(
                "message %s to %s:%s was refused by the platform (the chat is fine): %s",
                message.id,
                message.channel,
                message.address,
                error.reason,
            )
            await self.store.outbox.mark_failed(message.id, error=error.reason)
            return
        if error.permanent:
            log.warning(
                "message %s to %s:%s failed for good: %s",
                message.id,
                message.channel,
                message.address,
                error.reason,
            )
            await self.store.outbox.mark_failed(message.id, error=error.reason)
            dropped = await self.store.outbox.fail_pending_for(
                message.channel, message.address, error=error.reason
            )
            contact = await self.store.contacts.find(message.channel, message.address)
            if contact is not None:
                await self.store.contacts.set_unreachable(contact.id, now=now, reason=error.reason)
            if message.invitation_id is not None:
                await self.store.invitations.fail_undelivered(
                    message.invitation_id, reason=error.reason, now=now
                )
            if dropped:
                log.info("dropped %d more message(s) for the unreachable chat", dropped)
            return
        if error.retry_after and limiter.throttled(message.address, error.retry_after):
            log.warning(
                "%s answered 429 to chats without a recent message: the bot-wide limit, so "
                "every %s chat waits %g s",
                message.channel,
                message.channel,
                error.retry_after,
            )
        if message.attempts >= MAX_ATTEMPTS:
            log.warning(
                "message %s failed %d times; giving up: %s",
                message.id,
                message.attempts,
                error.reason,
            )
            await self.store.outbox.mark_failed(
                message.id, error=f"gave up after {message.attempts} attempts: {error.reason}"
            )
            return
        delay = error.retry_after if error.retry_after else backoff(message.attempts)
        await self.store.outbox.retry_later(message.id, not_before=now + delay, error=error.reason)
