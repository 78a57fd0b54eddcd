"""Scores as words: "NPS +23 ±9", "NPS -100 [-100, -48]", "no clear change", "too few answers".

Shared by the terminal report, the team summaries, the alerts and the dashboard so that a
number reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.team.scores import QuestionScore, QuestionTrend, ScoreRow, Trend, TrendRow
from bot.texts import text

_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
_PERCENT_KINDS = ("csat", "yes_no")


def metric_label(kind: str, question_id: str = "") -> str:
    """NPS, CSAT, CES, or the question id of a rating or yes/no question."""
    return _LABELS.get(kind, question_id or kind)


def scores_text(scores: Sequence[tuple[str, str, int]]) -> str:
    """The scores one response gave: "NPS 2", or an event's "before 4 · during 1 · after 2"."""
    return " · ".join(
        f"{metric_label(kind, question_id)} {value}" for question_id, kind, value in scores
    )


def format_value(kind: str, value: float | None) -> str:
    if value is None:
        return "–"
    if kind == "nps":
        return f"{value:+.0f}"
    if kind in _PERCENT_KINDS:
        return f"{value:.0f}%"
    return f"{value:.1f}"


def format_margin(kind: str, margin: float | None) -> str:
    if margin is None:
        return ""
    if kind == "nps":
        return f"±{margin:.0f}"
    if kind in _PERCENT_KINDS:
        return f"±{margin:.0f} pp"
    return f"±{margin:.1f}"


def format_uncertainty(score: QuestionScore) -> str:
    """'±9' when the interval is symmetric around the score as shown, else the interval itself:
    all detractors at n = 10 are NPS -100 with [-100, -48], which '±26' would misstate."""
    kind, value, low, high = score.kind, score.value, score.low, score.high
    if value is None or low is None or high is None:
        return format_margin(kind, score.margin_of_error)
    digits = 0 if kind == "nps" or kind in _PERCENT_KINDS else 1
    if round(high - value, digits) == round(value - low, digits):
        return format_margin(kind, score.margin_of_error)
    return f"[{format_value(kind, low)}, {format_value(kind, high)}]".replace("+", "")


def format_shown(score: QuestionScore) -> str:
    """The value with its uncertainty: '+23 ±9', '100% [72%, 100%]'."""
    return f"{format_value(score.kind, score.value)} {format_uncertainty(score)}".strip()


def score_row_headline(row: ScoreRow) -> str | None:
    """A live score row's headline as 'NPS +23 ±9', 'CES 2.4 ±0.3'; None without a score."""
    headline = row.headline_score
    if headline is None or headline.value is None:
        headline = next((q for q in row.questions if q.value is not None), None)
    if headline is None:
        return None
    return f"{metric_label(headline.kind, headline.question_id)} {format_shown(headline)}"


def format_change(kind: str, change: float | None) -> str:
    if change is None:
        return "–"
    if kind == "nps":
        return f"{change:+.0f}"
    if kind in _PERCENT_KINDS:
        return f"{change:+.0f} pp"
    return f"{change:+.1f}"


def format_score(question: QuestionTrend, language: str) -> str:
    """'NPS +23 ±9 (n = 120)', or the too-few-answers wording instead of a misleading number."""
    current = question.current
    label = metric_label(question.kind, question.question_id)
    if not question.enough:
        return text("report_too_few", language, label=label, n=current.n, min_n=question.min_n)
    return text("report_score", language, label=label, value=format_shown(current), n=current.n)


def format_trend(question: QuestionTrend, language: str) -> str:
    """'▲ +12 from +11', 'no clear change (+18 before)' or 'too few answers to compare'."""
    trend = question.trend
    previous = question.previous
    before = format_value(question.kind, previous.value if previous else None)
    change = format_change(question.kind, question.change)
    if trend is Trend.UP:
        return text("report_trend_up", language, change=change, previous=before)
    if trend is Trend.DOWN:
        return text("report_trend_down", language, change=change, previous=before)
    if trend is Trend.NO_CLEAR_CHANGE:
        return text("report_trend_flat", language, previous=before)
    return text("report_trend_too_few", language)


def format_rate(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def headline_line(row: TrendRow, language: str) -> str:
    """One line per survey for summaries: score, trend, response and comment rates."""
    headline = row.headline
    if headline is None:
        return text("report_no_answers", language)
    parts = [format_score(headline, language)]
    if headline.enough:
        parts.append(format_trend(headline, language))
    if row.current.response_rate is not None:
        parts.append(
            text("report_response_rate", language, rate=format_rate(row.current.response_rate))
        )
    return " · ".join(parts)


def window_label(days: float, language: str) -> str:
    return text("report_window", language, days=f"{days:g}")
