"""Answers imported from a file (`palaute import`): written in bulk, each response once.

An imported response is a touchpoint, an invitation and its answers like any other, so scores,
trends, summaries and the dashboard count it; it is written here directly, never through the
survey service, so it triggers no alert, follow-up or webhook. Its invitation was never sent by
palaute (`sent_at` is NULL), so response rates leave it out. The touchpoint's idempotency key is
a digest of the response's content: importing the same rows again adds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from storage.unit_of_work import DatabaseBackend

IMPORT_CHANNEL = "import"
"""The channel of contacts named in an imported file: palaute has no way to reach them."""
IMPORTED = "imported"
"""The reason recorded on an imported invitation."""


class ImportedAnswer(NamedTuple):
    """A tuple rather than a dataclass: a million of them are made in a big import."""

    question_id: str
    kind: str
    value_num: float | None
    value_text: str | None
    skipped: bool
    answered_at: float


@dataclass
class ImportedResponse:
    key: str
    """Idempotency key: the same response imported twice is stored once."""
    survey_id: str
    touchpoint: str
    channel: str
    contact: str | None
    """The contact as the file names it; None for an anonymous answer."""
    properties: Mapping[str, object]
    answers: list[ImportedAnswer] = field(default_factory=list)
    invitation_id: int | None = None
    """The file's `invitation_id`, when it is a number: an export names its own invitations."""


class ImportRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def existing(self, keys: Sequence[str]) -> set[str]:
        """Which of these keys were imported before."""
        found: set[str] = set()
        chunk = 500  # below SQLite's default limit of 999 parameters
        for offset in range(0, len(keys), chunk):
            part = keys[offset : offset + chunk]
            rows = await self.database.fetch_all(
                "SELECT idempotency_key FROM touchpoints WHERE idempotency_key IN"
                f" ({', '.join('?' * len(part))})",
                part,
            )
            found.update(row[0] for row in rows)
        return found

    async def native(self, responses: Sequence[ImportedResponse]) -> set[str]:
        """Keys of responses this database holds already as its own: the file is an export of
        it, and invitation `invitation_id` has the same survey, touchpoint, channel and answers
        (times to the second, as the export writes them)."""
        named = {r.invitation_id: r for r in responses if r.invitation_id is not None}
        ids = sorted(named)
        found: set[str] = set()
        for offset in range(0, len(ids), 500):
            part = ids[offset : offset + 500]
            second = self.database.dialect.integer_part("a.answered_at")
            rows = await self.database.fetch_all(
                "SELECT a.invitation_id, i.survey_id, i.touchpoint, a.channel, a.question_id,"
                f" {second} AS second, a.value_num, a.value_text, a.skipped"
                " FROM answers a JOIN invitations i ON i.id = a.invitation_id"
                f" WHERE a.invitation_id IN ({', '.join('?' * len(part))})",
                part,
            )
            stored: dict[int, set[tuple[object, ...]]] = {}
            for row in rows:
                stored.setdefault(row["invitation_id"], set()).add(
                    (row["survey_id"], row["touchpoint"], row["channel"], row["question_id"],
                     row["second"], row["value_num"], row["value_text"], bool(row["skipped"]))
                )  # fmt: skip
            for invitation_id, answers in stored.items():
                response = named[invitation_id]
                wanted = {
                    (response.survey_id, response.touchpoint, response.channel, a.question_id,
                     int(a.answered_at), a.value_num, a.value_text, a.skipped)
                    for a in response.answers
                }  # fmt: skip
                if wanted <= answers:
                    found.add(response.key)
        return found

    async def insert(self, responses: Iterable[ImportedResponse], *, now: float) -> tuple[int, int]:
        """Store responses not stored yet, in one transaction; (responses, answers) added."""
        # Oldest first: the answers' indexes lead with the time, so each batch then extends them
        # at one end instead of touching pages all over a big table.
        batch = sorted(responses, key=lambda r: min(a.answered_at for a in r.answers))
        async with self.database.transaction() as work:
            for statement in self.database.dialect.bulk_write_setup:
                await work.execute(statement)
            contacts = sorted({r.contact for r in batch if r.contact is not None})
            await work.execute_many(
                "INSERT INTO contacts (channel, address, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (channel, address) DO NOTHING",
                [(IMPORT_CHANNEL, contact, now) for contact in contacts],
            )
            contact_ids: dict[str, int] = {}
            for offset in range(0, len(contacts), 500):
                part = contacts[offset : offset + 500]
                rows = await work.fetch_all(
                    "SELECT address, id FROM contacts WHERE channel = ? AND address IN"
                    f" ({', '.join('?' * len(part))})",
                    [IMPORT_CHANNEL, *part],
                )
                contact_ids.update({row[0]: row[1] for row in rows})
            touchpoint_id = int(
                await work.fetch_value("SELECT COALESCE(MAX(id), 0) FROM touchpoints")
            )
            invitation_id = int(
                await work.fetch_value("SELECT COALESCE(MAX(id), 0) FROM invitations")
            )
            touchpoints: list[tuple[object, ...]] = []
            invitations: list[tuple[object, ...]] = []
            answers: list[tuple[object, ...]] = []
            # Rows of a file share a handful of property sets: encode each once.
            encoded: dict[int, str] = {}
            for response in batch:
                touchpoint_id += 1
                invitation_id += 1
                contact_id = contact_ids.get(response.contact) if response.contact else None
                first = min(a.answered_at for a in response.answers)
                last = max(a.answered_at for a in response.answers)
                properties = encoded.get(id(response.properties))
                if properties is None:
                    properties = json.dumps(response.properties, ensure_ascii=False)
                    encoded[id(response.properties)] = properties
                touchpoints.append(
                    (touchpoint_id, response.touchpoint, contact_id, first,
                     properties, response.key, now)
                )  # fmt: skip
                invitations.append(
                    (invitation_id, touchpoint_id, contact_id, response.survey_id,
                     response.touchpoint, response.channel, IMPORTED, first, first, last, now, now)
                )  # fmt: skip
                answers.extend(
                    (invitation_id, response.survey_id, response.touchpoint, response.channel,
                     a.question_id, a.kind, a.value_num, a.value_text, int(a.skipped),
                     a.answered_at)
                    for a in response.answers
                )  # fmt: skip
            await work.execute_many(
                "INSERT INTO touchpoints (id, name, contact_id, occurred_at, properties,"
                " idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                touchpoints,
            )
            await work.execute_many(
                "INSERT INTO invitations (id, touchpoint_id, contact_id, survey_id, touchpoint,"
                " channel, state, reason, due_at, started_at, completed_at, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?)",
                invitations,
            )
            await work.execute_many(
                "INSERT INTO answers (invitation_id, survey_id, touchpoint, channel, question_id,"
                " kind, value_num, value_text, skipped, answered_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                answers,
            )
        return len(touchpoints), len(answers)
