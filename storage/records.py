"""Rows as typed values, shared by the repositories and their callers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from storage.unit_of_work import Row


class InvitationState(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    ANSWERING = "answering"
    COMPLETED = "completed"
    EXPIRED = "expired"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    UNREACHABLE = "unreachable"


OPEN_STATES = (InvitationState.SCHEDULED, InvitationState.SENT, InvitationState.ANSWERING)


@dataclass(frozen=True)
class Contact:
    id: int
    channel: str | None
    address: str | None
    ref: str | None
    display_name: str | None
    language: str | None
    timezone: str | None
    opted_out_at: float | None
    unreachable_at: float | None
    last_surveyed_at: float | None
    unreachable_reason: str | None = None

    @property
    def label(self) -> str:
        if self.channel and self.address:
            return f"{self.channel}:{self.address}"
        return f"ref:{self.ref}"

    @classmethod
    def from_row(cls, row: Row) -> Contact:
        return cls(
            id=row["id"],
            channel=row["channel"],
            address=row["address"],
            ref=row["ref"],
            display_name=row["display_name"],
            language=row["language"],
            timezone=row["timezone"],
            opted_out_at=row["opted_out_at"],
            unreachable_at=row["unreachable_at"],
            last_surveyed_at=row["last_surveyed_at"],
            unreachable_reason=row["unreachable_reason"],
        )


@dataclass(frozen=True)
class Invitation:
    id: int
    touchpoint_id: int
    contact_id: int | None
    survey_id: str
    touchpoint: str
    channel: str | None
    state: InvitationState
    reason: str | None
    language: str | None
    token: str | None
    due_at: float
    remind_at: float | None
    expires_at: float | None
    sent_at: float | None
    completed_at: float | None
    properties: dict[str, Any]

    @classmethod
    def from_row(cls, row: Row) -> Invitation:
        return cls(
            id=row["id"],
            touchpoint_id=row["touchpoint_id"],
            contact_id=row["contact_id"],
            survey_id=row["survey_id"],
            touchpoint=row["touchpoint"],
            channel=row["channel"],
            state=InvitationState(row["state"]),
            reason=row["reason"],
            language=row["language"],
            token=row["token"],
            due_at=row["due_at"],
            remind_at=row["remind_at"],
            expires_at=row["expires_at"],
            sent_at=row["sent_at"],
            completed_at=row["completed_at"],
            properties=json.loads(row["properties"]),
        )


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    channel: str
    address: str
    kind: str
    payload: dict[str, Any]
    invitation_id: int | None
    priority: int
    attempts: int

    @classmethod
    def from_row(cls, row: Row) -> OutboxMessage:
        return cls(
            id=row["id"],
            channel=row["channel"],
            address=row["address"],
            kind=row["kind"],
            payload=json.loads(row["payload"]),
            invitation_id=row["invitation_id"],
            priority=row["priority"],
            attempts=row["attempts"],
        )
