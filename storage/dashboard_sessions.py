"""Dashboard sign-ins that outlive a restart: a session is valid while its row is here."""

from __future__ import annotations

from dataclasses import dataclass

from storage.dashboard_accounts import Role
from storage.unit_of_work import DatabaseBackend


@dataclass(frozen=True)
class SessionHolder:
    """Who a live session belongs to: an account, or (account None) the shared password or a
    sign-in link, which are good only while no account exists."""

    account: str | None
    role: Role


class DashboardSessionRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def start(
        self, id_hash: str, *, now: float, expires_at: float, account: str | None = None
    ) -> None:
        async with self.database.transaction() as work:
            # Ended and expired sessions are forgotten as new ones begin.
            await work.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ?", (now,))
            await work.execute(
                "INSERT INTO dashboard_sessions (id_hash, created_at, expires_at, account)"
                " VALUES (?, ?, ?, ?)",
                (id_hash, now, expires_at, account),
            )

    async def holder(self, id_hash: str, *, now: float) -> SessionHolder | None:
        """The live session's holder; None when it ended, expired, its account was removed, or
        it is a shared one and accounts exist now."""
        row = await self.database.fetch_one(
            "SELECT s.account, a.name, a.role,"
            " EXISTS (SELECT 1 FROM dashboard_accounts) AS accounts_exist"
            " FROM dashboard_sessions s LEFT JOIN dashboard_accounts a ON a.name = s.account"
            " WHERE s.id_hash = ? AND s.expires_at > ?",
            (id_hash, now),
        )
        if row is None:
            return None
        if row["account"] is None:
            return None if row["accounts_exist"] else SessionHolder(None, Role.ADMIN)
        if row["name"] is None:
            return None
        return SessionHolder(row["name"], Role(row["role"]))

    async def active(self, id_hash: str, *, now: float) -> bool:
        return await self.holder(id_hash, now=now) is not None

    async def end(self, id_hash: str) -> None:
        async with self.database.transaction() as work:
            await work.execute("DELETE FROM dashboard_sessions WHERE id_hash = ?", (id_hash,))
