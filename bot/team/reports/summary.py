"""What the daily summary and the weekly digest say, built from the store as of a moment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.team.detractors import detractor_threshold
from bot.team.document import Line, Section, TeamDocument
from bot.team.reports.chart import ChartSeries, chart_png, chart_series
from bot.team.reports.followup_text import followup_status, score_text
from bot.team.reports.format import (
    format_score,
    format_value,
    headline_line,
    metric_label,
    scores_text,
)
from bot.team.scores import TrendRow, rolling_trends
from bot.texts import text
from conversations.localization import resolve
from conversations.survey import Survey
from storage.reports import Comment
from storage.store import Store

if TYPE_CHECKING:
    from bot.config import Config

DAILY = "daily"
WEEKLY = "weekly"
CHART_SURVEYS = 4
OVERDUE_SHOWN = 10


@dataclass(frozen=True)
class ReportPeriod:
    kind: str
    """DAILY or WEEKLY."""
    period: str
    """The key it is posted once for: "2026-03-30" or "2026-W14"."""
    day: date
    """The local day it is posted on."""
    scheduled_at: float
    """When it was due; its numbers are as of this moment, whenever it is posted."""


def survey_title(surveys: Mapping[str, Survey], survey_id: str, language: str) -> str:
    survey = surveys.get(survey_id)
    if survey is None:
        return survey_id
    return resolve(survey.title, language, survey.default_language)


def format_date(day: date, language: str) -> str:
    return text("date", language, day=day.day, month=day.month, year=day.year, iso=day.isoformat())


def format_age(seconds: float, language: str) -> str:
    """Whole units, rounded down, never 0: "1 min", "3 h", "2 d"."""
    if seconds >= 86400:
        return text("age_days", language, n=int(seconds // 86400))
    if seconds >= 3600:
        return text("age_hours", language, n=int(seconds // 3600))
    return text("age_minutes", language, n=max(1, int(seconds // 60)))


def properties_text(properties: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}: {value}" for key, value in properties.items())


class SummaryBuilder:
    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.team = config.team
        self.language = config.defaults.language
        self.zone = ZoneInfo(config.team.timezone)

    def t(self, key: str, **params: object) -> str:
        return text(key, self.language, **params)

    async def build(
        self, period: ReportPeriod, *, now: float, late: bool, chart: bool = True
    ) -> tuple[TeamDocument, bytes | None]:
        weekly = period.kind == WEEKLY
        as_of = period.scheduled_at
        windows = [timedelta(days=7)] if weekly else [timedelta(days=d) for d in self.team.windows]
        trends = {
            window: await rolling_trends(
                self.store,
                self.config.surveys,
                now=as_of,
                window=window,
                min_n=self.team.min_n,
                timezone=self.team.timezone,
            )
            for window in windows
        }
        if weekly:
            title = self.t(
                "summary_title_weekly",
                week=(period.day - timedelta(days=7)).isocalendar().week,
                start=format_date(period.day - timedelta(days=7), self.language),
                end=format_date(period.day - timedelta(days=1), self.language),
            )
            # The ISO week of the title, Monday 00:00 to Sunday 24:00 local time, whenever posted.
            monday = datetime.combine(period.day, datetime.min.time(), self.zone)
            counts_start = (monday - timedelta(days=7)).timestamp()
            counts_end = monday.timestamp()
        else:
            title = self.t("summary_title_daily", date=format_date(period.day, self.language))
            midnight = datetime.combine(period.day, datetime.min.time(), self.zone)
            counts_start = (midnight - timedelta(days=1)).timestamp()
            counts_end = midnight.timestamp()
        note = None
        if late:
            note = self.t(
                "summary_late",
                time=datetime.fromtimestamp(now, self.zone).strftime("%H:%M"),
                scheduled=datetime.fromtimestamp(as_of, self.zone).strftime("%H:%M"),
            )
        sections = [await self._counts(counts_start, counts_end, weekly)]
        sections += await self._surveys(trends, weekly, as_of)
        sections += await self._followups(now, counts_start, counts_end, weekly)
        sections += await self._comments(counts_start, counts_end, weekly)
        document = TeamDocument(title, tuple(s for s in sections if s.lines), note)
        if not chart:
            return document, None
        return document, await self.chart(period.day - timedelta(days=1), trends)

    def in_config_order(self, rows: list[TrendRow]) -> list[TrendRow]:
        order = {survey_id: index for index, survey_id in enumerate(self.config.surveys)}
        return sorted(rows, key=lambda r: (order.get(r.survey, len(order)), r.group or ""))

    async def _counts(self, start: float, end: float, weekly: bool) -> Section:
        aggregates = await self.store.reports.aggregates(start, end)
        answers = comments = detractors = 0
        for (survey_id, _group), aggregate in aggregates.items():
            answers += aggregate.responses
            comments += aggregate.comments
            survey = self.config.surveys.get(survey_id)
            headline = survey.headline if survey else None
            if headline is None or headline.id not in aggregate.questions:
                continue
            limit = detractor_threshold(self.team.alerts, headline.kind.value)
            histogram = aggregate.questions[headline.id].histogram
            detractors += sum(c for v, c in histogram.items() if limit is not None and v <= limit)
        key = "summary_week_counts" if weekly else "summary_yesterday"
        line = self.t(key, answers=answers, detractors=detractors, comments=comments)
        return Section(None, (Line(line),))

    async def _surveys(
        self, trends: Mapping[timedelta, list[TrendRow]], weekly: bool, as_of: float
    ) -> list[Section]:
        longest = max(trends)
        sections: list[Section] = []
        for row in self.in_config_order(trends[longest]):
            if row.current.responses == 0 and row.previous.responses == 0:
                continue
            lines: list[Line] = []
            for window, rows in trends.items():
                match = next((r for r in rows if r.survey == row.survey), None)
                label = self.t("report_window", days=f"{window.days:g}")
                body = headline_line(match, self.language) if match else self.t("report_no_answers")
                lines.append(Line(body, label=label))
            parts = [q for q in row.questions if q.current.value is not None]
            if len(parts) > 1:
                lines.append(
                    Line(
                        " · ".join(
                            format_score(q, self.language)
                            if not q.enough
                            else f"{metric_label(q.kind, q.question_id)} "
                            f"{format_value(q.kind, q.current.value)}"
                            for q in parts
                        ),
                        label=self.t("summary_parts", days=f"{longest.days:g}"),
                    )
                )
            if weekly:
                lines += await self._by_touchpoint(row.survey, as_of, longest)
            sections.append(
                Section(survey_title(self.config.surveys, row.survey, self.language), tuple(lines))
            )
        if not sections:
            sections.append(
                Section(None, (Line(self.t("summary_no_answers", days=f"{longest.days:g}")),))
            )
        return sections

    async def _by_touchpoint(self, survey_id: str, as_of: float, window: timedelta) -> list[Line]:
        rows = await rolling_trends(
            self.store,
            self.config.surveys,
            now=as_of,
            window=window,
            min_n=self.team.min_n,
            by="touchpoint",
            survey_id=survey_id,
            timezone=self.team.timezone,
        )
        if len(rows) < 2:
            return []
        return [
            Line(headline_line(r, self.language), label=r.group or "–")
            for r in rows
            if r.current.responses
        ]

    async def _followups(self, now: float, start: float, end: float, weekly: bool) -> list[Section]:
        sections = []
        if weekly:
            created, resolved = await self.store.followups.counts_between(start, end)
            still_open = await self.store.followups.count_unresolved()
            if created or resolved or still_open:
                line = self.t(
                    "summary_followups_week", created=created, resolved=resolved, open=still_open
                )
                sections.append(Section(None, (Line(line),)))
        overdue_after = self.team.followup_overdue_after.total_seconds()
        cutoff = now - overdue_after
        overdue = await self.store.followups.unresolved(created_before=cutoff, limit=OVERDUE_SHOWN)
        if overdue:
            total = await self.store.followups.count_unresolved(created_before=cutoff)
            lines = []
            for followup in overdue:
                parts = [f"#{followup.id}", score_text(followup), followup.touchpoint]
                if followup.properties:
                    parts.append(properties_text(followup.properties))
                parts.append(followup_status(followup, self.language, self.zone))
                parts.append(
                    self.t(
                        "summary_open_for", age=format_age(now - followup.created_at, self.language)
                    )
                )
                lines.append(Line(" · ".join(parts)))
            if total > len(overdue):
                lines.append(Line(self.t("summary_more", count=total - len(overdue))))
            heading = self.t(
                "summary_overdue",
                age=format_age(overdue_after, self.language),
                count=total,
            )
            sections.append(Section(heading, tuple(lines)))
        return sections

    async def _comments(self, start: float, end: float, weekly: bool) -> list[Section]:
        comments = await self.store.reports.comments(start, end, limit=8 if weekly else 5)
        if not comments:
            return []
        heading = self.t("summary_comments_week" if weekly else "summary_comments_yesterday")
        return [Section(heading, tuple(self._comment_line(c) for c in comments))]

    def _comment_line(self, comment: Comment) -> Line:
        label_parts = []
        if comment.scores:
            label_parts.append(scores_text(comment.scores))
        label_parts.append(comment.touchpoint)
        if comment.properties:
            label_parts.append(properties_text(comment.properties))
        return Line(comment.text, label=" · ".join(label_parts), quote=True)

    async def chart_data(
        self,
        last_day: date,
        survey_ids: list[str],
        *,
        days: int,
        smooth: int,
        filters: Mapping[str, str] | None = None,
    ) -> list[ChartSeries]:
        series = []
        for survey_id in survey_ids[:CHART_SURVEYS]:
            survey = self.config.surveys.get(survey_id)
            if survey is None:
                continue
            found = await chart_series(
                self.store,
                survey,
                survey_title(self.config.surveys, survey_id, self.language),
                last_day=last_day,
                timezone=self.team.timezone,
                days=days,
                smooth=smooth,
                min_n=self.team.min_n,
                filters=filters,
            )
            if found is not None:
                series.append(found)
        return series

    def chart_labels(self, days: int, smooth: int) -> dict[str, str]:
        return {
            "current": self.t("chart_current", days=days),
            "previous": self.t("chart_previous", days=days),
            "answers": self.t("chart_answers"),
            "empty": self.t("chart_empty"),
            "title": self.t("chart_title", smooth=smooth, timezone=self.team.timezone),
        }

    async def chart(self, last_day: date, trends: Mapping[timedelta, list[TrendRow]]) -> bytes:
        days = max(self.team.windows)
        smooth = min(self.team.windows)
        surveys = [
            r.survey
            for r in self.in_config_order(trends[max(trends)])
            if r.current.responses or r.previous.responses
        ]
        series = await self.chart_data(last_day, surveys, days=days, smooth=smooth)
        labels = self.chart_labels(days, smooth)
        return await chart_png(series, title=labels["title"], labels=labels)
