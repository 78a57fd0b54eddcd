"""Audiences: named groups of contacts, such as an event's attendees."""

from __future__ import annotations

import aiosqlite

from storage.database import Database
from storage.records import Contact


class AudienceRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def ensure(self, connection: aiosqlite.Connection, name: str, *, now: float) -> int:
        await connection.execute(
            "INSERT OR IGNORE INTO audiences (name, created_at) VALUES (?, ?)", (name, now)
        )
        async with connection.execute("SELECT id FROM audiences WHERE name = ?", (name,)) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def add_member(
        self,
        connection: aiosqlite.Connection,
        name: str,
        contact_id: int,
        *,
        source: str,
        now: float,
    ) -> bool:
        """True when the contact was not a member yet."""
        audience_id = await self.ensure(connection, name, now=now)
        cursor = await connection.execute(
            "INSERT OR IGNORE INTO audience_members (audience_id, contact_id, source, joined_at)"
            " VALUES (?, ?, ?, ?)",
            (audience_id, contact_id, source, now),
        )
        return cursor.rowcount > 0

    async def members(self, name: str) -> list[Contact]:
        rows = await self.database.fetchall(
            "SELECT c.* FROM contacts c JOIN audience_members m ON m.contact_id = c.id"
            " JOIN audiences a ON a.id = m.audience_id WHERE a.name = ? ORDER BY m.joined_at, c.id",
            (name,),
        )
        return [Contact.from_row(row) for row in rows]

    async def names(self) -> list[tuple[str, int]]:
        rows = await self.database.fetchall(
            "SELECT a.name, COUNT(m.contact_id) AS size FROM audiences a"
            " LEFT JOIN audience_members m ON m.audience_id = a.id GROUP BY a.id ORDER BY a.name"
        )
        return [(row["name"], row["size"]) for row in rows]
