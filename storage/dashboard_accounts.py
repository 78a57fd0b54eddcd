"""Named dashboard accounts: a name, a role and a password hash (never the password)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.unit_of_work import DatabaseBackend, Row

SHARED_NAME = "shared"
"""Who a session of the shared password (or a sign-in link) is, in follow-ups it claims; no
account may take this name."""


class Role(StrEnum):
    ADMIN = "admin"
    """Reads everything and acts: claims and resolves follow-ups."""
    VIEWER = "viewer"
    """Reads everything, changes nothing."""


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    password_hash: str
    created_at: float
    last_sign_in_at: float | None

    @classmethod
    def from_row(cls, row: Row) -> Account:
        return cls(
            row["name"], Role(row["role"]), row["password_hash"], row["created_at"],
            row["last_sign_in_at"],
        )  # fmt: skip


class DashboardAccountRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def add(self, name: str, role: Role, password_hash: str, *, now: float) -> bool:
        """False when an account of that name (in any letter case) exists already."""
        async with self.database.transaction() as work:
            changed = await work.execute(
                "INSERT INTO dashboard_accounts (name, password_hash, role, created_at)"
                " VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (name, password_hash, role.value, now),
            )
            return changed > 0

    async def get(self, name: str) -> Account | None:
        row = await self.database.fetch_one(
            "SELECT * FROM dashboard_accounts WHERE name = ?", (name,)
        )
        return Account.from_row(row) if row else None

    async def all(self) -> list[Account]:
        rows = await self.database.fetch_all(
            "SELECT * FROM dashboard_accounts ORDER BY lower(name), name"
        )
        return [Account.from_row(row) for row in rows]

    async def any(self) -> bool:
        return await self.database.fetch_one("SELECT 1 FROM dashboard_accounts LIMIT 1") is not None

    async def remove(self, name: str) -> bool:
        """Delete the account and end its sessions, in one transaction; False if unknown."""
        async with self.database.transaction() as work:
            changed = await work.execute("DELETE FROM dashboard_accounts WHERE name = ?", (name,))
            if not changed:
                return False
            await work.execute(
                "DELETE FROM dashboard_sessions WHERE lower(account) = lower(?)", (name,)
            )
            return True

    async def set_password(self, name: str, password_hash: str) -> bool:
        """Replace the hash and end the account's sessions (a stolen cookie dies with the old
        password); False if unknown."""
        async with self.database.transaction() as work:
            changed = await work.execute(
                "UPDATE dashboard_accounts SET password_hash = ? WHERE name = ?",
                (password_hash, name),
            )
            if not changed:
                return False
            await work.execute(
                "DELETE FROM dashboard_sessions WHERE lower(account) = lower(?)", (name,)
            )
            return True

    async def signed_in(self, name: str, *, now: float) -> None:
        async with self.database.transaction() as work:
            await work.execute(
                "UPDATE dashboard_accounts SET last_sign_in_at = ? WHERE name = ?", (now, name)
            )
