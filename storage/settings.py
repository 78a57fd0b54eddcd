"""Instance settings kept in the database."""

from __future__ import annotations

import secrets

from storage.unit_of_work import DatabaseBackend


class SettingsRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def get(self, key: str) -> str | None:
        row = await self.database.fetch_one("SELECT value FROM settings WHERE key = ?", (key,))
        return str(row["value"]) if row else None

    async def get_or_create_secret(self, key: str) -> str:
        """A random secret generated once per database and kept from then on (workers starting
        at once on one PostgreSQL database all get the one that was stored first)."""
        return await self.get_or_set(key, secrets.token_urlsafe(32))

    async def get_or_set(self, key: str, value: str) -> str:
        """The stored value of `key`, storing `value` first when there is none."""
        async with self.database.transaction() as work:
            await work.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (key, value),
            )
            row = await work.fetch_one("SELECT value FROM settings WHERE key = ?", (key,))
        assert row is not None
        return str(row[0])

    async def put(self, key: str, value: str) -> None:
        """Store `value` under `key`, replacing what was there."""
        async with self.database.transaction() as work:
            await work.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def with_prefix(self, prefix: str) -> dict[str, str]:
        """Every setting whose key starts with `prefix`, by the rest of its key."""
        rows = await self.database.fetch_all(
            "SELECT key, value FROM settings WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return {str(row["key"])[len(prefix) :]: str(row["value"]) for row in rows}
