"""Where each question was shown, so that a tap can edit the right message."""

from __future__ import annotations

import aiosqlite

from storage.database import Database


class SentPromptRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(
        self,
        invitation_id: int,
        question_id: str,
        message_ref: str,
        *,
        connection: aiosqlite.Connection | None = None,
    ) -> None:
        """Inside the caller's transaction when `connection` is given."""
        sql = (
            "INSERT OR REPLACE INTO sent_prompts (invitation_id, question_id, message_ref)"
            " VALUES (?, ?, ?)"
        )
        if connection is None:
            await self.database.execute(sql, (invitation_id, question_id, message_ref))
        else:
            await connection.execute(sql, (invitation_id, question_id, message_ref))

    async def find(
        self, connection: aiosqlite.Connection, invitation_id: int, question_id: str
    ) -> str | None:
        async with connection.execute(
            "SELECT message_ref FROM sent_prompts WHERE invitation_id = ? AND question_id = ?",
            (invitation_id, question_id),
        ) as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row else None
