"""Erasing a person: every row that names them or quotes them, in one transaction.

The contact row cascades to touchpoints, invitations, answers, shown prompts, audience
memberships, follow-ups, alert refs and relayed replies. What cascades cannot reach is found
here: outbox rows (their survey messages, replies to their commands, texts relayed to them,
the team's alerts about them and the edits and thread notes of those alerts, webhook events
with their answers) and inbox rows (the platform updates they sent, and team replies quoting
an alert about them). Beyond the rows found by id, any outbox or inbox row that still quotes
one of their texts (a comment, a reply, a property value such as a phone number, the address)
goes too, as stored (JSON-escaped, HTML-escaped, line by line).

Deleted bytes do not linger in free pages: every connection runs with `secure_delete` (see
storage.database), and the caller checkpoints the WAL afterwards (`Database.checkpoint`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from storage.records import Contact
from storage.suppressions import SuppressionRepository, identities
from storage.unit_of_work import DatabaseBackend, UnitOfWork

MIN_QUOTED_LENGTH = 6
"""Shorter texts ("yes", "fi", a score) are too common to erase other rows by."""


@dataclass(frozen=True)
class PostedMessage:
    """A team message about the person already in a team chat: to be edited to say so."""

    channel: str
    address: str
    message_ref: str
    followup_id: int | None
    """Set for a copy of a detractor alert; None for a note in its thread."""


@dataclass
class Erased:
    contacts: int = 0
    invitation_ids: list[int] = field(default_factory=list)
    followup_ids: list[int] = field(default_factory=list)
    posted: list[PostedMessage] = field(default_factory=list)
    outbox_rows: int = 0
    inbox_rows: int = 0
    suppressed: bool = False
    """The person had opted out: their identities are kept as keyed hashes."""


def _quoted_forms(texts: Iterable[str]) -> set[str]:
    """Each text as it can appear inside a stored payload."""
    pieces: set[str] = set()
    for text in texts:
        pieces.add(text)
        pieces.update(line.strip() for line in text.splitlines())
    forms: set[str] = set()
    for piece in pieces:
        for variant in (piece, html.escape(piece), html.escape(piece, quote=False)):
            forms.add(variant)
            forms.add(json.dumps(variant, ensure_ascii=False)[1:-1])
            forms.add(json.dumps(variant)[1:-1])
    return {form for form in forms if len(form) >= MIN_QUOTED_LENGTH}


def _chunks(values: list[str], size: int = 200) -> list[list[str]]:
    """Searches split so that no statement nears SQLite's expression depth limit (1000)."""
    return [values[start : start + size] for start in range(0, len(values), size)]


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


class ErasureRepository:
    def __init__(self, database: DatabaseBackend, suppressions: SuppressionRepository) -> None:
        self.database = database
        self.suppressions = suppressions

    async def erase(self, work: UnitOfWork, contacts: Sequence[Contact], *, now: float) -> Erased:
        """Delete these contacts and everything of theirs (inside the caller's transaction)."""
        erased = Erased(contacts=len(contacts))
        if not contacts:
            return erased
        contact_ids = [c.id for c in contacts]
        chats = [(c.channel, c.address) for c in contacts if c.channel and c.address]
        quoted: list[str] = []
        for contact in contacts:
            quoted += [v for v in (contact.address, contact.ref, contact.display_name) if v]
        ids = _marks(contact_ids)
        erased.invitation_ids = [
            int(row[0])
            for row in await self._rows(
                work,
                f"SELECT id FROM invitations WHERE contact_id IN ({ids}) ORDER BY id",
                contact_ids,
            )
        ]
        invitations = erased.invitation_ids
        inv = _marks(invitations)
        if invitations:
            quoted += [
                str(row[0])
                for row in await self._rows(
                    work,
                    f"SELECT token FROM invitations WHERE id IN ({inv}) AND token IS NOT NULL"
                    f" UNION ALL SELECT value_text FROM answers WHERE invitation_id IN ({inv})"
                    " AND value_text IS NOT NULL",
                    [*invitations, *invitations],
                )
            ]
        for row in await self._rows(
            work,
            f"SELECT properties FROM touchpoints WHERE contact_id IN ({ids}) OR id IN"
            f" (SELECT touchpoint_id FROM invitations WHERE contact_id IN ({ids}))",
            [*contact_ids, *contact_ids],
        ):
            quoted += [str(v) for v in json.loads(row[0]).values() if v is not None]
        erased.followup_ids = [
            int(row[0])
            for row in await self._rows(
                work,
                f"SELECT id FROM followups WHERE invitation_id IN ({inv}) ORDER BY id",
                invitations,
            )
        ]
        followups = erased.followup_ids
        fol = _marks(followups)
        alert_refs: list[tuple[str, str, str]] = []
        if followups:
            for row in await self._rows(
                work,
                "SELECT followup_id, channel, address, message_ref FROM followup_messages"
                f" WHERE followup_id IN ({fol}) AND message_ref IS NOT NULL",
                followups,
            ):
                erased.posted.append(PostedMessage(row[1], row[2], row[3], int(row[0])))
                alert_refs.append((row[1], row[2], row[3]))
            quoted += [
                str(row[0])
                for row in await self._rows(
                    work,
                    f"SELECT text FROM followup_replies WHERE followup_id IN ({fol})",
                    followups,
                )
            ]
        await self._erase_outbox(work, erased, chats, alert_refs, _quoted_forms(quoted))
        await self._erase_inbox(work, erased, chats, _quoted_forms(quoted))
        opted_out = [c for c in contacts if c.opted_out_at is not None]
        for contact in opted_out:
            await self.suppressions.add(
                work, identities(contact.channel, contact.address, contact.ref), now=now
            )
        erased.suppressed = bool(opted_out)
        await work.execute(f"DELETE FROM contacts WHERE id IN ({ids})", contact_ids)
        return erased

    async def _erase_outbox(
        self,
        work: UnitOfWork,
        erased: Erased,
        chats: list[tuple[str, str]],
        alert_refs: list[tuple[str, str, str]],
        quoted: set[str],
    ) -> None:
        conditions: list[str] = []
        params: list[Any] = []
        json_text = self.database.dialect.json_text
        if erased.invitation_ids:
            marks = _marks(erased.invitation_ids)
            conditions.append(f"invitation_id IN ({marks})")
            conditions.append(
                f"(kind = 'webhook' AND {json_text('payload', 'body', 'data', 'invitation_id')}"
                f" IN ({marks}))"
            )
            params += [*erased.invitation_ids, *map(str, erased.invitation_ids)]
        for channel, address in chats:
            conditions.append("(channel = ? AND address = ?)")
            params += [channel, address]
        if erased.followup_ids:
            marks = _marks(erased.followup_ids)
            conditions.append(
                f"(kind IN ('team', 'team_edit') AND {json_text('payload', 'followup_id')}"
                f" IN ({marks}))"
            )
            conditions.append(
                f"(kind = 'webhook' AND {json_text('payload', 'body', 'data', 'followup_id')}"
                f" IN ({marks}))"
            )
            params += [*map(str, erased.followup_ids), *map(str, erased.followup_ids)]
        for channel, address, ref in alert_refs:
            conditions.append(
                "(kind = 'team' AND channel = ? AND address = ?"
                f" AND {json_text('payload', 'thread_ref')} = ?)"
            )
            params += [channel, address, ref]
        returning = " RETURNING channel, address, kind, state, result, payload"
        rows = (
            await self._rows(
                work, f"DELETE FROM outbox WHERE {' OR '.join(conditions)}{returning}", params
            )
            if conditions
            else []
        )
        contains = self.database.dialect.contains
        for chunk in _chunks(sorted(quoted)):
            # A message waiting for someone else is only dropped when it is for the team.
            found = " OR ".join(contains("payload", "?") for _ in chunk)
            rows += await self._rows(
                work,
                "DELETE FROM outbox WHERE (state != 'pending'"
                f" OR kind IN ('team', 'team_edit', 'webhook')) AND ({found}){returning}",
                chunk,
            )
        erased.outbox_rows = len(rows)
        alerts = {(p.channel, p.address, p.message_ref) for p in erased.posted}
        for channel, address, kind, state, result, payload in rows:
            # Notes relayed into an alert's thread were posted by the team's own chat: edit them.
            thread_ref = json.loads(payload).get("thread_ref")
            if (
                kind == "team"
                and state == "sent"
                and result
                and thread_ref
                and (channel, address, thread_ref) in alerts
                and (channel, address, result) not in alerts
            ):
                erased.posted.append(PostedMessage(channel, address, result, None))

    async def _erase_inbox(
        self,
        work: UnitOfWork,
        erased: Erased,
        chats: list[tuple[str, str]],
        quoted: set[str],
    ) -> None:
        addresses = {address for _channel, address in chats}
        candidates: dict[int, tuple[int, str, str, float | None]] = {}
        contains = self.database.dialect.contains
        for chunk in _chunks(sorted(quoted | addresses)):
            found = " OR ".join(contains("payload", "?") for _ in chunk)
            for row in await self._rows(
                work,
                f"SELECT id, channel, payload, processed_at FROM inbox WHERE {found}",
                chunk,
            ):
                candidates[row[0]] = tuple(row)
        # Their own updates go whatever their state (an unprocessed one would be handled
        # after the erasure); others' only once handled, when they quote the person.
        doomed = [
            row_id
            for row_id, _channel, payload, processed_at in candidates.values()
            if addresses & _senders(payload)
            or (processed_at is not None and any(form in payload for form in quoted))
        ]
        for start in range(0, len(doomed), 500):
            ids = doomed[start : start + 500]
            await work.execute(f"DELETE FROM inbox WHERE id IN ({_marks(ids)})", ids)
        erased.inbox_rows = len(doomed)

    @staticmethod
    async def _rows(work: UnitOfWork, sql: str, params: Sequence[Any]) -> list[Any]:
        return await work.fetch_all(sql, params)


def _senders(payload: str) -> set[str]:
    """Who a stored platform update comes from: Telegram users and chats, Slack users."""
    try:
        update = json.loads(payload)
    except ValueError:
        return set()
    found: set[str] = set()
    _collect_senders(update, found)
    return found


def _parsed_body(body: str) -> Any:
    """A request body kept as received (Slack over HTTP): JSON, or a form whose `payload`
    field is JSON (interactivity) or whose fields name the user (slash commands)."""
    try:
        return json.loads(body)
    except ValueError:
        pass
    form = {key: values[0] for key, values in parse_qs(body).items()}
    if "payload" in form:
        try:
            return json.loads(form["payload"])
        except ValueError:
            return form
    return form


def _collect_senders(value: Any, found: set[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect_senders(item, found)
        return
    if not isinstance(value, dict):
        return
    for key, child in value.items():
        if key in ("from", "chat", "user") and isinstance(child, dict) and "id" in child:
            found.add(str(child["id"]))
        elif key in ("user", "user_id") and isinstance(child, str):
            found.add(child)
        if key == "body" and isinstance(child, str):
            child = _parsed_body(child)
        _collect_senders(child, found)
