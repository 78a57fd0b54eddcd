"""Contacts: who can be surveyed, on which channel, and whether they may be."""

from __future__ import annotations

from storage.addresses import normalize_address
from storage.records import Contact
from storage.suppressions import OPT_OUT_REASON, SuppressionRepository, identities
from storage.unit_of_work import DatabaseBackend, UnitOfWork


class ContactRepository:
    """Addresses and refs are stored and looked up normalised (storage.addresses)."""

    def __init__(self, database: DatabaseBackend, suppressions: SuppressionRepository) -> None:
        self.database = database
        self.suppressions = suppressions

    async def get(self, contact_id: int) -> Contact | None:
        row = await self.database.fetch_one("SELECT * FROM contacts WHERE id = ?", (contact_id,))
        return Contact.from_row(row) if row else None

    async def get_in(self, work: UnitOfWork, contact_id: int) -> Contact | None:
        """Read a contact inside a running transaction."""
        row = await work.fetch_one("SELECT * FROM contacts WHERE id = ?", (contact_id,))
        return Contact.from_row(row) if row else None

    async def find(self, channel: str, address: str) -> Contact | None:
        row = await self.database.fetch_one(
            "SELECT * FROM contacts WHERE channel = ? AND address = ?",
            (channel, normalize_address(address)),
        )
        return Contact.from_row(row) if row else None

    async def find_by_ref(self, ref: str) -> Contact | None:
        row = await self.database.fetch_one(
            "SELECT * FROM contacts WHERE ref = ?", (normalize_address(ref),)
        )
        return Contact.from_row(row) if row else None

    async def matching(
        self,
        work: UnitOfWork,
        *,
        channel: str | None = None,
        address: str | None = None,
        ref: str | None = None,
    ) -> list[Contact]:
        """Every contact with this identity however it was spelled when stored, also by an
        older palaute that did not normalise (`Anna@Example.com`, a zero-width space)."""
        if channel and address:
            normal = normalize_address(address)
            params: tuple[str, ...] = (channel, normal, normal)
            sql = "channel = ? AND (address = ? OR palaute_normalized(address) = ?)"
        elif ref:
            normal = normalize_address(ref)
            sql, params = "ref = ? OR palaute_normalized(ref) = ?", (normal, normal)
        else:
            raise ValueError("a contact needs a channel and address, or a ref")
        rows = await work.fetch_all(f"SELECT * FROM contacts WHERE {sql}", params)
        return [Contact.from_row(row) for row in rows]

    async def ensure(
        self,
        work: UnitOfWork,
        *,
        channel: str | None = None,
        address: str | None = None,
        ref: str | None = None,
        now: float,
        display_name: str | None = None,
        language: str | None = None,
    ) -> int:
        """The id of the contact with this channel identity or ref, created if new (in a transaction).

        A new contact whose identity was suppressed (it opted out, then was erased) starts
        opted out."""
        address = normalize_address(address) if address else address
        ref = normalize_address(ref) if ref else ref
        key: tuple[str, ...]
        if channel and address:
            key_sql, key = "channel = ? AND address = ?", (channel, address)
        elif ref:
            key_sql, key = "ref = ?", (ref,)
        else:
            raise ValueError("a contact needs a channel and address, or a ref")
        row = await work.fetch_one(f"SELECT id FROM contacts WHERE {key_sql}", key)
        if row:
            if display_name or language:
                await work.execute(
                    "UPDATE contacts SET display_name = COALESCE(?, display_name),"
                    " language = COALESCE(?, language) WHERE id = ?",
                    (display_name, language, row[0]),
                )
            return int(row[0])
        suppressed = await self.suppressions.contains_any(work, identities(channel, address, ref))
        contact_id = await work.fetch_value(
            "INSERT INTO contacts (channel, address, ref, display_name, language, created_at,"
            " opted_out_at, opt_out_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                channel, address, ref, display_name, language, now,
                now if suppressed else None, OPT_OUT_REASON if suppressed else None,
            ),
        )  # fmt: skip
        return int(contact_id)

    async def link_ref(self, ref: str, channel: str, address: str, *, now: float) -> int:
        """Join an external reference to a chat identity; the ref's touchpoints follow it."""
        ref = normalize_address(ref)
        async with self.database.transaction() as work:
            chat_id = await self.ensure(work, channel=channel, address=address, now=now)
            row = await work.fetch_one("SELECT id FROM contacts WHERE ref = ?", (ref,))
            if row and row[0] != chat_id:
                ref_id = row[0]
                for table in ("touchpoints", "invitations"):
                    await work.execute(
                        f"UPDATE {table} SET contact_id = ? WHERE contact_id = ?", (chat_id, ref_id)
                    )
                # Audiences both were in keep the chat's membership; the ref's goes with it.
                await work.execute(
                    "DELETE FROM audience_members WHERE contact_id = ? AND audience_id IN"
                    " (SELECT audience_id FROM audience_members WHERE contact_id = ?)",
                    (ref_id, chat_id),
                )
                await work.execute(
                    "UPDATE audience_members SET contact_id = ? WHERE contact_id = ?",
                    (chat_id, ref_id),
                )
                await work.execute("DELETE FROM contacts WHERE id = ?", (ref_id,))
            await work.execute("UPDATE contacts SET ref = ? WHERE id = ?", (ref, chat_id))
            if await self.suppressions.contains_any(work, identities(None, None, ref)):
                await work.execute(
                    "UPDATE contacts SET opted_out_at = COALESCE(opted_out_at, ?),"
                    " opt_out_reason = COALESCE(opt_out_reason, ?) WHERE id = ?",
                    (now, OPT_OUT_REASON, chat_id),
                )
            await work.execute(
                "UPDATE invitations SET channel = ? WHERE contact_id = ? AND channel IS NULL",
                (channel, chat_id),
            )
            # Surveys that fell due while the ref had no chat go out now, unless expired.
            await work.execute(
                "UPDATE invitations SET state = 'scheduled', reason = NULL, due_at = ?, updated_at = ?"
                " WHERE contact_id = ? AND state = 'unreachable' AND sent_at IS NULL"
                " AND reason LIKE 'no chat identity%' AND (expires_at IS NULL OR expires_at > ?)",
                (now, now, chat_id, now),
            )
            return chat_id

    async def set_opted_out(
        self, contact_id: int, opted_out: bool, *, now: float, reason: str
    ) -> None:
        async with self.database.transaction() as work:
            await work.execute(
                "UPDATE contacts SET opted_out_at = ?, opt_out_reason = ? WHERE id = ?",
                (now if opted_out else None, reason if opted_out else None, contact_id),
            )
            contact = await self.get_in(work, contact_id)
            if not opted_out and contact is not None:
                # Their own /start: an opt-out kept from before an erasure ends too.
                await self.suppressions.remove(
                    work, identities(contact.channel, contact.address, contact.ref)
                )

    async def set_unreachable(
        self,
        contact_id: int,
        *,
        now: float,
        reason: str,
        work: UnitOfWork | None = None,
    ) -> None:
        """Nobody can be written to there; inside the caller's transaction when given."""
        sql = "UPDATE contacts SET unreachable_at = ?, unreachable_reason = ? WHERE id = ?"
        if work is not None:
            await work.execute(sql, (now, reason, contact_id))
            return
        await self.database.execute(sql, (now, reason, contact_id))

    async def set_reachable(self, contact_id: int) -> None:
        """They wrote to us (e.g. unblocked the bot and sent /start): they can be written to again."""
        async with self.database.transaction() as work:
            await work.execute(
                "UPDATE contacts SET unreachable_at = NULL, unreachable_reason = NULL WHERE id = ?",
                (contact_id,),
            )

    async def set_language(self, contact_id: int, language: str) -> None:
        async with self.database.transaction() as work:
            await work.execute(
                "UPDATE contacts SET language = ? WHERE id = ?", (language, contact_id)
            )
