"""Rolling scores per survey (and breakdown), with n, margin of error and response rate.

`rolling_trends` adds the previous window of the same length and tells a clear change from
noise with a two-sample test of the kind of score (`conversations.scoring.difference`).

A window of N days is N local days in the team's time zone, 23 or 25 hours long across a DST
change, ending with the day before the local day of `now`. Scheduled reports pass their time, so
their windows end with yesterday; live views (dashboard, `palaute report`, Slack) pass
`live_as_of(now)`, so theirs end with today so far. Text and chart of each use the same days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from conversations import scoring
from conversations.questions import QuestionKind
from conversations.survey import Survey
from storage.reports import QuestionAggregate, SurveyAggregate
from storage.store import Store


@dataclass(frozen=True)
class QuestionScore:
    question_id: str
    kind: str
    n: int
    value: float | None
    margin_of_error: float | None
    score: scoring.Score | None = None
    """The full score, with the counts a two-sample comparison needs."""

    @property
    def low(self) -> float | None:
        interval = self.score.interval if self.score is not None else None
        return interval.low if interval else None

    @property
    def high(self) -> float | None:
        interval = self.score.interval if self.score is not None else None
        return interval.high if interval else None


@dataclass(frozen=True)
class ScoreRow:
    survey: str
    group: str | None
    n: int
    nps: float | None
    csat: float | None
    ces: float | None
    margin_of_error: float | None
    """Of the survey's headline score (NPS points, CSAT percentage points or CES scale points)."""
    response_rate: float | None
    comment_rate: float | None
    invitations_sent: int
    questions: tuple[QuestionScore, ...]
    headline_question: str | None = None
    """The question `n`, the margin and trends refer to."""
    responses: int = 0

    @property
    def headline_score(self) -> QuestionScore | None:
        return next((q for q in self.questions if q.question_id == self.headline_question), None)

    def as_json(self) -> dict[str, Any]:
        headline = self.headline_score
        return {
            "survey": self.survey,
            "group": self.group,
            "n": self.n,
            "nps": _round(self.nps),
            "csat": _round(self.csat),
            "ces": _round(self.ces, 2),
            "margin_of_error": _round(self.margin_of_error),
            "low": _round(headline.low if headline else None),
            "high": _round(headline.high if headline else None),
            "response_rate": _round(self.response_rate, 3),
            "comment_rate": _round(self.comment_rate, 3),
            "invitations_sent": self.invitations_sent,
            "responses": self.responses,
            "headline": self.headline_question,
            "questions": [
                {
                    "question": q.question_id,
                    "kind": q.kind,
                    "n": q.n,
                    "value": _round(q.value, 2),
                    "margin_of_error": _round(q.margin_of_error, 2),
                    "low": _round(q.low, 2),
                    "high": _round(q.high, 2),
                }
                for q in self.questions
            ],
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def question_score(aggregate: QuestionAggregate) -> QuestionScore:
    histogram = aggregate.histogram
    n = sum(histogram.values())
    if aggregate.kind == QuestionKind.NPS:
        nps = scoring.nps_from_histogram(histogram)
        return QuestionScore(
            aggregate.question_id, aggregate.kind, n, nps.nps, nps.margin_of_error, nps
        )
    if aggregate.kind == QuestionKind.CSAT:
        csat = scoring.csat_score(sum(c for v, c in histogram.items() if v >= 4), n)
        return QuestionScore(
            aggregate.question_id, aggregate.kind, n, csat.percent, csat.margin_of_error, csat
        )
    if aggregate.kind == QuestionKind.YES_NO:
        share = scoring.csat_score(histogram.get(1, 0), n)
        return QuestionScore(
            aggregate.question_id, aggregate.kind, n, share.percent, share.margin_of_error, share
        )
    total = sum(v * c for v, c in histogram.items())
    squares = sum(v * v * c for v, c in histogram.items())
    mean = scoring.mean_from_summary(n, total, squares)
    return QuestionScore(
        aggregate.question_id, aggregate.kind, n, mean.mean, mean.margin_of_error, mean
    )


def score_row(survey: Survey | None, aggregate: SurveyAggregate) -> ScoreRow:
    questions = tuple(
        question_score(q) for q in aggregate.questions.values() if q.kind != QuestionKind.CHOICE
    )
    if survey is not None:
        order = {q.id: i for i, q in enumerate(survey.questions)}
        questions = tuple(sorted(questions, key=lambda q: order.get(q.question_id, 999)))
    by_kind: dict[str, QuestionScore] = {}
    for question in questions:
        by_kind.setdefault(question.kind, question)
    headline = next((by_kind[k] for k in ("nps", "csat", "ces") if k in by_kind), None)
    if headline is None and questions:
        headline = questions[0]
    answered = aggregate.invitations_answered
    responses = aggregate.responses
    return ScoreRow(
        survey=aggregate.survey_id,
        group=aggregate.group,
        n=headline.n if headline else 0,
        nps=by_kind["nps"].value if "nps" in by_kind else None,
        csat=by_kind["csat"].value if "csat" in by_kind else None,
        ces=by_kind["ces"].value if "ces" in by_kind else None,
        margin_of_error=headline.margin_of_error if headline else None,
        response_rate=answered / aggregate.invitations_sent if aggregate.invitations_sent else None,
        comment_rate=aggregate.comments / responses if responses else None,
        invitations_sent=aggregate.invitations_sent,
        questions=questions,
        headline_question=headline.question_id if headline else None,
        responses=responses,
    )


def local_midnight(day: date, zone: ZoneInfo) -> float:
    """The moment a local day begins (a DST change never falls at midnight in the tz database's
    zones that palaute is used in, and if one did, the first moment of the day is taken)."""
    return datetime.combine(day, datetime.min.time(), zone).timestamp()


@dataclass(frozen=True)
class Period:
    """[start, end) in epoch seconds; for a whole-day window, the local days it covers."""

    start: float
    end: float
    first_day: date | None = None
    last_day: date | None = None


def live_as_of(now: float, timezone: str) -> float:
    """The `now` of a live view: the start of tomorrow, so that its windows end with today."""
    zone = ZoneInfo(timezone)
    return local_midnight(datetime.fromtimestamp(now, zone).date() + timedelta(days=1), zone)


def window_periods(now: float, window: timedelta, timezone: str) -> tuple[Period, Period]:
    """The window as of `now` and the window of the same length just before it.

    Whole days are local days ending the day before `now`'s: 7 days at any time on Monday
    30.11. are Monday 23.11. 00:00 to Sunday 29.11. 24:00. A window of hours (`12h`) is the
    hours up to `now`.
    """
    seconds = window.total_seconds()
    if seconds % 86400:
        return Period(now - seconds, now), Period(now - 2 * seconds, now - seconds)
    zone = ZoneInfo(timezone)
    days = int(seconds // 86400)
    today = datetime.fromtimestamp(now, zone).date()
    first = today - timedelta(days=days)
    before = first - timedelta(days=days)
    return (
        Period(
            local_midnight(first, zone), local_midnight(today, zone), first, today - timedelta(1)
        ),
        Period(
            local_midnight(before, zone), local_midnight(first, zone), before, first - timedelta(1)
        ),
    )


async def rolling_scores(
    store: Store,
    surveys: Mapping[str, Survey],
    *,
    now: float,
    window: timedelta,
    by: str | None = None,
    survey_id: str | None = None,
    timezone: str = "UTC",
) -> list[ScoreRow]:
    """Scores over the window as of `now` (`window_periods`: whole days end with yesterday)."""
    period, _ = window_periods(now, window, timezone)
    aggregates = await store.reports.aggregates(
        period.start, period.end, by=by, survey_id=survey_id
    )
    rows = [
        score_row(surveys.get(survey), aggregate)
        for (survey, _group), aggregate in aggregates.items()
    ]
    return sorted(rows, key=lambda r: (r.survey, r.group or ""))


class Trend(StrEnum):
    UP = "up"
    DOWN = "down"
    NO_CLEAR_CHANGE = "no clear change"
    TOO_FEW = "too few answers"
    """One of the two windows has fewer answers than `min_n`: nothing to compare."""


@dataclass(frozen=True)
class QuestionTrend:
    current: QuestionScore
    previous: QuestionScore | None
    min_n: int

    @property
    def question_id(self) -> str:
        return self.current.question_id

    @property
    def kind(self) -> str:
        return self.current.kind

    @property
    def enough(self) -> bool:
        return self.current.n >= self.min_n and self.current.value is not None

    @property
    def change(self) -> float | None:
        if self.previous is None or self.current.value is None or self.previous.value is None:
            return None
        return self.current.value - self.previous.value

    @property
    def difference(self) -> scoring.Difference | None:
        """The change with its 95 % interval, from the two-sample test of the question's kind."""
        previous = self.previous
        if previous is None or self.current.score is None or previous.score is None:
            return None
        return scoring.difference(self.current.score, previous.score)

    @property
    def trend(self) -> Trend:
        previous = self.previous
        if not self.enough or previous is None or previous.n < self.min_n:
            return Trend.TOO_FEW
        difference = self.difference
        if difference is None or not difference.clear:
            return Trend.NO_CLEAR_CHANGE
        return Trend.UP if difference.interval.low > 0 else Trend.DOWN

    def as_json(self) -> dict[str, Any]:
        digits = 1 if self.kind in ("nps", "csat", "yes_no") else 2
        difference = self.difference
        return {
            "question": self.question_id,
            "kind": self.kind,
            "n": self.current.n,
            "value": _round(self.current.value, digits),
            "margin_of_error": _round(self.current.margin_of_error, digits),
            "low": _round(self.current.low, digits),
            "high": _round(self.current.high, digits),
            "enough_answers": self.enough,
            "previous": None
            if self.previous is None
            else {
                "n": self.previous.n,
                "value": _round(self.previous.value, digits),
                "margin_of_error": _round(self.previous.margin_of_error, digits),
                "low": _round(self.previous.low, digits),
                "high": _round(self.previous.high, digits),
            },
            "change": _round(self.change, digits),
            "change_low": _round(difference.interval.low, digits) if difference else None,
            "change_high": _round(difference.interval.high, digits) if difference else None,
            "trend": self.trend.value,
        }


@dataclass(frozen=True)
class TrendRow:
    """One survey (or one group of a breakdown) now and in the window before."""

    current: ScoreRow
    previous: ScoreRow
    window: timedelta
    min_n: int
    questions: tuple[QuestionTrend, ...]
    period: Period | None = None

    @property
    def survey(self) -> str:
        return self.current.survey

    @property
    def group(self) -> str | None:
        return self.current.group

    @property
    def headline(self) -> QuestionTrend | None:
        wanted = self.current.headline_question or self.previous.headline_question
        return next((q for q in self.questions if q.question_id == wanted), None)

    @property
    def enough(self) -> bool:
        return self.current.n >= self.min_n

    def as_json(self) -> dict[str, Any]:
        data = self.current.as_json()
        headline = self.headline
        previous = self.previous.as_json()
        period = self.period
        data.update(
            window_days=self.window.total_seconds() / 86400,
            first_day=period.first_day.isoformat() if period and period.first_day else None,
            last_day=period.last_day.isoformat() if period and period.last_day else None,
            enough_answers=self.enough,
            previous={
                k: previous[k]
                for k in (
                    "n",
                    "nps",
                    "csat",
                    "ces",
                    "margin_of_error",
                    "low",
                    "high",
                    "response_rate",
                )
            },
            change=headline.as_json()["change"] if headline else None,
            trend=headline.trend.value if headline else Trend.TOO_FEW.value,
            questions=[q.as_json() for q in self.questions],
        )
        return data


def trend_row(
    current: ScoreRow,
    previous: ScoreRow,
    window: timedelta,
    min_n: int,
    period: Period | None = None,
) -> TrendRow:
    before = {q.question_id: q for q in previous.questions}
    now = {q.question_id: q for q in current.questions}
    questions = [QuestionTrend(q, before.get(q.question_id), min_n) for q in current.questions]
    # A question answered only in the previous window is still shown, with n = 0 now.
    questions += [
        QuestionTrend(QuestionScore(q.question_id, q.kind, 0, None, None), q, min_n)
        for q in previous.questions
        if q.question_id not in now
    ]
    return TrendRow(current, previous, window, min_n, tuple(questions), period)


async def rolling_trends(
    store: Store,
    surveys: Mapping[str, Survey],
    *,
    now: float,
    window: timedelta,
    min_n: int,
    by: str | None = None,
    survey_id: str | None = None,
    filters: Mapping[str, str] | None = None,
    timezone: str = "UTC",
) -> list[TrendRow]:
    """Scores over the window as of `now` next to the same-length window just before it
    (`window_periods`: whole local days in `timezone` end with yesterday)."""
    period, before = window_periods(now, window, timezone)
    current = await store.reports.aggregates(
        period.start, period.end, by=by, survey_id=survey_id, filters=filters
    )
    previous = await store.reports.aggregates(
        before.start, before.end, by=by, survey_id=survey_id, filters=filters
    )
    rows = []
    for key in sorted(set(current) | set(previous), key=lambda k: (k[0], k[1] or "")):
        survey = surveys.get(key[0])
        empty = SurveyAggregate(key[0], key[1])
        rows.append(
            trend_row(
                score_row(survey, current.get(key, empty)),
                score_row(survey, previous.get(key, empty)),
                window,
                min_n,
                period,
            )
        )
    return rows
