"""Who counts as a detractor: the answers that alert the team (`[team.alerts]`, a question's
own `alert_at_most` or `alert_on`). Used by the alerts, the summaries' detractor counts and
the `response.detractor` webhook alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from conversations.questions import Question, QuestionKind

if TYPE_CHECKING:
    from bot.config import AlertRules


def detractor_threshold(rules: AlertRules, kind: str) -> int | None:
    """The highest answer that alerts, for NPS, CSAT and CES; None for other questions."""
    return {"nps": rules.nps_at_most, "csat": rules.csat_at_most, "ces": rules.ces_at_most}.get(
        kind
    )


def alert_threshold(rules: AlertRules, question: Question) -> int | None:
    """The highest answer to `question` that alerts: its own, else the team's for its kind."""
    if question.alert_at_most is not None:
        return question.alert_at_most
    return detractor_threshold(rules, question.kind.value)


def raises_alert(rules: AlertRules, question: Question, value: object) -> bool:
    """Whether this answer tells the team at once: a scale at or below its threshold, or the
    yes/no answer its question alerts on."""
    if question.kind is QuestionKind.YES_NO:
        return question.alert_on is not None and value is question.alert_on
    limit = alert_threshold(rules, question)
    return (
        limit is not None
        and isinstance(value, int)
        and not isinstance(value, bool)
        and value <= limit
    )
