"""Storage against a real SQLite file: migrations, repositories, transactions, query plans."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conversations.builtin import builtin_surveys
from storage.database import Database, StorageError, migrations
from storage.invitations import NewInvitation
from storage.records import InvitationState
from storage.store import Store

NOW = 1_790_000_000.0


def test_migrations_apply_from_an_empty_file(db_path: Path) -> None:
    connection = sqlite3.connect(db_path)
    assert connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone() == (0,)
    connection.close()


@pytest.mark.parametrize("start", [version for version, _ in migrations()])
async def test_migrations_apply_from_every_earlier_version(db_path: Path, start: int) -> None:
    database = await Database.open(db_path, migrate=False)
    assert await database.migrate(target=start) == start
    await database.close()
    database = await Database.open(db_path)
    assert await database.schema_version() == migrations()[-1][0]
    tables = {
        row["name"]
        for row in await database.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    assert {
        "contacts",
        "invitations",
        "answers",
        "outbox",
        "inbox",
        "settings",
        "followups",
    } <= tables
    journal = await database.fetch_one("PRAGMA journal_mode")
    foreign_keys = await database.fetch_one("PRAGMA foreign_keys")
    assert journal is not None and journal[0] == "wal"
    assert foreign_keys is not None and foreign_keys[0] == 1
    await database.close()


async def test_a_newer_database_is_refused_clearly(db_path: Path) -> None:
    database = await Database.open(db_path)
    async with database.transaction() as connection:
        await connection.execute("UPDATE schema_version SET version = 999")
    await database.close()
    with pytest.raises(StorageError, match="schema version 999, newer than this palaute knows"):
        await Database.open(db_path)


async def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="is not a palaute database or is damaged"):
        await Database.open(junk)


async def _invitation(store: Store, address: str = "42") -> int:
    async with store.database.transaction() as connection:
        contact = await store.contacts.ensure(
            connection, channel="telegram", address=address, now=NOW
        )
        return await store.invitations.insert(
            connection,
            NewInvitation("delivered", "nps", contact, "telegram", NOW, {"store": "Kamppi"},
                          InvitationState.SCHEDULED, None, NOW, None, NOW + 3600),
            now=NOW,
        )  # fmt: skip


async def test_state_machine_and_answers(store: Store) -> None:
    invitation_id = await _invitation(store)
    survey = builtin_surveys()["nps"]
    async with store.database.transaction() as connection:
        await store.invitations.transition(connection, invitation_id, InvitationState.SENT, now=NOW)
    invitation = await store.invitations.get(invitation_id)
    assert invitation is not None and invitation.properties == {"store": "Kamppi"}
    async with store.database.transaction() as connection:
        assert await store.answers.insert(
            connection, invitation, "telegram", survey.questions[0], 9, now=NOW
        )
        assert not await store.answers.insert(
            connection, invitation, "telegram", survey.questions[0], 3, now=NOW
        )
        assert await store.answers.insert(
            connection, invitation, "telegram", survey.questions[1], None, now=NOW
        )
        await store.invitations.transition(
            connection, invitation_id, InvitationState.COMPLETED, now=NOW
        )
    assert await store.answers.for_invitation(invitation_id) == ({"nps": 9}, {"why"})
    from storage.invitations import InvalidTransition

    async with store.database.transaction() as connection:
        with pytest.raises(InvalidTransition, match="cannot go from completed to sent"):
            await store.invitations.transition(
                connection, invitation_id, InvitationState.SENT, now=NOW
            )


async def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.database.transaction() as connection:
            await store.contacts.ensure(connection, channel="slack", address="U1", now=NOW)
            raise RuntimeError("boom")
    assert await store.contacts.find("slack", "U1") is None


async def test_forget_removes_everything_of_a_contact(store: Store) -> None:
    invitation_id = await _invitation(store)
    other = await _invitation(store, "43")
    survey = builtin_surveys()["nps"]
    for inv_id in (invitation_id, other):
        invitation = await store.invitations.get(inv_id)
        assert invitation is not None
        async with store.database.transaction() as connection:
            await store.answers.insert(
                connection, invitation, "telegram", survey.questions[0], 5, now=NOW
            )
    contact = await store.contacts.find("telegram", "42")
    assert contact is not None
    async with store.database.transaction() as connection:
        erased = await store.erasure.erase(connection, [contact], now=NOW)
    assert erased.contacts == 1 and erased.invitation_ids == [invitation_id]
    assert await store.invitations.get(invitation_id) is None
    assert await store.answers.for_invitation(invitation_id) == ({}, set())
    assert await store.answers.for_invitation(other) == ({"nps": 5}, set())


async def test_linking_a_ref_moves_its_touchpoints_to_the_chat(store: Store) -> None:
    async with store.database.transaction() as connection:
        ref_contact = await store.contacts.ensure(connection, ref="crm-42", now=NOW)
        await store.invitations.insert(
            connection,
            NewInvitation(
                "delivered",
                "nps",
                ref_contact,
                None,
                NOW,
                {},
                InvitationState.SCHEDULED,
                None,
                NOW,
                None,
                None,
            ),
            now=NOW,
        )
    chat_id = await store.contacts.link_ref("crm-42", "telegram", "777", now=NOW)
    contact = await store.contacts.get(chat_id)
    assert contact is not None and (contact.ref, contact.channel, contact.address) == (
        "crm-42",
        "telegram",
        "777",
    )
    due = await store.invitations.due(NOW + 1)
    assert [(i.contact_id, i.channel) for i in due] == [(chat_id, "telegram")]


async def test_score_queries_use_indexes(sqlite_store: Store) -> None:
    store = sqlite_store
    for by in (None, "touchpoint", "channel", "property:store"):
        plan = " | ".join(await store.database.query_plan(store.reports.score_sql(by), (0, NOW)))
        assert "SCAN a " not in plan + " " and "SCAN answers" not in plan, plan
    plan = " | ".join(
        await store.database.query_plan(
            store.reports.score_sql(None).replace(
                "a.skipped = 0", "a.skipped = 0 AND a.survey_id = ?"
            ),
            (0, NOW, "nps"),
        )
    )
    assert "USING INDEX answers_scores" in plan or "USING INDEX answers_time" in plan, plan


async def test_a_pending_send_is_confirmed_once(store: Store) -> None:
    pending = store.pending_sends
    request = {"t": "offsite", "to": "<@U1>", "p": {"event_name": "ä" * 500}, "n": "abc"}
    await pending.create("tok", channel="slack", requested_by="U0", request=request, now=100.0)
    confirmed = await pending.confirm("tok", click="c1", now=110.0, newer_than=0.0)
    assert confirmed is not None and confirmed.request == request
    assert await pending.confirm("tok", click="c2", now=120.0, newer_than=0.0) is None
    # The same click, run again after a crash, may finish the send.
    assert await pending.confirm("tok", click="c1", now=125.0, newer_than=0.0) is not None
    assert await pending.state("tok") == "confirmed"
    await pending.release("tok")  # the send failed: it may be confirmed again
    assert await pending.confirm("tok", click="c2", now=130.0, newer_than=0.0) is not None
    assert await pending.confirm("unknown", click="c3", now=130.0, newer_than=0.0) is None
    await pending.create("old", channel="slack", requested_by="U0", request=request, now=100.0)
    assert await pending.confirm("old", click="c4", now=200.0, newer_than=150.0) is None
    assert await pending.prune(150.0) == 2
    assert await pending.state("tok") is None


async def test_browser_contacts_of_an_older_palaute_become_unreachable(db_path: Path) -> None:
    from bot.channels.web.responses import BROWSER_ONLY

    browser_id = "0123456789abcdef0123456789abcdef"  # as palaute's browser ids are
    database = await Database.open(db_path, migrate=False)
    await database.migrate(target=14)
    async with database.transaction() as connection:
        for contact_id, address in [(1, browser_id), (2, "anna@example.com")]:
            await connection.execute(
                "INSERT INTO contacts (id, channel, address, created_at) VALUES (?, 'web', ?, ?)",
                (contact_id, address, NOW),
            )
        await connection.execute(
            "INSERT INTO touchpoints (name, contact_id, occurred_at, idempotency_key, created_at)"
            " VALUES ('event', 1, ?, ?, ?), ('csat', 2, ?, 'web:looks-internal', ?)",
            (NOW, f"web:event:abc:{browser_id}", NOW, NOW, NOW),
        )
    await database.close()
    store = await Store.open(db_path)
    try:
        browser, person = await store.contacts.get(1), await store.contacts.get(2)
    finally:
        await store.close()
    assert browser is not None and browser.unreachable_reason == BROWSER_ONLY
    assert person is not None and person.unreachable_at is None
