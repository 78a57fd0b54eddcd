"""Answers: one row per answered or skipped question."""

from __future__ import annotations

from conversations.questions import AnswerValue, Question, QuestionKind
from storage.records import Invitation
from storage.unit_of_work import DatabaseBackend, UnitOfWork


class AnswerRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def for_invitation(self, invitation_id: int) -> tuple[dict[str, AnswerValue], set[str]]:
        """(answers by question id, skipped question ids): what a conversation is rebuilt from."""
        rows = await self.database.fetch_all(
            "SELECT question_id, kind, value_num, value_text, skipped FROM answers"
            " WHERE invitation_id = ? ORDER BY id",
            (invitation_id,),
        )
        answers: dict[str, AnswerValue] = {}
        skipped: set[str] = set()
        for row in rows:
            if row["skipped"]:
                skipped.add(row["question_id"])
            else:
                answers[row["question_id"]] = decode(
                    row["kind"], row["value_num"], row["value_text"]
                )
        return answers, skipped

    async def withdraw_last(self, work: UnitOfWork, invitation_id: int) -> str | None:
        """Delete the newest answer of an invitation (the customer went back to change it);
        the id of its question, or None when there was none."""
        row = await work.fetch_one(
            "DELETE FROM answers WHERE id = (SELECT MAX(id) FROM answers WHERE invitation_id = ?)"
            " RETURNING question_id",
            (invitation_id,),
        )
        return None if row is None else str(row["question_id"])

    async def insert(
        self,
        work: UnitOfWork,
        invitation: Invitation,
        channel: str,
        question: Question,
        value: AnswerValue | None,
        *,
        now: float,
    ) -> bool:
        """False when this question was already answered (a duplicate delivery): nothing changes."""
        number, text = encode(question.kind, value)
        changed = await work.execute(
            "INSERT INTO answers (invitation_id, survey_id, touchpoint, channel,"
            " question_id, kind, value_num, value_text, skipped, answered_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (
                invitation.id,
                invitation.survey_id,
                invitation.touchpoint,
                channel,
                question.id,
                question.kind.value,
                number,
                text,
                int(value is None),
                now,
            ),
        )
        return changed > 0


def encode(kind: QuestionKind, value: AnswerValue | None) -> tuple[float | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, int):
        return float(value), None
    return None, value


def decode(kind: str, number: float | None, text: str | None) -> AnswerValue:
    if kind == QuestionKind.YES_NO.value:
        return bool(number)
    if number is not None:
        return int(number)
    return text or ""
