"""How a follow-up reads: its score ("NPS 3", "parking no") and its state (who has it, since
when), the same in alerts, summaries and the dashboard."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.team.reports.format import metric_label
from bot.texts import text
from conversations.questions import QuestionKind
from storage.followups import Followup, FollowupState


def local_time(moment: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(moment, zone).strftime("%d.%m. %H:%M")


def score_text(followup: Followup, language: str = "en") -> str:
    """'NPS 3', 'CSAT 2', 'CES 1', or the question's id and answer: 'during 1', 'parking no'."""
    if followup.score is None or followup.score_kind is None:
        return "–"
    label = metric_label(followup.score_kind, followup.question_id or "")
    if followup.score_kind == QuestionKind.YES_NO.value:
        return f"{label} {text('yes' if followup.score else 'no', language)}"
    return f"{label} {followup.score}"


def followup_status(followup: Followup, language: str, zone: ZoneInfo) -> str:
    state = followup.state
    if state is FollowupState.RESOLVED:
        assert followup.resolved_at is not None
        return text(
            "followup_resolved",
            language,
            owner=followup.resolved_by or "?",
            time=local_time(followup.resolved_at, zone),
        )
    if state is FollowupState.CLAIMED:
        assert followup.claimed_at is not None
        return text(
            "followup_claimed",
            language,
            owner=followup.owner or "?",
            time=local_time(followup.claimed_at, zone),
        )
    return text("followup_open", language)
