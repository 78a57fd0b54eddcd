"""Follow-ups of detractor alerts: who took one, when it was resolved, where its alerts sit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from storage.reports import filter_sql
from storage.unit_of_work import DatabaseBackend, Dialect, Row, UnitOfWork


class FollowupState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Followup:
    """A follow-up with the context an alert shows: survey, touchpoint, score and comment."""

    id: int
    invitation_id: int
    created_at: float
    owner: str | None
    claimed_at: float | None
    resolved_by: str | None
    resolved_at: float | None
    survey_id: str
    touchpoint: str
    channel: str | None
    contact_id: int | None
    contact_name: str | None
    contact_channel: str | None
    contact_address: str | None
    contact_ref: str | None
    score: int | None
    score_kind: str | None
    comment: str | None
    question_id: str | None = None
    """The question whose answer raised the alert."""
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> FollowupState:
        if self.resolved_at is not None:
            return FollowupState.RESOLVED
        if self.claimed_at is not None:
            return FollowupState.CLAIMED
        return FollowupState.OPEN

    @classmethod
    def from_row(cls, row: Row) -> Followup:
        return cls(
            id=row["id"],
            invitation_id=row["invitation_id"],
            created_at=row["created_at"],
            owner=row["owner"],
            claimed_at=row["claimed_at"],
            resolved_by=row["resolved_by"],
            resolved_at=row["resolved_at"],
            survey_id=row["survey_id"],
            touchpoint=row["touchpoint"],
            channel=row["channel"],
            contact_id=row["contact_id"],
            contact_name=row["display_name"],
            contact_channel=row["contact_channel"],
            contact_address=row["contact_address"],
            contact_ref=row["ref"],
            score=None if row["score"] is None else int(row["score"]),
            score_kind=row["score_kind"],
            comment=row["comment"],
            question_id=row["question_id"],
            properties=json.loads(row["properties"]),
        )


class ReplyDirection(StrEnum):
    TO_CUSTOMER = "to_customer"
    FROM_CUSTOMER = "from_customer"


@dataclass(frozen=True)
class Reply:
    direction: ReplyDirection
    author: str | None
    text: str
    created_at: float


@dataclass(frozen=True)
class FollowupMessage:
    followup_id: int
    channel: str
    address: str
    message_ref: str | None


_SCORED = (
    "(s.question_id = f.question_id OR f.question_id IS NULL AND s.kind IN ('nps', 'csat', 'ces'))"
)
"""The answer whose score an alert shows: the one that raised it (older follow-ups: the first
NPS, CSAT or CES)."""


def _select_sql(dialect: Dialect) -> str:
    comment = dialect.string_agg("value_text", "\n", "id")
    return (
        "SELECT f.*, i.survey_id, i.touchpoint, i.channel, i.contact_id, t.properties,"
        " c.display_name, c.channel AS contact_channel, c.address AS contact_address, c.ref,"
        " (SELECT s.value_num FROM answers s WHERE s.invitation_id = f.invitation_id"
        f"  AND {_SCORED} AND s.value_num IS NOT NULL ORDER BY s.id LIMIT 1) AS score,"
        " (SELECT s.kind FROM answers s WHERE s.invitation_id = f.invitation_id"
        f"  AND {_SCORED} AND s.value_num IS NOT NULL ORDER BY s.id LIMIT 1) AS score_kind,"
        f" (SELECT {comment} FROM (SELECT s.id, s.value_text FROM answers s"
        "  WHERE s.invitation_id = f.invitation_id AND s.kind = 'text' AND s.skipped = 0"
        "  ORDER BY s.id) AS texts) AS comment"
        " FROM followups f JOIN invitations i ON i.id = f.invitation_id"
        " JOIN touchpoints t ON t.id = i.touchpoint_id LEFT JOIN contacts c ON c.id = i.contact_id"
    )


class FollowupRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database
        self._select = _select_sql(database.dialect)

    async def create(
        self,
        work: UnitOfWork,
        invitation_id: int,
        *,
        now: float,
        question_id: str | None = None,
    ) -> int | None:
        """The new follow-up's id; None when the invitation already has one (no second alert).
        `question_id` names the answer that raised it (its score is the one shown)."""
        followup_id = await work.fetch_value(
            "INSERT INTO followups (invitation_id, question_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            (invitation_id, question_id, now),
        )
        return None if followup_id is None else int(followup_id)

    async def get(self, followup_id: int) -> Followup | None:
        row = await self.database.fetch_one(f"{self._select} WHERE f.id = ?", (followup_id,))
        return Followup.from_row(row) if row else None

    async def for_invitation(self, invitation_id: int) -> Followup | None:
        row = await self.database.fetch_one(
            f"{self._select} WHERE f.invitation_id = ?", (invitation_id,)
        )
        return Followup.from_row(row) if row else None

    async def claim(self, work: UnitOfWork, followup_id: int, owner: str, *, now: float) -> bool:
        """True when this call took it; a follow-up already taken or resolved stays as it is."""
        changed = await work.execute(
            "UPDATE followups SET owner = ?, claimed_at = ? WHERE id = ? AND claimed_at IS NULL"
            " AND resolved_at IS NULL",
            (owner, now, followup_id),
        )
        return changed > 0

    async def resolve(self, work: UnitOfWork, followup_id: int, by: str, *, now: float) -> bool:
        """True when this call closed it. Whoever resolves an untaken one becomes its owner."""
        changed = await work.execute(
            "UPDATE followups SET resolved_by = ?, resolved_at = ?, owner = COALESCE(owner, ?),"
            " claimed_at = COALESCE(claimed_at, ?) WHERE id = ? AND resolved_at IS NULL",
            (by, now, by, now, followup_id),
        )
        return changed > 0

    async def add_message(
        self, work: UnitOfWork, followup_id: int, channel: str, address: str
    ) -> None:
        """An alert queued for a team chat; its message ref is filled in once it is sent."""
        await work.execute(
            "INSERT INTO followup_messages (followup_id, channel, address)"
            " VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (followup_id, channel, address),
        )

    async def set_message_ref(
        self, followup_id: int, channel: str, address: str, message_ref: str
    ) -> None:
        async with self.database.transaction() as work:
            await work.execute(
                "UPDATE followup_messages SET message_ref = ? WHERE followup_id = ?"
                " AND channel = ? AND address = ?",
                (message_ref, followup_id, channel, address),
            )

    async def messages(self, followup_id: int) -> list[FollowupMessage]:
        rows = await self.database.fetch_all(
            "SELECT * FROM followup_messages WHERE followup_id = ? ORDER BY channel, address",
            (followup_id,),
        )
        return [
            FollowupMessage(r["followup_id"], r["channel"], r["address"], r["message_ref"])
            for r in rows
        ]

    async def unresolved(
        self,
        *,
        created_before: float | None = None,
        limit: int = 50,
        filters: Mapping[str, str] | None = None,
    ) -> list[Followup]:
        """Follow-ups not resolved yet, oldest first; `created_before` keeps the overdue ones.

        `filters` are report filters (touchpoint, channel, property:NAME → value).
        """
        where, params = filter_sql(filters, "i", self.database.dialect)
        if created_before is not None:
            where += " AND f.created_at < ?"
            params.append(created_before)
        rows = await self.database.fetch_all(
            f"{self._select} WHERE f.resolved_at IS NULL{where} ORDER BY f.created_at, f.id LIMIT ?",
            [*params, limit],
        )
        return [Followup.from_row(row) for row in rows]

    async def count_unresolved(self, *, created_before: float | None = None) -> int:
        row = await self.database.fetch_one(
            "SELECT COUNT(*) AS n FROM followups WHERE resolved_at IS NULL AND created_at < ?",
            (float("inf") if created_before is None else created_before,),
        )
        return int(row["n"]) if row else 0

    async def counts_between(self, start: float, end: float) -> tuple[int, int]:
        """(opened, resolved) in [start, end)."""
        row = await self.database.fetch_one(
            "SELECT SUM(CASE WHEN created_at >= ? AND created_at < ? THEN 1 ELSE 0 END)"
            " AS opened, SUM(CASE WHEN resolved_at >= ? AND resolved_at < ? THEN 1 ELSE 0 END)"
            " AS resolved FROM followups"
            " WHERE created_at < ?",
            (start, end, start, end, end),
        )
        if row is None:
            return 0, 0
        return int(row["opened"] or 0), int(row["resolved"] or 0)

    async def by_message(self, channel: str, message_ref: str) -> FollowupMessage | None:
        """The alert a team chat message refers to (a thread reply, a reply-to)."""
        row = await self.database.fetch_one(
            "SELECT * FROM followup_messages WHERE channel = ? AND message_ref = ? LIMIT 1",
            (channel, message_ref),
        )
        if row is None:
            return None
        return FollowupMessage(
            row["followup_id"], row["channel"], row["address"], row["message_ref"]
        )

    async def add_reply(
        self,
        work: UnitOfWork,
        followup_id: int,
        direction: ReplyDirection,
        text: str,
        *,
        author: str | None,
        now: float,
    ) -> None:
        await work.execute(
            "INSERT INTO followup_replies (followup_id, direction, author, text, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (followup_id, direction.value, author, text, now),
        )

    async def replies(self, followup_id: int) -> list[Reply]:
        rows = await self.database.fetch_all(
            "SELECT * FROM followup_replies WHERE followup_id = ? ORDER BY id", (followup_id,)
        )
        return [
            Reply(ReplyDirection(r["direction"]), r["author"], r["text"], r["created_at"])
            for r in rows
        ]

    async def relaying_to(self, contact_id: int) -> Followup | None:
        """The unresolved follow-up whose team has written to this contact, the latest first."""
        row = await self.database.fetch_one(
            f"{self._select} WHERE i.contact_id = ? AND f.resolved_at IS NULL AND EXISTS"
            " (SELECT 1 FROM followup_replies r WHERE r.followup_id = f.id"
            " AND r.direction = 'to_customer') ORDER BY f.created_at DESC, f.id DESC LIMIT 1",
            (contact_id,),
        )
        return Followup.from_row(row) if row else None
