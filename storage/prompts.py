"""Where each question was shown, so that a tap can edit the right message."""

from __future__ import annotations

from storage.unit_of_work import DatabaseBackend, UnitOfWork


class SentPromptRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def record(
        self,
        invitation_id: int,
        question_id: str,
        message_ref: str,
        *,
        work: UnitOfWork | None = None,
    ) -> None:
        """Inside the caller's transaction when `work` is given."""
        sql = (
            "INSERT INTO sent_prompts (invitation_id, question_id, message_ref) VALUES (?, ?, ?)"
            " ON CONFLICT (invitation_id, question_id) DO UPDATE"
            " SET message_ref = excluded.message_ref"
        )
        if work is None:
            await self.database.execute(sql, (invitation_id, question_id, message_ref))
        else:
            await work.execute(sql, (invitation_id, question_id, message_ref))

    async def find(self, work: UnitOfWork, invitation_id: int, question_id: str) -> str | None:
        row = await work.fetch_one(
            "SELECT message_ref FROM sent_prompts WHERE invitation_id = ? AND question_id = ?",
            (invitation_id, question_id),
        )
        return str(row[0]) if row else None
