"""Views of open links, one per browser: what an open link's response rate is out of."""

from __future__ import annotations

import json
from collections.abc import Mapping

from storage.unit_of_work import DatabaseBackend, UnitOfWork


class LinkViewRepository:
    def __init__(self, database: DatabaseBackend) -> None:
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
        async with self.database.transaction() as work:
            await work.execute(
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

    async def first_view(self, work: UnitOfWork, key: str) -> float | None:
        row = await work.fetch_one("SELECT viewed_at FROM link_views WHERE key = ?", (key,))
        return float(row[0]) if row else None
