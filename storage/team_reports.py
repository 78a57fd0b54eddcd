"""Team reports already posted: a summary is posted once per period, even across restarts."""

from __future__ import annotations

from dataclasses import dataclass

from storage.unit_of_work import DatabaseBackend, UnitOfWork


@dataclass(frozen=True)
class PostedReport:
    kind: str
    period: str
    posted_at: float
    late: bool


class TeamReportRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def record(
        self,
        work: UnitOfWork,
        kind: str,
        period: str,
        *,
        now: float,
        late: bool,
    ) -> bool:
        """True when this period was not posted yet; call it in the transaction that queues it."""
        changed = await work.execute(
            "INSERT INTO team_reports (kind, period, posted_at, late) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (kind, period, now, int(late)),
        )
        return changed > 0

    async def get(self, kind: str, period: str) -> PostedReport | None:
        row = await self.database.fetch_one(
            "SELECT * FROM team_reports WHERE kind = ? AND period = ?", (kind, period)
        )
        if row is None:
            return None
        return PostedReport(row["kind"], row["period"], row["posted_at"], bool(row["late"]))

    async def latest(self, kind: str) -> PostedReport | None:
        row = await self.database.fetch_one(
            "SELECT * FROM team_reports WHERE kind = ? ORDER BY period DESC LIMIT 1", (kind,)
        )
        if row is None:
            return None
        return PostedReport(row["kind"], row["period"], row["posted_at"], bool(row["late"]))
