"""Aggregates for score reports, computed in SQL over the answers index."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from storage.database import Database

BREAKDOWNS = ("touchpoint", "channel")


@dataclass
class QuestionAggregate:
    question_id: str
    kind: str
    histogram: dict[int, int] = field(default_factory=dict)
    """Answer value → count, for scale, rating and yes/no questions."""


@dataclass
class SurveyAggregate:
    survey_id: str
    group: str | None
    questions: dict[str, QuestionAggregate] = field(default_factory=dict)
    invitations_sent: int = 0
    invitations_answered: int = 0
    comments: int = 0


@dataclass(frozen=True)
class Comment:
    survey_id: str
    invitation_id: int
    question_id: str
    text: str
    answered_at: float
    score: int | None
    touchpoint: str
    channel: str


def _group_sql(by: str | None) -> tuple[str, str]:
    """(SQL expression for the group, extra JOIN) of a breakdown."""
    if by is None:
        return "NULL", ""
    if by in BREAKDOWNS:
        return f"a.{by}", ""
    if by.startswith("property:"):
        name = by.removeprefix("property:")
        if not name.replace("_", "").isalnum():
            raise ValueError(f"property name {name!r} must be letters, digits and _")
        return (
            f"json_extract(t.properties, '$.{name}')",
            " JOIN invitations i ON i.id = a.invitation_id JOIN touchpoints t ON t.id = i.touchpoint_id",
        )
    raise ValueError(f"unknown breakdown {by!r}: use touchpoint, channel or property:NAME")


class ReportRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    def score_sql(self, by: str | None = None) -> str:
        group, join = _group_sql(by)
        return (
            f"SELECT a.survey_id, {group} AS grp, a.question_id, a.kind, a.value_num, COUNT(*) AS n"
            f" FROM answers a{join}"
            " WHERE a.answered_at >= ? AND a.answered_at < ? AND a.skipped = 0"
            " AND a.value_num IS NOT NULL"
            " GROUP BY a.survey_id, grp, a.question_id, a.kind, a.value_num"
        )

    async def aggregates(
        self, start: float, end: float, *, by: str | None = None, survey_id: str | None = None
    ) -> dict[tuple[str, str | None], SurveyAggregate]:
        """Per (survey, group): histograms of every scored question and the response counts."""
        result: dict[tuple[str, str | None], SurveyAggregate] = {}

        def aggregate(survey: str, grp: Any) -> SurveyAggregate:
            key = (survey, None if grp is None else str(grp))
            if key not in result:
                result[key] = SurveyAggregate(survey, key[1])
            return result[key]

        sql = self.score_sql(by)
        params: list[Any] = [start, end]
        if survey_id is not None:
            sql = sql.replace("AND a.skipped = 0", "AND a.skipped = 0 AND a.survey_id = ?")
            params.append(survey_id)
        for row in await self.database.fetchall(sql, params):
            target = aggregate(row["survey_id"], row["grp"])
            question = target.questions.setdefault(
                row["question_id"], QuestionAggregate(row["question_id"], row["kind"])
            )
            question.histogram[int(row["value_num"])] = row["n"]

        group, _join = _group_sql(by)
        invitation_group = group.replace("a.", "i.").replace("t.properties", "t.properties")
        survey_filter = " AND i.survey_id = ?" if survey_id else ""
        rate_params: list[Any] = [start, end, *([survey_id] if survey_id else [])]
        rows = await self.database.fetchall(
            f"SELECT i.survey_id, {invitation_group} AS grp, COUNT(*) AS sent,"
            " SUM(i.started_at IS NOT NULL OR i.state = 'completed') AS answered"
            " FROM invitations i JOIN touchpoints t ON t.id = i.touchpoint_id"
            f" WHERE i.sent_at >= ? AND i.sent_at < ?{survey_filter} GROUP BY i.survey_id, grp",
            rate_params,
        )
        for row in rows:
            target = aggregate(row["survey_id"], row["grp"])
            target.invitations_sent = row["sent"]
            target.invitations_answered = row["answered"] or 0
        comment_params: list[Any] = [start, end, *([survey_id] if survey_id else [])]
        group_sql, join = _group_sql(by)
        comment_filter = " AND a.survey_id = ?" if survey_id else ""
        rows = await self.database.fetchall(
            f"SELECT a.survey_id, {group_sql} AS grp, COUNT(DISTINCT a.invitation_id) AS n"
            f" FROM answers a{join} WHERE a.answered_at >= ? AND a.answered_at < ?"
            f" AND a.kind = 'text' AND a.skipped = 0{comment_filter} GROUP BY a.survey_id, grp",
            comment_params,
        )
        for row in rows:
            aggregate(row["survey_id"], row["grp"]).comments = row["n"]
        return result

    async def daily_histograms(
        self, survey_id: str, question_id: str, start: float, end: float, utc_offset_seconds: int
    ) -> dict[str, dict[int, int]]:
        """Local day (YYYY-MM-DD) → histogram, for charts."""
        rows = await self.database.fetchall(
            "SELECT date(answered_at + ?, 'unixepoch') AS day, value_num, COUNT(*) AS n"
            " FROM answers WHERE survey_id = ? AND question_id = ? AND answered_at >= ?"
            " AND answered_at < ? AND skipped = 0 GROUP BY day, value_num",
            (utc_offset_seconds, survey_id, question_id, start, end),
        )
        days: dict[str, dict[int, int]] = defaultdict(dict)
        for row in rows:
            days[row["day"]][int(row["value_num"])] = row["n"]
        return dict(days)

    async def comments(
        self, start: float, end: float, *, survey_id: str | None = None, limit: int = 20
    ) -> list[Comment]:
        """Free-text answers of the window, newest first, with the survey's headline score."""
        survey_filter = " AND a.survey_id = ?" if survey_id else ""
        params: list[Any] = [start, end, *([survey_id] if survey_id else []), limit]
        rows = await self.database.fetchall(
            "SELECT a.survey_id, a.invitation_id, a.question_id, a.value_text, a.answered_at,"
            " a.touchpoint, a.channel,"
            " (SELECT CAST(s.value_num AS INTEGER) FROM answers s WHERE s.invitation_id = a.invitation_id"
            "  AND s.kind IN ('nps', 'csat', 'ces') AND s.value_num IS NOT NULL ORDER BY s.id LIMIT 1)"
            " AS score"
            " FROM answers a WHERE a.answered_at >= ? AND a.answered_at < ? AND a.kind = 'text'"
            f" AND a.skipped = 0{survey_filter} ORDER BY a.answered_at DESC LIMIT ?",
            params,
        )
        return [
            Comment(
                r["survey_id"], r["invitation_id"], r["question_id"], r["value_text"],
                r["answered_at"], r["score"], r["touchpoint"], r["channel"],
            )
            for r in rows
        ]  # fmt: skip

    async def export_rows(self) -> AsyncIterator[dict[str, Any]]:
        """Every answer with its context, oldest first, streamed."""
        async for row in self.database.iterate(
            "SELECT a.id, a.answered_at, a.survey_id, a.touchpoint, a.channel, a.invitation_id,"
            " i.contact_id, a.question_id, a.kind, a.value_num, a.value_text, a.skipped,"
            " t.properties FROM answers a JOIN invitations i ON i.id = a.invitation_id"
            " JOIN touchpoints t ON t.id = i.touchpoint_id ORDER BY a.id"
        ):
            yield dict(row)

    async def count_answers(self) -> int:
        row = await self.database.fetchone("SELECT COUNT(*) AS n FROM answers")
        return int(row["n"]) if row else 0
