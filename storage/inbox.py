"""The inbox: platform updates stored before the platform is told they arrived."""

from __future__ import annotations

from storage.database import Database


class InboxRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def store_many(
        self, channel: str, items: list[tuple[str, str]], *, now: float
    ) -> list[str]:
        """Store (external id, payload) pairs; returns the ids that were new (not seen before)."""
        new: list[str] = []
        async with self.database.transaction() as connection:
            for external_id, payload in items:
                cursor = await connection.execute(
                    "INSERT OR IGNORE INTO inbox (channel, external_id, payload, received_at)"
                    " VALUES (?, ?, ?, ?)",
                    (channel, external_id, payload, now),
                )
                if cursor.rowcount:
                    new.append(external_id)
        return new

    async def mark_processed(self, channel: str, external_id: str, *, now: float) -> None:
        await self.database.execute(
            "UPDATE inbox SET processed_at = ? WHERE channel = ? AND external_id = ?",
            (now, channel, external_id),
        )

    async def unprocessed(self, channel: str) -> list[tuple[str, str]]:
        rows = await self.database.fetchall(
            "SELECT external_id, payload FROM inbox WHERE processed_at IS NULL AND channel = ?"
            " ORDER BY id",
            (channel,),
        )
        return [(row["external_id"], row["payload"]) for row in rows]

    async def prune(self, older_than: float) -> int:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "DELETE FROM inbox WHERE processed_at IS NOT NULL AND processed_at < ?",
                (older_than,),
            )
            return cursor.rowcount
