"""Seeded synthetic answers written through the repositories, plus the raw facts they came from.

The score tests recompute every number from `Fact`s in plain Python and compare with the SQL.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from conversations.builtin import builtin_surveys
from conversations.questions import AnswerValue
from storage.invitations import NewInvitation
from storage.records import InvitationState
from storage.store import Store

DAY = 86400.0
SURVEYS = builtin_surveys()


@dataclass
class Fact:
    """One invitation as generated: what was sent when, and what was answered when."""

    invitation_id: int
    survey_id: str
    touchpoint: str
    channel: str
    properties: dict[str, str]
    sent_at: float
    answered: bool
    answers: dict[str, tuple[AnswerValue | None, float]] = field(default_factory=dict)
    """question id → (value or None when skipped, answered_at)."""
    started_at: float | None = None
    """When the invitation was marked answered (`invitations.started_at`)."""


def _score(rng: random.Random, kind: str, drift: float) -> int:
    if kind == "nps":
        return max(0, min(10, round(rng.gauss(7.2 + drift, 2.4))))
    if kind == "csat":
        return max(1, min(5, round(rng.gauss(3.9 + drift / 3, 1.0))))
    if kind == "ces":
        return max(1, min(7, round(rng.gauss(5.0 + drift / 2, 1.4))))
    return max(1, min(5, round(rng.gauss(3.8 + drift / 3, 0.9))))


async def generate(
    store: Store, *, seed: int, now: float, count: int = 300, days: float = 70
) -> list[Fact]:
    rng = random.Random(seed)
    facts: list[Fact] = []
    async with store.database.transaction() as connection:
        for index in range(count):
            survey_id = rng.choice(["nps", "nps", "csat", "ces", "event"])
            survey = SURVEYS[survey_id]
            channel = rng.choice(["telegram", "slack"])
            touchpoint = rng.choice(["visit", "order"])
            properties = {}
            if rng.random() < 0.8:
                properties["store"] = rng.choice(["Kamppi", "Itis", "Sello"])
            if survey_id == "event":
                properties["event_name"] = "Kirppis"
            sent_at = now - rng.uniform(0, days * DAY)
            contact = await store.contacts.ensure(
                connection, channel=channel, address=f"c{index}", now=sent_at
            )
            invitation_id = await store.invitations.insert(
                connection,
                NewInvitation(
                    touchpoint, survey_id, contact, channel, sent_at, properties,
                    InvitationState.SENT, None, sent_at, None, None,
                ),
                now=sent_at,
            )  # fmt: skip
            fact = Fact(invitation_id, survey_id, touchpoint, channel, properties, sent_at, False)
            facts.append(fact)
            if rng.random() < 0.25:
                continue  # never answered
            invitation = await store.invitations.get(invitation_id)
            assert invitation is not None
            at = sent_at + rng.uniform(60, 3 * DAY)
            drift = 1.5 if sent_at > now - 10 * DAY else 0.0
            abandoned = rng.random() < 0.2
            for position, question in enumerate(survey.questions):
                if abandoned and position > 0:
                    break
                value: AnswerValue | None
                if question.kind.value == "text":
                    if question.id == "fix" and int(fact.answers["nps"][0] or 0) > 6:
                        continue
                    value = rng.choice([None, None, f"comment {index} {question.id}"])
                else:
                    value = _score(rng, question.kind.value, drift)
                await store.answers.insert(connection, invitation, channel, question, value, now=at)
                fact.answers[question.id] = (value, at)
                at += rng.uniform(5, 120)
            fact.answered = True
            fact.started_at = at
            await store.invitations.transition(
                connection, invitation_id, InvitationState.ANSWERING, now=at
            )
            if not abandoned:
                await store.invitations.transition(
                    connection, invitation_id, InvitationState.COMPLETED, now=at
                )
    for fact in facts:
        await store.invitations.mark_delivered(fact.invitation_id, now=fact.sent_at)
    return facts


def group_of(fact: Fact, by: str | None) -> str | None:
    if by is None:
        return None
    if by == "touchpoint":
        return fact.touchpoint
    if by == "channel":
        return fact.channel
    return fact.properties.get(by.removeprefix("property:"))


def matches(fact: Fact, filters: dict[str, Any]) -> bool:
    return all(group_of(fact, dimension) == value for dimension, value in filters.items())
