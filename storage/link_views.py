"""Views of open links, one per browser: what an open link's response rate is out of."""

from __future__ import annotations

import json
from collections.abc import Mapping

import aiosqlite

from storage.database import Database


class LinkViewRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(
        self,
        *,
        key: str,
        survey_id: str,
        touchpoint: str,
        channel: str,
        properties: Mapping[str, object],
        now: float,
    ) -> None:
        """The first view of a browser counts; its later views and refreshes do not."""
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT INTO link_views (key, survey_id, touchpoint, channel, properties,"
                " viewed_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (
                    key,
                    survey_id,
                    touchpoint,
                    channel,
                    json.dumps(properties, ensure_ascii=False),
                    now,
                ),
            )

    async def first_view(self, connection: aiosqlite.Connection, key: str) -> float | None:
        async with connection.execute(
            "SELECT viewed_at FROM link_views WHERE key = ?", (key,)
        ) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row else None
