"""Contacts: who can be surveyed, on which channel, and whether they may be."""

from __future__ import annotations

import aiosqlite

from storage.database import Database
from storage.records import Contact


class ContactRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def get(self, contact_id: int) -> Contact | None:
        row = await self.database.fetchone("SELECT * FROM contacts WHERE id = ?", (contact_id,))
        return Contact.from_row(row) if row else None

    async def get_in(self, connection: aiosqlite.Connection, contact_id: int) -> Contact | None:
        """Read a contact inside a running transaction."""
        async with connection.execute(
            "SELECT * FROM contacts WHERE id = ?", (contact_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return Contact.from_row(row) if row else None

    async def find(self, channel: str, address: str) -> Contact | None:
        row = await self.database.fetchone(
            "SELECT * FROM contacts WHERE channel = ? AND address = ?", (channel, address)
        )
        return Contact.from_row(row) if row else None

    async def find_by_ref(self, ref: str) -> Contact | None:
        row = await self.database.fetchone("SELECT * FROM contacts WHERE ref = ?", (ref,))
        return Contact.from_row(row) if row else None

    async def ensure(
        self,
        connection: aiosqlite.Connection,
        *,
        channel: str | None = None,
        address: str | None = None,
        ref: str | None = None,
        now: float,
        display_name: str | None = None,
        language: str | None = None,
    ) -> int:
        """The id of the contact with this channel identity or ref, created if new (in a transaction)."""
        key: tuple[str, ...]
        if channel and address:
            key_sql, key = "channel = ? AND address = ?", (channel, address)
        elif ref:
            key_sql, key = "ref = ?", (ref,)
        else:
            raise ValueError("a contact needs a channel and address, or a ref")
        async with connection.execute(f"SELECT id FROM contacts WHERE {key_sql}", key) as cursor:
            row = await cursor.fetchone()
        if row:
            if display_name or language:
                await connection.execute(
                    "UPDATE contacts SET display_name = COALESCE(?, display_name),"
                    " language = COALESCE(?, language) WHERE id = ?",
                    (display_name, language, row[0]),
                )
            return int(row[0])
        cursor = await connection.execute(
            "INSERT INTO contacts (channel, address, ref, display_name, language, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (channel, address, ref, display_name, language, now),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def link_ref(self, ref: str, channel: str, address: str, *, now: float) -> int:
        """Join an external reference to a chat identity; the ref's touchpoints follow it."""
        async with self.database.transaction() as connection:
            chat_id = await self.ensure(connection, channel=channel, address=address, now=now)
            async with connection.execute("SELECT id FROM contacts WHERE ref = ?", (ref,)) as cur:
                row = await cur.fetchone()
            if row and row[0] != chat_id:
                ref_id = row[0]
                for table in ("touchpoints", "invitations"):
                    await connection.execute(
                        f"UPDATE {table} SET contact_id = ? WHERE contact_id = ?", (chat_id, ref_id)
                    )
                await connection.execute(
                    "UPDATE OR IGNORE audience_members SET contact_id = ? WHERE contact_id = ?",
                    (chat_id, ref_id),
                )
                await connection.execute("DELETE FROM contacts WHERE id = ?", (ref_id,))
            await connection.execute("UPDATE contacts SET ref = ? WHERE id = ?", (ref, chat_id))
            await connection.execute(
                "UPDATE invitations SET channel = ? WHERE contact_id = ? AND channel IS NULL",
                (channel, chat_id),
            )
            # Surveys that fell due while the ref had no chat go out now, unless expired.
            await connection.execute(
                "UPDATE invitations SET state = 'scheduled', reason = NULL, due_at = ?, updated_at = ?"
                " WHERE contact_id = ? AND state = 'unreachable' AND sent_at IS NULL"
                " AND reason LIKE 'no chat identity%' AND (expires_at IS NULL OR expires_at > ?)",
                (now, now, chat_id, now),
            )
            return chat_id

    async def set_opted_out(
        self, contact_id: int, opted_out: bool, *, now: float, reason: str
    ) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "UPDATE contacts SET opted_out_at = ?, opt_out_reason = ? WHERE id = ?",
                (now if opted_out else None, reason if opted_out else None, contact_id),
            )

    async def set_unreachable(
        self,
        contact_id: int,
        *,
        now: float,
        reason: str,
        connection: aiosqlite.Connection | None = None,
    ) -> None:
        """Nobody can be written to there; inside the caller's transaction when given."""
        sql = "UPDATE contacts SET unreachable_at = ?, unreachable_reason = ? WHERE id = ?"
        if connection is not None:
            await connection.execute(sql, (now, reason, contact_id))
            return
        await self.database.execute(sql, (now, reason, contact_id))

    async def set_reachable(self, contact_id: int) -> None:
        """They wrote to us (e.g. unblocked the bot and sent /start): they can be written to again."""
        async with self.database.transaction() as connection:
            await connection.execute(
                "UPDATE contacts SET unreachable_at = NULL, unreachable_reason = NULL WHERE id = ?",
                (contact_id,),
            )

    async def set_language(self, contact_id: int, language: str) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "UPDATE contacts SET language = ? WHERE id = ?", (language, contact_id)
            )

    async def forget(self, contact_id: int) -> bool:
        """Delete a contact and, by cascade, everything they answered."""
        async with self.database.transaction() as connection:
            await connection.execute(
                "DELETE FROM outbox WHERE invitation_id IN"
                " (SELECT id FROM invitations WHERE contact_id = ?)",
                (contact_id,),
            )
            cursor = await connection.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
            return cursor.rowcount > 0
