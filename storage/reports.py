"""Aggregates for score reports, computed in SQL over the answers index."""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any

from storage.unit_of_work import DatabaseBackend, Dialect

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
    scores: tuple[tuple[str, str, int], ...] = ()
    """(question id, kind, value) of every score the response gave, in the order answered."""


_SCORE_KINDS = "('nps', 'csat', 'ces', 'rating')"
_TOUCHPOINT_JOIN = " JOIN touchpoints t ON t.id = i.touchpoint_id"
_INVITATION_JOIN = " JOIN invitations i ON i.id = a.invitation_id" + _TOUCHPOINT_JOIN


def _dimension_sql(dimension: str, alias: str, dialect: Dialect) -> tuple[str, bool]:
    """(SQL expression of a breakdown dimension over table `alias`, whether it reads `t`)."""
    if dimension in BREAKDOWNS:
        return f"{alias}.{dimension}", False
    if dimension.startswith("property:"):
        name = dimension.removeprefix("property:")
        if not name or not name.replace("_", "").isalnum():
            raise ValueError(f"property name {name!r} must be letters, digits and _")
        return dialect.json_text("t.properties", name), True
    raise ValueError(f"unknown breakdown {dimension!r}: use touchpoint, channel or property:NAME")


@dataclass(frozen=True)
class _Scope:
    """The SQL of one report's slice: its breakdown, survey and dimension filters."""

    dialect: Dialect
    by: str | None = None
    survey_id: str | None = None
    filters: tuple[tuple[str, str], ...] = ()

    def group(self, alias: str) -> str:
        """The breakdown's group over `alias` (`a` or `i`); NULL without a breakdown."""
        return _dimension_sql(self.by, alias, self.dialect)[0] if self.by else "NULL"

    def join(self, alias: str) -> str:
        """The JOIN answers (`a`) or invitations (`i`) need for the breakdown or a property
        filter: none for touchpoint and channel, which both tables carry."""
        dimensions = [d for d, _ in self.filters] + ([self.by] if self.by else [])
        if not any(_dimension_sql(d, alias, self.dialect)[1] for d in dimensions):
            return ""
        return _INVITATION_JOIN if alias == "a" else _TOUCHPOINT_JOIN

    def where(self, alias: str) -> tuple[str, list[Any]]:
        sql = f" AND {alias}.survey_id = ?" if self.survey_id else ""
        params: list[Any] = [self.survey_id] if self.survey_id else []
        for dimension, value in self.filters:
            sql += f" AND {_dimension_sql(dimension, alias, self.dialect)[0]} = ?"
            params.append(value)
        return sql, params


def _scope(
    dialect: Dialect, by: str | None, survey_id: str | None, filters: Mapping[str, str] | None
) -> _Scope:
    scope = _Scope(dialect, by, survey_id, tuple(sorted((filters or {}).items())))
    scope.join("a")  # validates every dimension before any SQL runs
    return scope


def filter_sql(
    filters: Mapping[str, str] | None, alias: str, dialect: Dialect
) -> tuple[str, list[Any]]:
    """ " AND …" conditions keeping `filters` (dimension → value) over `alias`, with `t` joined."""
    return _scope(dialect, None, None, filters).where(alias)


class ReportRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    def score_sql(
        self,
        by: str | None = None,
        *,
        survey_id: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> str:
        """Histograms of scored answers per (survey, group, question); params: start, end, filters."""
        scope = _scope(self.database.dialect, by, survey_id, filters)
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
        scope = _scope(self.database.dialect, by, survey_id, filters)
        result: dict[tuple[str, str | None], SurveyAggregate] = {}

        def aggregate(survey: str, grp: Any) -> SurveyAggregate:
            key = (survey, None if grp is None else str(grp))
            if key not in result:
                result[key] = SurveyAggregate(survey, key[1])
            return result[key]

        answer_where, answer_params = scope.where("a")
        for row in await self.database.fetch_all(
            self.score_sql(by, survey_id=survey_id, filters=filters),
            [start, end, *answer_params],
        ):
            target = aggregate(row["survey_id"], row["grp"])
            question = target.questions.setdefault(
                row["question_id"], QuestionAggregate(row["question_id"], row["kind"])
            )
            question.histogram[int(row["value_num"])] = row["n"]

        invitation_where, invitation_params = scope.where("i")
        rows = await self.database.fetch_all(
            f"SELECT i.survey_id, {scope.group('i')} AS grp, COUNT(*) AS sent,"
            # Answered as of `end`: a summary posted late counts what was true on time.
            " SUM(CASE WHEN i.started_at < ? OR (i.started_at IS NULL AND i.state = 'completed')"
            f" THEN 1 ELSE 0 END) AS answered FROM invitations i{scope.join('i')}"
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
        rows = await self.database.fetch_all(
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
        rows = await self.database.fetch_all(
            "SELECT survey_id, grp, COUNT(*) AS responses, SUM(has_text) AS comments FROM ("
            f" SELECT MIN(a.survey_id) AS survey_id, MIN({scope.group('a')}) AS grp,"
            " MAX(CASE WHEN a.kind = 'text' THEN 1 ELSE 0 END) AS has_text"
            f" FROM answers a{scope.join('a')} WHERE a.answered_at >= ? AND a.answered_at < ?"
            f" AND a.skipped = 0{answer_where} GROUP BY a.invitation_id"
            ") AS per_invitation GROUP BY survey_id, grp",
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
        scope = _scope(self.database.dialect, None, survey_id, filters)
        where, params = scope.where("a")
        bucket = self.database.dialect.integer_part("a.answered_at / ?")
        rows = await self.database.fetch_all(
            f"SELECT {bucket} * ? AS bucket, a.value_num, COUNT(*) AS n"
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
        where, params = _scope(self.database.dialect, None, survey_id, None).where("a")
        rows = await self.database.fetch_all(
            "SELECT DISTINCT 'touchpoint' AS dimension, a.touchpoint AS value FROM answers a"
            f" WHERE a.answered_at >= ? AND a.answered_at < ?{where}"
            " UNION SELECT DISTINCT 'property:' || p.key, CAST(p.value AS TEXT) FROM answers a"
            f"{_INVITATION_JOIN}, {self.database.dialect.json_each('t.properties', 'p')}"
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
        day = self.database.dialect.day_of("answered_at", "?")
        rows = await self.database.fetch_all(
            f"SELECT {day} AS day, value_num, COUNT(*) AS n"
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
        score_min: int | None = None,
        score_max: int | None = None,
        contains: str = "",
    ) -> list[Comment]:
        """Free-text answers of the window, newest first, with the response's scores.

        `score_min`/`score_max` keep comments whose response gave a score in that range (any of
        its scores: an event's three ratings); `contains` keeps those with that text in them
        (case-insensitive for ASCII letters, as SQLite's LIKE)."""
        where, params = _scope(self.database.dialect, None, survey_id, filters).where("a")
        if score_min is not None or score_max is not None:
            where += (
                " AND EXISTS (SELECT 1 FROM answers s WHERE s.invitation_id = a.invitation_id"
                f" AND s.kind IN {_SCORE_KINDS} AND s.skipped = 0 AND s.value_num BETWEEN ? AND ?)"
            )
            params += [
                score_min if score_min is not None else -1e9,
                score_max if score_max is not None else 1e9,
            ]
        if contains:
            escaped = contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where += " AND lower(a.value_text) LIKE lower(?) ESCAPE '\\'"
            params.append(f"%{escaped}%")
        rows = await self.database.fetch_all(
            "SELECT a.survey_id, a.invitation_id, a.question_id, a.value_text, a.answered_at,"
            " a.touchpoint, a.channel, t.properties,"
            " (SELECT CAST(s.value_num AS INTEGER) FROM answers s WHERE s.invitation_id = a.invitation_id"
            f"  AND s.kind IN {_SCORE_KINDS} AND s.value_num IS NOT NULL"
            "  ORDER BY s.kind = 'rating', s.id LIMIT 1) AS score"
            f" FROM answers a{_INVITATION_JOIN} WHERE a.answered_at >= ? AND a.answered_at < ?"
            f" AND a.kind = 'text' AND a.skipped = 0{where} ORDER BY a.answered_at DESC, a.id DESC"
            " LIMIT ?",
            [start, end, *params, limit],
        )
        scores = await self._scores({r["invitation_id"] for r in rows})
        return [
            Comment(
                r["survey_id"], r["invitation_id"], r["question_id"], r["value_text"],
                r["answered_at"], r["score"], r["touchpoint"], r["channel"],
                json.loads(r["properties"]), tuple(scores.get(r["invitation_id"], ())),
            )
            for r in rows
        ]  # fmt: skip

    async def _scores(self, invitation_ids: set[int]) -> dict[int, list[tuple[str, str, int]]]:
        found: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
        if not invitation_ids:
            return found
        marks = ", ".join("?" * len(invitation_ids))
        for row in await self.database.fetch_all(
            "SELECT invitation_id, question_id, kind, CAST(value_num AS INTEGER) AS value"
            f" FROM answers WHERE invitation_id IN ({marks}) AND kind IN {_SCORE_KINDS}"
            " AND skipped = 0 AND value_num IS NOT NULL ORDER BY id",
            sorted(invitation_ids),
        ):
            found[row["invitation_id"]].append((row["question_id"], row["kind"], row["value"]))
        return found

    async def export_rows(
        self, *, survey_id: str | None = None, by_response: bool = False
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Every answer with its context and its contact's address, streamed: oldest first, or
        grouped by response (invitation) for a one-row-per-response export."""
        where, params = ("WHERE a.survey_id = ?", (survey_id,)) if survey_id else ("", ())
        order = "a.invitation_id, a.id" if by_response else "a.id"
        rows = self.database.iterate(
            "SELECT a.id, a.answered_at, a.survey_id, a.touchpoint, a.channel, a.invitation_id,"
            " i.contact_id, a.question_id, a.kind, a.value_num, a.value_text, a.skipped,"
            " t.properties, c.channel AS contact_channel, c.address AS contact_address,"
            " c.ref AS contact_ref FROM answers a JOIN invitations i ON i.id = a.invitation_id"
            " JOIN touchpoints t ON t.id = i.touchpoint_id"
            f" LEFT JOIN contacts c ON c.id = i.contact_id {where} ORDER BY {order}",
            params,
        )
        # Closed with this generator, not by the garbage collector after the database is.
        async with contextlib.aclosing(rows):
            async for row in rows:
                yield dict(row)

    async def exported_questions(self, survey_id: str | None = None) -> list[tuple[str, str]]:
        """(survey, question) pairs that have answers, for the columns of a response export."""
        where, params = ("WHERE survey_id = ?", (survey_id,)) if survey_id else ("", ())
        rows = await self.database.fetch_all(
            f"SELECT survey_id, question_id, MIN(id) AS first FROM answers {where}"
            " GROUP BY survey_id, question_id ORDER BY survey_id, first",
            params,
        )
        return [(str(row["survey_id"]), str(row["question_id"])) for row in rows]

    async def count_answers(self, survey_id: str | None = None) -> int:
        where, params = ("WHERE survey_id = ?", (survey_id,)) if survey_id else ("", ())
        row = await self.database.fetch_one(f"SELECT COUNT(*) AS n FROM answers {where}", params)
        return int(row["n"]) if row else 0
