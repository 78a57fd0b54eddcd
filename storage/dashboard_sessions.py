"""Dashboard sign-ins that outlive a restart: a session is valid while its row is here."""

from __future__ import annotations

from storage.database import Database


class DashboardSessionRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def start(self, id_hash: str, *, now: float, expires_at: float) -> None:
        async with self.database.transaction() as connection:
            # Ended and expired sessions are forgotten as new ones begin.
            await connection.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ?", (now,))
            await connection.execute(
                "INSERT INTO dashboard_sessions (id_hash, created_at, expires_at) VALUES (?, ?, ?)",
                (id_hash, now, expires_at),
            )

    async def active(self, id_hash: str, *, now: float) -> bool:
        row = await self.database.fetchone(
            "SELECT 1 FROM dashboard_sessions WHERE id_hash = ? AND expires_at > ?",
            (id_hash, now),
        )
        return row is not None

    async def end(self, id_hash: str) -> None:
        async with self.database.transaction() as connection:
            await connection.execute("DELETE FROM dashboard_sessions WHERE id_hash = ?", (id_hash,))
