"""Sends waiting for an organizer's confirmation, each confirmed at most once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage.unit_of_work import DatabaseBackend


@dataclass(frozen=True)
class PendingSend:
    token: str
    channel: str
    requested_by: str
    request: dict[str, Any]
    created_at: float


class PendingSendRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def create(
        self, token: str, *, channel: str, requested_by: str, request: dict[str, Any], now: float
    ) -> None:
        await self.database.execute(
            "INSERT INTO pending_sends (token, channel, requested_by, request, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token, channel, requested_by, json.dumps(request), now),
        )

    async def confirm(
        self, token: str, *, click: str, now: float, newer_than: float
    ) -> PendingSend | None:
        """The send, marked confirmed by `click`; None when it is unknown, too old, or was
        confirmed by another click (two presses, even at once, confirm it once). The same
        click again (replayed after a crash) gets the send, to finish it."""
        async with self.database.transaction() as work:
            changed = await work.execute(
                "UPDATE pending_sends SET confirmed_at = ?, confirmed_by = ?"
                " WHERE token = ? AND created_at > ?"
                " AND (confirmed_at IS NULL OR confirmed_by = ?)",
                (now, click, token, newer_than, click),
            )
            if changed != 1:
                return None
            row = await work.fetch_one(
                "SELECT token, channel, requested_by, request, created_at"
                " FROM pending_sends WHERE token = ?",
                (token,),
            )
        assert row is not None
        return PendingSend(row[0], row[1], row[2], json.loads(row[3]), row[4])

    async def release(self, token: str) -> None:
        """Confirmable again: the send could not be made (Slack did not answer, say)."""
        await self.database.execute(
            "UPDATE pending_sends SET confirmed_at = NULL, confirmed_by = NULL WHERE token = ?",
            (token,),
        )

    async def state(self, token: str) -> str | None:
        """'pending', 'confirmed', or None for a token never stored (or pruned)."""
        row = await self.database.fetch_one(
            "SELECT confirmed_at FROM pending_sends WHERE token = ?", (token,)
        )
        if row is None:
            return None
        return "pending" if row["confirmed_at"] is None else "confirmed"

    async def prune(self, older_than: float) -> int:
        return await self.database.execute(
            "DELETE FROM pending_sends WHERE created_at < ?", (older_than,)
        )
