"""Touchpoints and the invitations they lead to, with the invitation state machine."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from storage.records import OPEN_STATES, Invitation, InvitationState
from storage.unit_of_work import DatabaseBackend, UnitOfWork

STALE_CONVERSATION_SECONDS = 7 * 24 * 3600
"""How long an unanswered survey that never expires keeps the next one in its chat waiting."""

_SELECT = "SELECT i.*, t.properties FROM invitations i JOIN touchpoints t ON t.id = i.touchpoint_id"

_ALLOWED: dict[InvitationState, set[InvitationState]] = {
    InvitationState.SCHEDULED: {
        InvitationState.SENT, InvitationState.SUPPRESSED, InvitationState.UNREACHABLE,
        InvitationState.EXPIRED, InvitationState.FAILED, InvitationState.ANSWERING,
    },
    InvitationState.SENT: {
        InvitationState.ANSWERING, InvitationState.COMPLETED, InvitationState.EXPIRED,
        InvitationState.FAILED,
    },
    InvitationState.ANSWERING: {InvitationState.COMPLETED, InvitationState.EXPIRED},
}  # fmt: skip


class InvalidTransition(RuntimeError):
    pass


@dataclass(frozen=True)
class NewInvitation:
    touchpoint: str
    survey_id: str
    contact_id: int | None
    channel: str | None
    occurred_at: float
    properties: dict[str, Any]
    state: InvitationState
    reason: str | None
    due_at: float
    remind_at: float | None
    expires_at: float | None
    token: str | None = None
    idempotency_key: str | None = None
    language: str | None = None
    request_fingerprint: str | None = None
    """A hash of the request the idempotency key came with (None for palaute's own keys)."""


@dataclass(frozen=True)
class KeyedInvitation:
    invitation: Invitation
    request_fingerprint: str | None


class InvitationRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def get(self, invitation_id: int) -> Invitation | None:
        row = await self.database.fetch_one(f"{_SELECT} WHERE i.id = ?", (invitation_id,))
        return Invitation.from_row(row) if row else None

    async def by_token(self, token: str) -> Invitation | None:
        row = await self.database.fetch_one(f"{_SELECT} WHERE i.token = ?", (token,))
        return Invitation.from_row(row) if row else None

    async def keyed(self, work: UnitOfWork, key: str) -> KeyedInvitation | None:
        """The invitation an idempotency key led to, with the fingerprint of its request."""
        row = await work.fetch_one(
            "SELECT i.*, t.properties, t.request_fingerprint FROM invitations i"
            " JOIN touchpoints t ON t.id = i.touchpoint_id"
            " WHERE t.idempotency_key = ? ORDER BY i.id LIMIT 1",
            (key,),
        )
        if row is None:
            return None
        return KeyedInvitation(Invitation.from_row(row), row["request_fingerprint"])

    async def insert(self, work: UnitOfWork, new: NewInvitation, *, now: float) -> int:
        touchpoint_id = await work.fetch_value(
            "INSERT INTO touchpoints (name, contact_id, occurred_at, properties, idempotency_key,"
            " request_fingerprint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                new.touchpoint,
                new.contact_id,
                new.occurred_at,
                json.dumps(new.properties, ensure_ascii=False),
                new.idempotency_key,
                new.request_fingerprint,
                now,
            ),
        )
        invitation_id = await work.fetch_value(
            "INSERT INTO invitations (touchpoint_id, contact_id, survey_id, touchpoint, channel,"
            " state, reason, language, token, due_at, remind_at, expires_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                touchpoint_id,
                new.contact_id,
                new.survey_id,
                new.touchpoint,
                new.channel,
                new.state.value,
                new.reason,
                new.language,
                new.token,
                new.due_at,
                new.remind_at,
                new.expires_at,
                now,
                now,
            ),
        )
        return int(invitation_id)

    async def transition(
        self,
        work: UnitOfWork,
        invitation_id: int,
        to: InvitationState,
        *,
        now: float,
        reason: str | None = None,
        expected: InvitationState | None = None,
    ) -> bool:
        """Move an invitation to `to`; False when nothing changed (it is in `to` already).

        With `expected`, a compare-and-set: only from that state, and False when the invitation
        is no longer in it (another tick or process moved it first), so that whatever the
        caller does next (queueing the survey) happens once.
        """
        row = await work.fetch_one("SELECT state FROM invitations WHERE id = ?", (invitation_id,))
        if row is None:
            raise InvalidTransition(f"invitation {invitation_id} does not exist")
        current = InvitationState(row[0])
        if expected is not None and current != expected:
            return False
        if current == to:
            return False
        if to not in _ALLOWED.get(current, set()):
            raise InvalidTransition(f"invitation {invitation_id} cannot go from {current} to {to}")
        stamps = {
            InvitationState.ANSWERING: ["started_at"],
            # A one-question survey is started and completed by the same answer.
            InvitationState.COMPLETED: ["started_at", "completed_at"],
        }.get(to, [])
        extra = "".join(f", {stamp} = COALESCE({stamp}, ?)" for stamp in stamps)
        params: list[Any] = [to.value, reason, now, *([now] * len(stamps)), invitation_id]
        changed = await work.execute(
            f"UPDATE invitations SET state = ?, reason = COALESCE(?, reason), updated_at = ?{extra}"
            " WHERE id = ? AND state = ?",
            [*params, current.value],
        )
        return bool(changed)

    async def mark_delivered(self, invitation_id: int, *, now: float) -> None:
        """The first message of the survey reached the platform: the response rate counts it."""
        async with self.database.transaction() as work:
            await self.stamp_sent(work, invitation_id, now=now)

    async def stamp_sent(self, work: UnitOfWork, invitation_id: int, *, now: float) -> None:
        await work.execute(
            "UPDATE invitations SET sent_at = COALESCE(sent_at, ?) WHERE id = ?",
            (now, invitation_id),
        )

    async def set_channel(self, work: UnitOfWork, invitation_id: int, channel: str) -> None:
        await work.execute(
            "UPDATE invitations SET channel = ? WHERE id = ?", (channel, invitation_id)
        )

    async def fail_undelivered(self, invitation_id: int, *, reason: str, now: float) -> None:
        """The survey could not be delivered; one already being answered keeps its state."""
        async with self.database.transaction() as work:
            await work.execute(
                "UPDATE invitations SET state = 'failed', reason = ?, updated_at = ? WHERE id = ?"
                " AND state IN ('scheduled', 'sent')",
                (reason, now, invitation_id),
            )

    async def due(
        self,
        now: float,
        limit: int = 500,
        *,
        one_at_a_time: Collection[str] = (),
        stale_after: float = STALE_CONVERSATION_SECONDS,
    ) -> list[Invitation]:
        """Scheduled invitations whose time has come. A contact on a channel in `one_at_a_time`
        (a chat, where typed answers go to the open survey) waits while another of their
        surveys is open and not expired: its turn comes when that one ends. A survey that never
        expires holds the chat for `stale_after` seconds after it last moved at most."""
        channels = sorted(one_at_a_time)
        marks = ", ".join("?" for _ in channels)
        waiting = (
            f" AND NOT ((SELECT c.channel FROM contacts c WHERE c.id = i.contact_id) IN ({marks})"
            " AND EXISTS (SELECT 1 FROM invitations o WHERE o.contact_id = i.contact_id"
            " AND o.id != i.id AND o.state IN ('sent', 'answering') AND (o.expires_at > ?"
            " OR (o.expires_at IS NULL AND o.updated_at > ?))))"
            if channels
            else ""
        )
        params = (now, *channels, now, now - stale_after) if channels else (now,)
        rows = await self.database.fetch_all(
            f"{_SELECT} WHERE i.state = 'scheduled' AND i.due_at <= ?{waiting}"
            " ORDER BY i.due_at LIMIT ?",
            (*params, limit),
        )
        due: list[Invitation] = []
        unreadable: list[tuple[str, float, int]] = []
        for row in rows:
            try:
                due.append(Invitation.from_row(row))
            except ValueError as error:
                # Left scheduled it would be read (and fail) at every tick, first in line.
                reason = f"could not be prepared: its properties are not JSON ({error})"
                unreadable.append((reason, now, row["id"]))
        if unreadable:
            async with self.database.transaction() as work:
                await work.execute_many(
                    "UPDATE invitations SET state = 'failed', reason = ?, updated_at = ?"
                    " WHERE id = ? AND state = 'scheduled'",
                    unreadable,
                )
        return due

    async def next_due_at(self) -> float | None:
        row = await self.database.fetch_one(
            "SELECT MIN(due_at) AS due FROM invitations WHERE state = 'scheduled'"
        )
        return row["due"] if row and row["due"] is not None else None

    async def reminders_due(self, now: float) -> list[Invitation]:
        rows = await self.database.fetch_all(
            f"{_SELECT} WHERE i.state IN ('sent', 'answering') AND i.remind_at <= ?"
            " AND i.reminded_at IS NULL AND (i.expires_at IS NULL OR i.expires_at > ?)",
            (now, now),
        )
        due: list[Invitation] = []
        for row in rows:
            try:
                due.append(Invitation.from_row(row))
            except ValueError:
                # Damaged properties: no reminder (marked as had, so that it is not read again).
                async with self.database.transaction() as work:
                    await self.mark_reminded(work, row["id"], now)
        return due

    async def mark_reminded(self, work: UnitOfWork, invitation_id: int, now: float) -> bool:
        """False when it was reminded already (by another tick): then no second reminder."""
        changed = await work.execute(
            "UPDATE invitations SET reminded_at = ?, updated_at = ? WHERE id = ?"
            " AND reminded_at IS NULL AND state IN ('sent', 'answering')",
            (now, now, invitation_id),
        )
        return bool(changed)

    async def expire_overdue(self, now: float) -> int:
        async with self.database.transaction() as work:
            changed = await work.execute(
                "UPDATE invitations SET state = 'expired', reason = 'not answered in time',"
                " updated_at = ? WHERE state IN ('sent', 'answering') AND expires_at <= ?",
                (now, now),
            )
            return changed

    async def open_for_contact(self, contact_id: int) -> Invitation | None:
        """The invitation a typed reply belongs to: the most recent one sent and not finished."""
        row = await self.database.fetch_one(
            f"{_SELECT} WHERE i.contact_id = ? AND i.state IN ('sent', 'answering')"
            " ORDER BY i.sent_at DESC, i.id DESC LIMIT 1",
            (contact_id,),
        )
        return Invitation.from_row(row) if row else None

    async def last_surveyed_at(self, work: UnitOfWork, contact_id: int) -> float | None:
        """When this contact was last invited, counting those still scheduled."""
        row = await work.fetch_one(
            "SELECT MAX(due_at) FROM invitations WHERE contact_id = ?"
            " AND state IN ('scheduled', 'sent', 'answering', 'completed', 'expired')",
            (contact_id,),
        )
        return row[0] if row and row[0] is not None else None

    async def last_due_for(self, contact_id: int, touchpoint: str) -> float | None:
        """When this contact's latest invitation for a touchpoint was (or is) due."""
        row = await self.database.fetch_one(
            "SELECT MAX(due_at) AS due FROM invitations WHERE contact_id = ? AND touchpoint = ?",
            (contact_id, touchpoint),
        )
        return row["due"] if row and row["due"] is not None else None

    async def count_due_between(
        self, work: UnitOfWork, touchpoint: str, start: float, end: float
    ) -> int:
        row = await work.fetch_one(
            "SELECT COUNT(*) FROM invitations WHERE touchpoint = ? AND due_at >= ? AND due_at < ?"
            " AND state NOT IN ('suppressed', 'unreachable')",
            (touchpoint, start, end),
        )
        return int(row[0]) if row else 0

    async def counts_by_state(self) -> dict[str, int]:
        rows = await self.database.fetch_all(
            "SELECT state, COUNT(*) AS n FROM invitations GROUP BY state"
        )
        return {row["state"]: row["n"] for row in rows}

    async def failures(self, limit: int = 20) -> list[tuple[int, str, str | None]]:
        """(id, touchpoint, reason) of the most recent invitations that ended `failed`: no
        properties read, so that a damaged row is listed too."""
        rows = await self.database.fetch_all(
            "SELECT id, touchpoint, reason FROM invitations WHERE state = 'failed'"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [(row["id"], row["touchpoint"], row["reason"]) for row in rows]

    async def listing(
        self, *, state: InvitationState | None = None, limit: int = 100
    ) -> list[Invitation]:
        where = "WHERE i.state = ?" if state else ""
        params: tuple[Any, ...] = (state.value, limit) if state else (limit,)
        rows = await self.database.fetch_all(
            f"{_SELECT} {where} ORDER BY i.id DESC LIMIT ?", params
        )
        return [Invitation.from_row(row) for row in rows]

    async def find_by_idempotency_key(self, key: str) -> Invitation | None:
        """The invitation a keyed touchpoint led to (e.g. one browser's answer to an open link)."""
        row = await self.database.fetch_one(
            f"{_SELECT} WHERE t.idempotency_key = ? ORDER BY i.id LIMIT 1", (key,)
        )
        return Invitation.from_row(row) if row else None

    async def start_now(self, work: UnitOfWork, invitation_id: int, *, now: float) -> None:
        """A scheduled invitation the customer opened themselves (a web link): answerable at once."""
        least = self.database.dialect.least("due_at", "?")
        await work.execute(
            f"UPDATE invitations SET state = 'sent', due_at = {least}, updated_at = ?,"
            " sent_at = COALESCE(sent_at, ?) WHERE id = ? AND state = 'scheduled'",
            (now, now, now, invitation_id),
        )

    async def adopt_language(self, work: UnitOfWork, invitation_id: int, language: str) -> None:
        """Fix the language of an invitation that had none, once the customer's is known."""
        await work.execute(
            "UPDATE invitations SET language = COALESCE(language, ?) WHERE id = ?",
            (language, invitation_id),
        )

    async def already_asked(
        self,
        work: UnitOfWork,
        contact_id: int,
        touchpoint: str,
        properties: Mapping[str, str],
    ) -> Invitation | None:
        """The newest invitation of this contact for `touchpoint` with the same properties that
        is still to come, open or answered (not one that expired, failed or was held back)."""
        rows = await work.fetch_all(
            f"{_SELECT} WHERE i.contact_id = ? AND i.touchpoint = ?"
            " AND i.state IN ('scheduled', 'sent', 'answering', 'completed') ORDER BY i.id DESC",
            (contact_id, touchpoint),
        )
        for row in rows:
            if json.loads(row["properties"]) == dict(properties):
                return Invitation.from_row(row)
        return None


def is_open(invitation: Invitation) -> bool:
    return invitation.state in OPEN_STATES
