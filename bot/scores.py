"""Rolling scores per survey (and breakdown), with n, margin of error and response rate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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

    def as_json(self) -> dict[str, Any]:
        return {
            "survey": self.survey,
            "group": self.group,
            "n": self.n,
            "nps": _round(self.nps),
            "csat": _round(self.csat),
            "ces": _round(self.ces, 2),
            "margin_of_error": _round(self.margin_of_error),
            "response_rate": _round(self.response_rate, 3),
            "comment_rate": _round(self.comment_rate, 3),
            "invitations_sent": self.invitations_sent,
            "questions": [
                {
                    "question": q.question_id,
                    "kind": q.kind,
                    "n": q.n,
                    "value": _round(q.value, 2),
                    "margin_of_error": _round(q.margin_of_error, 2),
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
        nps = scoring.nps_from_values(v for v, c in histogram.items() for _ in range(c))
        return QuestionScore(aggregate.question_id, aggregate.kind, n, nps.nps, nps.margin_of_error)
    if aggregate.kind == QuestionKind.CSAT:
        csat = scoring.csat_score(sum(c for v, c in histogram.items() if v >= 4), n)
        return QuestionScore(
            aggregate.question_id, aggregate.kind, n, csat.percent, csat.margin_of_error
        )
    if aggregate.kind == QuestionKind.YES_NO:
        share = scoring.csat_score(histogram.get(1, 0), n)
        return QuestionScore(
            aggregate.question_id, aggregate.kind, n, share.percent, share.margin_of_error
        )
    total = sum(v * c for v, c in histogram.items())
    squares = sum(v * v * c for v, c in histogram.items())
    mean = scoring.mean_from_summary(n, total, squares)
    return QuestionScore(aggregate.question_id, aggregate.kind, n, mean.mean, mean.margin_of_error)


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
    return ScoreRow(
        survey=aggregate.survey_id,
        group=aggregate.group,
        n=headline.n if headline else 0,
        nps=by_kind["nps"].value if "nps" in by_kind else None,
        csat=by_kind["csat"].value if "csat" in by_kind else None,
        ces=by_kind["ces"].value if "ces" in by_kind else None,
        margin_of_error=headline.margin_of_error if headline else None,
        response_rate=answered / aggregate.invitations_sent if aggregate.invitations_sent else None,
        comment_rate=aggregate.comments / answered if answered else None,
        invitations_sent=aggregate.invitations_sent,
        questions=questions,
    )


async def rolling_scores(
    store: Store,
    surveys: Mapping[str, Survey],
    *,
    now: float,
    window: timedelta,
    by: str | None = None,
    survey_id: str | None = None,
) -> list[ScoreRow]:
    start = now - window.total_seconds()
    aggregates = await store.reports.aggregates(start, now + 1, by=by, survey_id=survey_id)
    rows = [
        score_row(surveys.get(survey), aggregate)
        for (survey, _group), aggregate in aggregates.items()
    ]
    return sorted(rows, key=lambda r: (r.survey, r.group or ""))
