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

from storage.addresses import normalize_address
from storage.unit_of_work import DatabaseBackend, UnitOfWork

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
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database
        self._key: bytes | None = None

    async def _key_in(self, work: UnitOfWork) -> bytes:
        if self._key is None:
            await work.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (KEY_SETTING, secrets.token_urlsafe(32)),
            )
            row = await work.fetch_one("SELECT value FROM settings WHERE key = ?", (KEY_SETTING,))
            assert row is not None
            self._key = str(row[0]).encode()
        return self._key

    async def _digests(self, work: UnitOfWork, keys: Iterable[str]) -> list[str]:
        key = await self._key_in(work)
        return [hmac.new(key, k.encode(), hashlib.sha256).hexdigest() for k in keys]

    async def add(self, work: UnitOfWork, keys: Iterable[str], *, now: float) -> None:
        for digest in await self._digests(work, keys):
            await work.execute(
                "INSERT INTO suppressions (digest, created_at) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (digest, now),
            )

    async def contains_any(self, work: UnitOfWork, keys: Iterable[str]) -> bool:
        digests = await self._digests(work, keys)
        if not digests:
            return False
        marks = ",".join("?" * len(digests))
        row = await work.fetch_one(
            f"SELECT 1 FROM suppressions WHERE digest IN ({marks}) LIMIT 1", digests
        )
        return row is not None

    async def remove(self, work: UnitOfWork, keys: Iterable[str]) -> None:
        for digest in await self._digests(work, keys):
            await work.execute("DELETE FROM suppressions WHERE digest = ?", (digest,))
