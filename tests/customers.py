"""Simulated customers for the fault tests: each answers a 3-question survey as it arrives."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from tests.fakes.telegram_api import FakeMessage, FakeTelegram, FakeUser

STORM = """
[surveys.storm]
title = "Three questions"
[[surveys.storm.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
[[surveys.storm.questions]]
id = "why"
type = "text"
text = "What is the main reason for your score?"
[[surveys.storm.questions]]
id = "csat"
type = "csat"
text = "How satisfied were you with our service?"
[[surveys.storm.thanks]]
text = "Thank you for your feedback!"

[touchpoints.storm]
survey = "storm"
"""
QUESTIONS = (
    "How likely are you to recommend us?",
    "What is the main reason for your score?",
    "How satisfied were you with our service?",
    "Thank you for your feedback!",
)
"""What a customer sees after 0, 1, 2 and 3 answers."""


@dataclass
class Customer:
    user: FakeUser
    nps: int
    why: str
    csat: int
    given: list[str] = field(default_factory=list)
    """Answers given so far, in order (nps, why, csat)."""
    acknowledged: int = 0
    """How many of them the customer saw accepted: the next question or the thanks arrived."""

    @property
    def expected(self) -> dict[str, object]:
        return {"nps": self.nps, "why": self.why, "csat": self.csat}


def first_lines(fake: FakeTelegram, chat: int) -> list[str]:
    return [(m.text or "").split("\n")[0] for m in fake.sent_messages(chat)]


def newest_question(fake: FakeTelegram, customer: Customer) -> tuple[int, FakeMessage] | None:
    """Which of QUESTIONS the customer sees last, and its message."""
    for message in reversed(fake.sent_messages(customer.user.id)):
        for index, text in enumerate(QUESTIONS):
            if (message.text or "").startswith(text):
                return index, message
    return None


async def answer_as_they_come(fake: FakeTelegram, customers: list[Customer]) -> None:
    """Each customer answers the next question as soon as it arrives (until cancelled)."""
    while True:
        for customer in customers:
            seen = newest_question(fake, customer)
            if seen is None:
                continue
            index, message = seen
            customer.acknowledged = max(customer.acknowledged, index)
            if index != len(customer.given) or index >= 3:
                continue
            if index == 1:
                fake.push_text(customer.user, customer.why)
                customer.given.append(customer.why)
                continue
            value = str(customer.nps if index == 0 else customer.csat)
            fake.push_callback(customer.user, message, message.callback_data_for(value))
            customer.given.append(value)
        await asyncio.sleep(0.01)


def collapse(lines: list[str]) -> list[str]:
    """Consecutive copies of one message as one (a send retried after a timeout)."""
    return [line for i, line in enumerate(lines) if i == 0 or lines[i - 1] != line]
