"""The inbox: platform updates stored before the platform is told they arrived."""

from __future__ import annotations

from storage.unit_of_work import DatabaseBackend

MAX_REPLAYS = 3
GAVE_UP = f"skipped: its handling did not finish in {MAX_REPLAYS} starts"


class InboxRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def store_many(
        self, channel: str, items: list[tuple[str, str]], *, now: float, worker: str | None = None
    ) -> list[str]:
        """Store (external id, payload) pairs; returns the ids that were new (not seen before).
        `worker`: the id of the worker storing them (several workers, storage.workers)."""
        new: list[str] = []
        async with self.database.transaction() as work:
            for external_id, payload in items:
                changed = await work.execute(
                    "INSERT INTO inbox (channel, external_id, payload, received_at, received_by)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (channel, external_id, payload, now, worker),
                )
                if changed:
                    new.append(external_id)
        return new

    async def mark_processed(self, channel: str, external_id: str, *, now: float) -> None:
        await self.database.execute(
            "UPDATE inbox SET processed_at = ? WHERE channel = ? AND external_id = ?",
            (now, channel, external_id),
        )

    async def mark_failed(self, channel: str, external_id: str, *, error: str, now: float) -> None:
        """Handled, but its handling failed: done with (never replayed), the reason kept."""
        await self.database.execute(
            "UPDATE inbox SET processed_at = COALESCE(processed_at, ?), error = ?"
            " WHERE channel = ? AND external_id = ?",
            (now, error, channel, external_id),
        )

    async def unprocessed(self, channel: str) -> list[tuple[str, str]]:
        rows = await self.database.fetch_all(
            "SELECT external_id, payload FROM inbox WHERE processed_at IS NULL AND channel = ?"
            " ORDER BY id",
            (channel,),
        )
        return [(row["external_id"], row["payload"]) for row in rows]

    async def replay(
        self, channel: str, *, now: float, worker: str | None = None
    ) -> list[tuple[str, str]]:
        """What an earlier run stored but did not finish, to be handled again at this start.

        Each replay is counted; one that `MAX_REPLAYS` starts did not finish (it crashes or
        hangs the process every time) is given up, with the reason, so that it cannot stop
        every later start at the same place.

        Several workers: `worker` takes over only the items of workers no longer registered
        (storage.workers drops a dead one), never those a live worker is handling.
        """
        orphaned = ""
        if worker is not None:
            orphaned = " AND (received_by IS NULL OR received_by NOT IN (SELECT id FROM workers))"
        async with self.database.transaction() as work:
            await work.execute(
                "UPDATE inbox SET processed_at = ?, error = ? WHERE channel = ?"
                f" AND processed_at IS NULL AND attempts >= ?{orphaned}",
                (now, GAVE_UP, channel, MAX_REPLAYS),
            )
            rows = await work.fetch_all(
                "UPDATE inbox SET attempts = attempts + 1, received_by = ? WHERE channel = ?"
                f" AND processed_at IS NULL{orphaned} RETURNING id, external_id, payload",
                (worker, channel),
            )
        return [(row[1], row[2]) for row in sorted(rows, key=lambda row: row[0])]

    async def failures(self, limit: int = 20) -> list[tuple[str, str, str]]:
        """The most recent (channel, external id, reason) of items that could not be handled."""
        rows = await self.database.fetch_all(
            "SELECT channel, external_id, error FROM inbox WHERE error IS NOT NULL"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [(row["channel"], row["external_id"], row["error"]) for row in rows]

    async def prune(self, older_than: float) -> int:
        async with self.database.transaction() as work:
            changed = await work.execute(
                "DELETE FROM inbox WHERE processed_at IS NOT NULL AND processed_at < ?",
                (older_than,),
            )
            return changed
