"""Opt-outs that outlive an erasure, kept as keyed hashes: nothing readable.

A person who sent /stop and then /delete (or was forgotten with `palaute forget`) must never
be surveyed again, yet their address must not stay behind in readable form. Each identity
(`telegram:123`, `web:anna@example.com`, `ref:crm-42`, normalised) is kept as
HMAC-SHA256 under a key generated once per database (the `suppression_key` setting), so that
the table alone cannot be checked against a list of addresses. A contact created again for a
suppressed identity starts opted out; /start (the person's own wish) lifts the suppression.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

import aiosqlite

from storage.addresses import normalize_address
from storage.database import Database

KEY_SETTING = "suppression_key"
OPT_OUT_REASON = "opted out before their data was erased"


def identities(channel: str | None, address: str | None, ref: str | None) -> list[str]:
    """Every normalised identity of a contact: its chat and its external reference."""
    found = []
    if channel and address:
        found.append(f"{channel}:{normalize_address(address)}")
    if ref:
        found.append(f"ref:{normalize_address(ref)}")
    return found


class SuppressionRepository:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._key: bytes | None = None

    async def _key_in(self, connection: aiosqlite.Connection) -> bytes:
        if self._key is None:
            await connection.execute(
                "INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)",
                (KEY_SETTING, secrets.token_urlsafe(32)),
            )
            async with connection.execute(
                "SELECT value FROM settings WHERE key = ?", (KEY_SETTING,)
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            self._key = str(row[0]).encode()
        return self._key

    async def _digests(self, connection: aiosqlite.Connection, keys: Iterable[str]) -> list[str]:
        key = await self._key_in(connection)
        return [hmac.new(key, k.encode(), hashlib.sha256).hexdigest() for k in keys]

    async def add(
        self, connection: aiosqlite.Connection, keys: Iterable[str], *, now: float
    ) -> None:
        for digest in await self._digests(connection, keys):
            await connection.execute(
                "INSERT OR IGNORE INTO suppressions (digest, created_at) VALUES (?, ?)",
                (digest, now),
            )

    async def contains_any(self, connection: aiosqlite.Connection, keys: Iterable[str]) -> bool:
        digests = await self._digests(connection, keys)
        if not digests:
            return False
        marks = ",".join("?" * len(digests))
        async with connection.execute(
            f"SELECT 1 FROM suppressions WHERE digest IN ({marks}) LIMIT 1", digests
        ) as cursor:
            return await cursor.fetchone() is not None

    async def remove(self, connection: aiosqlite.Connection, keys: Iterable[str]) -> None:
        for digest in await self._digests(connection, keys):
            await connection.execute("DELETE FROM suppressions WHERE digest = ?", (digest,))
