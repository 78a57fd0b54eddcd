"""Detractor alerts: how an alert reads in the team channel, and what its buttons carry.

Pure functions; `bot.team.followups` decides when to post and update them. Who counts as a
detractor is bot.team.detractors; how a follow-up's score and state read, bot.team.reports.followup_text.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from bot.channels.base import Button, Incoming
from bot.team.document import Line, Section, TeamDocument
from bot.team.reports.followup_text import followup_status, local_time, score_text
from bot.texts import text
from conversations.localization import resolve
from conversations.survey import Survey
from storage.followups import Followup, FollowupMessage, FollowupState

FOLLOWUP_PREFIX = "f"
CLAIM = "claim"
RESOLVE = "resolve"
ACTIONS = (CLAIM, RESOLVE)


def followup_payload(followup_id: int, action: str) -> str:
    return f"{FOLLOWUP_PREFIX}:{followup_id}:{action}"


def parse_followup_payload(payload: str | None) -> tuple[int, str] | None:
    """(follow-up id, action) of an alert button; None for any other payload."""
    parts = (payload or "").split(":")
    if len(parts) != 3 or parts[0] != FOLLOWUP_PREFIX or parts[2] not in ACTIONS:
        return None
    if not parts[1].isdecimal():  # isdigit() takes '²', which int() refuses
        return None
    return int(parts[1]), parts[2]


def is_alert_message(message: FollowupMessage, incoming: Incoming) -> bool:
    """Whether `incoming` (a press or a reply) happened on this copy of an alert.

    Refs that are only unique per chat (Telegram message ids) must come from the alert's own
    chat; refs that name their chat ("C0123:1700000000.1") identify it anywhere.
    """
    if message.channel != incoming.channel or not message.message_ref:
        return False
    if incoming.message_ref != message.message_ref:
        return False
    return incoming.address == message.address or message.message_ref.startswith(
        f"{message.address}:"
    )


def contact_text(followup: Followup, survey: Survey | None, language: str) -> str:
    if survey is not None and survey.anonymous:
        return text("alert_anonymous", language)
    if followup.contact_channel and followup.contact_address:
        identity = f"{followup.contact_channel}:{followup.contact_address}"
    elif followup.contact_ref:
        identity = f"ref:{followup.contact_ref}"
    else:
        return text("alert_unknown_contact", language)
    if followup.contact_name:
        return f"{followup.contact_name} ({identity})"
    return identity


def alert_buttons(followup: Followup, language: str) -> tuple[tuple[Button, ...], ...]:
    state = followup.state
    if state is FollowupState.OPEN:
        return (
            (
                Button(text("button_claim", language), followup_payload(followup.id, CLAIM)),
                Button(text("button_resolve", language), followup_payload(followup.id, RESOLVE)),
            ),
        )
    if state is FollowupState.CLAIMED:
        return (
            (Button(text("button_resolve", language), followup_payload(followup.id, RESOLVE)),),
        )
    return ()


def alert_document(
    followup: Followup,
    survey: Survey | None,
    comments: Sequence[tuple[str, str]],
    *,
    language: str,
    zone: ZoneInfo,
    can_reply: bool = False,
) -> TeamDocument:
    """The alert as posted and as edited: `comments` are (question, free text) pairs."""
    title_survey = (
        resolve(survey.title, language, survey.default_language) if survey else followup.survey_id
    )
    facts = [
        Line(contact_text(followup, survey, language), label=text("alert_customer", language)),
        Line(followup.touchpoint, label=text("alert_touchpoint", language)),
    ]
    facts += [Line(str(value), label=str(key)) for key, value in followup.properties.items()]
    facts.append(
        Line(local_time(followup.created_at, zone), label=text("alert_answered", language))
    )
    comment_lines = tuple(Line(body, label=question, quote=True) for question, body in comments)
    if not comment_lines:
        comment_lines = (Line(text("alert_no_comment", language)),)
    status = [Line(followup_status(followup, language, zone))]
    if can_reply and followup.state is not FollowupState.RESOLVED:
        status.append(Line(text("alert_reply_hint", language)))
    return TeamDocument(
        title=text(
            "alert_title",
            language,
            score=score_text(followup, language),
            survey=title_survey,
            id=followup.id,
        ),
        sections=(
            Section(None, tuple(facts)),
            Section(text("alert_comment", language), comment_lines),
            Section(text("alert_status", language), tuple(status)),
        ),
        buttons=alert_buttons(followup, language),
    )
