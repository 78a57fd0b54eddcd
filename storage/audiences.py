"""Audiences: named groups of contacts, such as an event's attendees."""

from __future__ import annotations

from storage.records import Contact
from storage.unit_of_work import DatabaseBackend, UnitOfWork


class AudienceRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def ensure(self, work: UnitOfWork, name: str, *, now: float) -> int:
        await work.execute(
            "INSERT INTO audiences (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (name, now),
        )
        row = await work.fetch_one("SELECT id FROM audiences WHERE name = ?", (name,))
        assert row is not None
        return int(row[0])

    async def add_member(
        self,
        work: UnitOfWork,
        name: str,
        contact_id: int,
        *,
        source: str,
        now: float,
    ) -> bool:
        """True when the contact was not a member yet."""
        audience_id = await self.ensure(work, name, now=now)
        changed = await work.execute(
            "INSERT INTO audience_members (audience_id, contact_id, source, joined_at)"
            " VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (audience_id, contact_id, source, now),
        )
        return changed > 0

    async def members(self, name: str) -> list[Contact]:
        rows = await self.database.fetch_all(
            "SELECT c.* FROM contacts c JOIN audience_members m ON m.contact_id = c.id"
            " JOIN audiences a ON a.id = m.audience_id WHERE a.name = ? ORDER BY m.joined_at, c.id",
            (name,),
        )
        return [Contact.from_row(row) for row in rows]

    async def names(self) -> list[tuple[str, int]]:
        rows = await self.database.fetch_all(
            "SELECT a.name, COUNT(m.contact_id) AS size FROM audiences a"
            " LEFT JOIN audience_members m ON m.audience_id = a.id GROUP BY a.id ORDER BY a.name"
        )
        return [(row["name"], row["size"]) for row in rows]
