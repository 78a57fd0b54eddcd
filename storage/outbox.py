"""The outbox: durable messages waiting to be sent.

Delivery guarantee: a message is claimed (`sending`) before it is handed to a platform and marked
`sent` right after the platform confirms it. A crash between the two leaves it `sending`;
`recover()` at start puts it back to `pending`, so each message is delivered at least once and at
most twice — the second copy only for a message that was in flight at the moment of the crash.
Only the holder of the run lease (storage.lease) claims and recovers, and every change of a
claimed message is a compare-and-set from `sending`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from storage.records import OutboxMessage
from storage.unit_of_work import DatabaseBackend, Dialect, UnitOfWork

PRIORITY_CONVERSATION = 100
PRIORITY_ALERT = 50
PRIORITY_INVITATION = 10
PRIORITY_BULK = 0


CUSTOMER_KINDS = ("prompt", "text")
"""What is written to a customer as a new message. Edits only show an answer given in a message
already in the chat; team messages and webhooks go to the team."""

ANSWERS_CUSTOMER = "answers_customer"
"""Payload flag of a reply to what the customer just did (a command, an answer): it goes out even
after an opt-out, like the goodbye of /stop itself or the help for an opted-out customer."""


def _opted_out_sql(dialect: Dialect) -> str:
    """An outbox row (in an UPDATE of `outbox`) written to a customer who opted out, unasked:
    a survey, a reminder, a relayed reply of the team."""
    answers_customer = dialect.json_text("outbox.payload", ANSWERS_CUSTOMER)
    return (
        "EXISTS (SELECT 1 FROM contacts c WHERE c.channel = outbox.channel"
        " AND c.address = outbox.address AND c.opted_out_at IS NOT NULL"
        f" AND outbox.kind IN ({', '.join(repr(kind) for kind in CUSTOMER_KINDS)})"
        # JSON true reads as '1' on SQLite and 'true' on PostgreSQL.
        f" AND COALESCE({answers_customer}, '') NOT IN ('1', 'true'))"
    )


OPTED_OUT_ERROR = "not sent: the customer opted out before it went out"


class OutboxRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database
        self._opted_out = _opted_out_sql(database.dialect)

    async def enqueue(
        self,
        work: UnitOfWork,
        *,
        channel: str,
        address: str,
        kind: str,
        payload: Mapping[str, Any],
        now: float,
        invitation_id: int | None = None,
        priority: int = PRIORITY_BULK,
        not_before: float | None = None,
    ) -> int:
        message_id = await work.fetch_value(
            "INSERT INTO outbox (channel, address, kind, payload, invitation_id, priority,"
            " not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                channel,
                address,
                kind,
                json.dumps(payload, ensure_ascii=False),
                invitation_id,
                priority,
                now if not_before is None else not_before,
                now,
            ),
        )
        return int(message_id)

    async def claim(
        self,
        now: float,
        limit: int,
        exclude_addresses: set[tuple[str, str]],
        *,
        bulk_limit: int | None = None,
        worker: str | None = None,
        chat_gaps: Mapping[str, float] | None = None,
    ) -> list[OutboxMessage]:
        """Mark up to `limit` due messages `sending` and return them: highest priority first,
        then the earliest due.

        Only the oldest pending message of each chat is claimed, so that a chat's messages keep
        their order; chats in `exclude_addresses` already have a message in flight. At most
        `bulk_limit` of them are below conversation priority; the rest stay pending untouched
        (claiming counts an attempt).

        Several workers (storage.workers): `worker` is this one's id, kept with each message it
        claims. A chat's earlier message in flight on any worker holds its next one back (the
        MIN(id) over `pending` and `sending`), and a chat another worker sent to within its
        channel's `chat_gaps` seconds is left to that worker, so that two workers' buckets
        never add up in one chat.
        """
        gap_sql = ""
        gap_params: list[object] = []
        if worker is not None and chat_gaps:
            cases = " ".join("WHEN ? THEN CAST(? AS DOUBLE PRECISION)" for _ in chat_gaps)
            gap_sql = (
                " AND NOT EXISTS (SELECT 1 FROM outbox r WHERE r.channel = o.channel"
                " AND r.address = o.address AND r.state = 'sent' AND r.claimed_by <> ?"
                " AND r.sent_at > CAST(? AS DOUBLE PRECISION)"
                f" - (CASE o.channel {cases} ELSE 0 END))"
            )
            gap_params = [worker, now]
            for channel, gap in chat_gaps.items():
                gap_params += [channel, gap]
        async with self.database.claiming() as work:
            rows = await work.fetch_all(
                "SELECT * FROM outbox o WHERE o.state = 'pending' AND o.not_before <= ?"
                " AND o.id = (SELECT MIN(id) FROM outbox p WHERE p.channel = o.channel"
                " AND p.address = o.address AND p.state IN ('pending', 'sending'))"
                + gap_sql
                # The index's own order (outbox_pending): no sort of every pending row, which
                # took 20 ms a claim with 10,000 invitations waiting.
                + " ORDER BY o.priority DESC, o.not_before, o.id LIMIT ?"
                + self.database.dialect.claim_lock,
                [now, *gap_params, limit + len(exclude_addresses)],
            )
            claimed: list[OutboxMessage] = []
            unreadable: list[tuple[str, int]] = []
            bulk = 0
            for row in rows:
                if len(claimed) >= limit:
                    break
                if (row["channel"], row["address"]) in exclude_addresses:
                    continue
                if bulk_limit is not None and row["priority"] < PRIORITY_CONVERSATION:
                    if bulk >= bulk_limit:
                        continue
                    bulk += 1
                try:
                    claimed.append(OutboxMessage.from_row(row))
                except ValueError as error:
                    # Left pending it would be read (and fail) at every claim, first in its chat.
                    unreadable.append(
                        (f"could not be read: the payload is not JSON ({error})", row["id"])
                    )
            if unreadable:
                await work.execute_many(
                    "UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?"
                    " AND state = 'pending'",
                    unreadable,
                )
            if not claimed:
                return []
            # One statement decides, for each row at once, whether the customer opted out (then
            # it is dropped) or it is claimed: a /stop committed before it is always seen. A row
            # another process changed since the read (no longer pending) is left alone.
            # The writes commit together as the block ends.
            marks = ",".join("?" * len(claimed))
            updated = await work.fetch_all(
                f"UPDATE outbox SET state = CASE WHEN {self._opted_out} THEN 'failed'"
                f" ELSE 'sending' END, last_error = CASE WHEN {self._opted_out} THEN ?"
                f" ELSE last_error END, attempts = attempts + CASE WHEN {self._opted_out}"
                f" THEN 0 ELSE 1 END, claimed_by = ? WHERE id IN ({marks}) AND state = 'pending'"
                " RETURNING id, attempts, state",
                [OPTED_OUT_ERROR, worker, *(m.id for m in claimed)],
            )
            failed = {row[0] for row in updated if row[2] == "failed"}
            if failed:
                await self._suppress_invitations(work, [m for m in claimed if m.id in failed])
        # Each message comes with its attempts counting this one.
        attempts = {row[0]: row[1] for row in updated if row[2] == "sending"}
        return [replace(m, attempts=attempts[m.id]) for m in claimed if m.id in attempts]

    async def drop_if_opted_out(self, message: OutboxMessage) -> bool:
        """Right before sending a claimed message that waited for its turn: True (and the message
        is failed with the reason) when its customer opted out meanwhile."""
        if message.kind not in CUSTOMER_KINDS:
            return False
        async with self.database.transaction() as work:
            updated = await work.fetch_all(
                f"UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?"
                f" AND state = 'sending' AND {self._opted_out} RETURNING id",
                (OPTED_OUT_ERROR, message.id),
            )
            if updated:
                await self._suppress_invitations(work, [message])
        return bool(updated)

    async def _suppress_invitations(self, work: UnitOfWork, dropped: list[OutboxMessage]) -> None:
        """A survey dropped before it reached the customer: its invitation is suppressed, as
        one due after the opt-out would have been."""
        ids = [m.invitation_id for m in dropped if m.kind == "prompt" and m.invitation_id]
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        await work.execute(
            "UPDATE invitations SET state = 'suppressed', reason = 'the contact opted out of"
            f" surveys before it went out' WHERE id IN ({marks}) AND state = 'sent'"
            " AND sent_at IS NULL",
            ids,
        )

    async def mark_sent(
        self,
        message_id: int,
        *,
        now: float,
        result: str | None = None,
        work: UnitOfWork | None = None,
    ) -> None:
        """Sent; inside the caller's transaction when `work` is given."""
        sql = (
            "UPDATE outbox SET state = 'sent', sent_at = ?, result = ?, last_error = NULL"
            " WHERE id = ? AND state = 'sending'"
        )
        if work is None:
            await self.database.execute(sql, (now, result, message_id))
        else:
            await work.execute(sql, (now, result, message_id))

    async def delete(self, message_id: int) -> None:
        await self.database.execute("DELETE FROM outbox WHERE id = ?", (message_id,))

    async def retry_later(self, message_id: int, *, not_before: float, error: str) -> None:
        await self.database.execute(
            "UPDATE outbox SET state = 'pending', not_before = ?, last_error = ? WHERE id = ?"
            " AND state = 'sending'",
            (not_before, error, message_id),
        )

    async def mark_failed(self, message_id: int, *, error: str) -> None:
        await self.database.execute(
            "UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ? AND state = 'sending'",
            (error, message_id),
        )

    async def fail_pending_for(self, channel: str, address: str, *, error: str) -> int:
        """A permanent failure (the user blocked the bot): drop what else waits for that chat."""
        return await self.database.execute(
            "UPDATE outbox SET state = 'failed', last_error = ? WHERE channel = ? AND address = ?"
            " AND state = 'pending'",
            (error, channel, address),
        )

    async def recover(self, message_ids: Collection[int] | None = None) -> int:
        """Messages left `sending` go back to `pending`: at start all of them (left by a crash:
        the documented duplicate; the run lease makes sure no other process is sending them),
        at a stop only `message_ids`, those this process had claimed and not finished."""
        if message_ids is None:
            return await self.database.execute(
                "UPDATE outbox SET state = 'pending' WHERE state = 'sending'"
            )
        if not message_ids:
            return 0
        marks = ",".join("?" * len(message_ids))
        return await self.database.execute(
            f"UPDATE outbox SET state = 'pending' WHERE state = 'sending' AND id IN ({marks})",
            list(message_ids),
        )

    async def next_not_before(self, after: float | None = None) -> float | None:
        """When the next pending message is due (of those due later than `after`, if given)."""
        row = await self.database.fetch_one(
            "SELECT MIN(not_before) AS t FROM outbox WHERE state = 'pending' AND not_before > ?",
            (float("-inf") if after is None else after,),
        )
        return row["t"] if row and row["t"] is not None else None

    async def counts(self) -> dict[str, int]:
        rows = await self.database.fetch_all(
            "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state"
        )
        return {row["state"]: row["n"] for row in rows}

    async def failures(self, limit: int = 20) -> list[tuple[int, str, str, str, str | None]]:
        rows = await self.database.fetch_all(
            "SELECT id, channel, address, kind, last_error FROM outbox WHERE state = 'failed'"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [(r["id"], r["channel"], r["address"], r["kind"], r["last_error"]) for r in rows]
