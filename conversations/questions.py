"""Question types of a survey."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from conversations.conditions import Condition
from conversations.localization import LocalizedText

AnswerValue = int | bool | str


class QuestionKind(StrEnum):
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"
    RATING = "rating"
    YES_NO = "yes_no"
    CHOICE = "choice"
    TEXT = "text"


SCALE_KINDS = frozenset(
    {QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES, QuestionKind.RATING}
)

FIXED_SCALES: dict[QuestionKind, tuple[int, int]] = {
    QuestionKind.NPS: (0, 10),
    QuestionKind.CSAT: (1, 5),
    QuestionKind.CES: (1, 7),
}


@dataclass(frozen=True)
class Choice:
    value: str
    label: LocalizedText


@dataclass(frozen=True)
class Question:
    id: str
    kind: QuestionKind
    text: LocalizedText
    optional: bool = False
    when: Condition | None = None
    points: int = 5
    """Number of points of a `rating` question (1..points)."""
    low_label: LocalizedText | None = None
    high_label: LocalizedText | None = None
    choices: tuple[Choice, ...] = ()
    max_length: int = 1000
    tags: frozenset[str] = field(default_factory=frozenset)
    """Free labels for reports, e.g. the event survey's 'before', 'during', 'after' parts."""
    alert_at_most: int | None = None
    """A scale answer at or below this tells the team at once (None: the team's default for
    NPS, CSAT and CES; no alert for a rating)."""
    alert_on: bool | None = None
    """The yes/no answer that tells the team at once (None: neither)."""

    @property
    def is_scale(self) -> bool:
        return self.kind in SCALE_KINDS

    @property
    def bounds(self) -> tuple[int, int]:
        """Lowest and highest value of a scale question."""
        if self.kind in FIXED_SCALES:
            return FIXED_SCALES[self.kind]
        if self.kind is QuestionKind.RATING:
            return (1, self.points)
        raise ValueError(f"question {self.id!r} of kind {self.kind} has no scale")
