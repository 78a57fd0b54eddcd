"""Aggregates for score reports, computed in SQL over the answers index."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
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
    """Responses with a free-text answer."""
    responses: int = 0
    """Invitations with at least one answer in the window (abandoned ones too)."""


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
    properties: Mapping[str, Any] = field(default_factory=dict)


_TOUCHPOINT_JOIN = " JOIN touchpoints t ON t.id = i.touchpoint_id"
_INVITATION_JOIN = " JOIN invitations i ON i.id = a.invitation_id" + _TOUCHPOINT_JOIN


def _dimension_sql(dimension: str, alias: str) -> tuple[str, bool]:
    """(SQL expression of a breakdown dimension over table `alias`, whether it reads `t`)."""
    if dimension in BREAKDOWNS:
        return f"{alias}.{dimension}", False
    if dimension.startswith("property:"):
        name = dimension.removeprefix("property:")
        if not name or not name.replace("_", "").isalnum():
            raise ValueError(f"property name {name!r} must be letters, digits and _")
        return f"json_extract(t.properties, '$.{name}')", True
    raise ValueError(f"unknown breakdown {dimension!r}: use touchpoint, channel or property:NAME")


@dataclass(frozen=True)
class _Scope:
    """The SQL of one report's slice: its breakdown, survey and dimension filters."""

    by: str | None = None
    survey_id: str | None = None
    filters: tuple[tuple[str, str], ...] = ()

    def group(self, alias: str) -> str:
        """The breakdown's group over `alias` (`a` or `i`); NULL without a breakdown."""
        return _dimension_sql(self.by, alias)[0] if self.by else "NULL"

    def join(self, alias: str) -> str:
        """The JOIN answers (`a`) or invitations (`i`) need for the breakdown or a property
        filter: none for touchpoint and channel, which both tables carry."""
        dimensions = [d for d, _ in self.filters] + ([self.by] if self.by else [])
        if not any(_dimension_sql(d, alias)[1] for d in dimensions):
            return ""
        return _INVITATION_JOIN if alias == "a" else _TOUCHPOINT_JOIN

    def where(self, alias: str) -> tuple[str, list[Any]]:
        sql = f" AND {alias}.survey_id = ?" if self.survey_id else ""
        params: list[Any] = [self.survey_id] if self.survey_id else []
        for dimension, value in self.filters:
            sql += f" AND {_dimension_sql(dimension, alias)[0]} = ?"
            params.append(value)
        return sql, params


def _scope(by: str | None, survey_id: str | None, filters: Mapping[str, str] | None) -> _Scope:
    scope = _Scope(by, survey_id, tuple(sorted((filters or {}).items())))
    scope.join("a")  # validates every dimension before any SQL runs
    return scope


def filter_sql(filters: Mapping[str, str] | None, alias: str) -> tuple[str, list[Any]]:
    """ " AND …" conditions keeping `filters` (dimension → value) over `alias`, with `t` joined."""
    return _scope(None, None, filters).where(alias)


class ReportRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    def score_sql(
        self,
        by: str | None = None,
        *,
        survey_id: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> str:
        """Histograms of scored answers per (survey, group, question); params: start, end, filters."""
        scope = _scope(by, survey_id, filters)
        where, _params = scope.where("a")
        # A question's kind follows from its survey and id: grouping by it too only slows the
        # sort that GROUP BY is in SQLite.
        return (
            f"SELECT a.survey_id, {scope.group('a')} AS grp, a.question_id, MIN(a.kind) AS kind,"
            f" a.value_num, COUNT(*) AS n FROM answers a{scope.join('a')}"
            " WHERE a.answered_at >= ? AND a.answered_at < ? AND a.skipped = 0"
            f" AND a.value_num IS NOT NULL{where}"
            " GROUP BY a.survey_id, grp, a.question_id, a.value_num"
        )

    async def aggregates(
        self,
        start: float,
        end: float,
        *,
        by: str | None = None,
        survey_id: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> dict[tuple[str, str | None], SurveyAggregate]:
        """Per (survey, group): histograms of every scored question and the response counts.

        `filters` maps dimensions (touchpoint, channel, property:NAME) to the one value kept.
        """
        scope = _scope(by, survey_id, filters)
        result: dict[tuple[str, str | None], SurveyAggregate] = {}

        def aggregate(survey: str, grp: Any) -> SurveyAggregate:
            key = (survey, None if grp is None else str(grp))
            if key not in result:
                result[key] = SurveyAggregate(survey, key[1])
            return result[key]

        answer_where, answer_params = scope.where("a")
        for row in await self.database.fetchall(
            self.score_sql(by, survey_id=survey_id, filters=filters),
            [start, end, *answer_params],
        ):
            target = aggregate(row["survey_id"], row["grp"])
            question = target.questions.setdefault(
                row["question_id"], QuestionAggregate(row["question_id"], row["kind"])
            )
            question.histogram[int(row["value_num"])] = row["n"]

        invitation_where, invitation_params = scope.where("i")
        rows = await self.database.fetchall(
            f"SELECT i.survey_id, {scope.group('i')} AS grp, COUNT(*) AS sent,"
            # Answered as of `end`: a summary posted late counts what was true on time.
            " SUM(i.started_at < ? OR (i.started_at IS NULL AND i.state = 'completed'))"
            f" AS answered FROM invitations i{scope.join('i')}"
            f" WHERE i.sent_at >= ? AND i.sent_at < ?{invitation_where} GROUP BY i.survey_id, grp",
            [end, start, end, *invitation_params],
        )
        for row in rows:
            target = aggregate(row["survey_id"], row["grp"])
            target.invitations_sent = row["sent"]
            target.invitations_answered = row["answered"] or 0

        # A browser that viewed an open link and did not answer (by the window's end) was
        # offered the survey all the same. One that answered has an invitation, sent at its view.
        # link_views is read as `t`: it carries touchpoint, channel and properties itself.
        view_where, view_params = scope.where("t")
        rows = await self.database.fetchall(
            f"SELECT t.survey_id, {scope.group('t')} AS grp, COUNT(*) AS views"
            " FROM link_views t WHERE t.viewed_at >= ? AND t.viewed_at < ?"
            " AND NOT EXISTS (SELECT 1 FROM touchpoints answered JOIN invitations i"
            " ON i.touchpoint_id = answered.id WHERE answered.idempotency_key = t.key"
            f" AND i.sent_at < ?){view_where} GROUP BY t.survey_id, grp",
            [start, end, end, *view_params],
        )
        for row in rows:
            aggregate(row["survey_id"], row["grp"]).invitations_sent += row["views"]

        # One sort by invitation, then a small one by group: faster than two COUNT(DISTINCT)s,
        # each of which sorts every answer of the window again. An invitation has one survey
        # and one group, so MIN() just names them.
        rows = await self.database.fetchall(
            "SELECT survey_id, grp, COUNT(*) AS responses, SUM(has_text) AS comments FROM ("
            f" SELECT MIN(a.survey_id) AS survey_id, MIN({scope.group('a')}) AS grp,"
            " MAX(a.kind = 'text') AS has_text"
            f" FROM answers a{scope.join('a')} WHERE a.answered_at >= ? AND a.answered_at < ?"
            f" AND a.skipped = 0{answer_where} GROUP BY a.invitation_id"
            ") GROUP BY survey_id, grp",
            [start, end, *answer_params],
        )
        for row in rows:
            target = aggregate(row["survey_id"], row["grp"])
            target.responses = row["responses"]
            target.comments = row["comments"]
        return result

    async def histogram_buckets(
        self,
        survey_id: str,
        question_id: str,
        start: float,
        end: float,
        *,
        bucket_seconds: int = 900,
        filters: Mapping[str, str] | None = None,
    ) -> list[tuple[float, int, int]]:
        """(bucket start, value, count) of one question, oldest first.

        Buckets are UTC-aligned and 15 minutes by default, a divisor of every time zone's
        offset, so callers can sort them into local days exactly, across DST changes too.
        """
        scope = _scope(None, survey_id, filters)
        where, params = scope.where("a")
        rows = await self.database.fetchall(
            "SELECT CAST(a.answered_at / ? AS INTEGER) * ? AS bucket, a.value_num, COUNT(*) AS n"
            f" FROM answers a{scope.join('a')} WHERE a.question_id = ? AND a.answered_at >= ?"
            f" AND a.answered_at < ? AND a.skipped = 0 AND a.value_num IS NOT NULL{where}"
            " GROUP BY bucket, a.value_num ORDER BY bucket",
            [bucket_seconds, bucket_seconds, question_id, start, end, *params],
        )
        return [(float(r["bucket"]), int(r["value_num"]), int(r["n"])) for r in rows]

    async def dimension_values(
        self, start: float, end: float, *, survey_id: str | None = None, limit: int = 200
    ) -> dict[str, list[str]]:
        """Touchpoints and property values answered in a window: the choices of report filters."""
        where, params = _scope(None, survey_id, None).where("a")
        rows = await self.database.fetchall(
            "SELECT DISTINCT 'touchpoint' AS dimension, a.touchpoint AS value FROM answers a"
            f" WHERE a.answered_at >= ? AND a.answered_at < ?{where}"
            " UNION SELECT DISTINCT 'property:' || p.key, CAST(p.value AS TEXT) FROM answers a"
            f"{_INVITATION_JOIN}, json_each(t.properties) p"
            f" WHERE a.answered_at >= ? AND a.answered_at < ?{where}"
            " ORDER BY 1, 2 LIMIT ?",
            [start, end, *params, start, end, *params, limit],
        )
        values: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            values[row["dimension"]].append(str(row["value"]))
        return dict(values)

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
        self,
        start: float,
        end: float,
        *,
        survey_id: str | None = None,
        limit: int = 20,
        filters: Mapping[str, str] | None = None,
    ) -> list[Comment]:
        """Free-text answers of the window, newest first, with the survey's headline score."""
        where, params = _scope(None, survey_id, filters).where("a")
        rows = await self.database.fetchall(
            "SELECT a.survey_id, a.invitation_id, a.question_id, a.value_text, a.answered_at,"
            " a.touchpoint, a.channel, t.properties,"
            " (SELECT CAST(s.value_num AS INTEGER) FROM answers s WHERE s.invitation_id = a.invitation_id"
            "  AND s.kind IN ('nps', 'csat', 'ces') AND s.value_num IS NOT NULL ORDER BY s.id LIMIT 1)"
            " AS score"
            f" FROM answers a{_INVITATION_JOIN} WHERE a.answered_at >= ? AND a.answered_at < ?"
            f" AND a.kind = 'text' AND a.skipped = 0{where} ORDER BY a.answered_at DESC, a.id DESC"
            " LIMIT ?",
            [start, end, *params, limit],
        )
        return [
            Comment(
                r["survey_id"], r["invitation_id"], r["question_id"], r["value_text"],
                r["answered_at"], r["score"], r["touchpoint"], r["channel"],
                json.loads(r["properties"]),
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
