"""One item that cannot be prepared or sent never holds the others back: it ends `failed` with
its reason (shown by `palaute status`), and the pass goes on."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import time
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.commands.status import cmd_status
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.services import trigger_service
from storage.inbox import GAVE_UP, MAX_REPLAYS
from storage.records import InvitationState
from storage.store import Store
from tests.conftest import AppFactory
from tests.fakes.slack_api import FORM_CONTENT_TYPE, FakeSlack, fake_slack, slash_command_body  # noqa: F401
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.palaute_process import query
from tests.slack_harness import AINO, SlackHarness, slack_config
from tests.telegram_helpers import telegram_config, wait_for_text

PILOT = """
[surveys.pilot]
title = "Pilot"
intro = "Hi! About your visit at {site}:"

[[surveys.pilot.questions]]
id = "score"
type = "csat"
text = "How was it?"

[touchpoints.pilot]
survey = "pilot"
"""
RENAMED_PLACEHOLDER = PILOT.replace("{site}", "{shop}")
"""The same survey after an edit: its intro now needs a property the queued touchpoint lacks."""

CUSTOMERS = [str(960_000 + n) for n in range(100)]


async def _queue(db_path: Path, fake: FakeTelegram, toml: str, bad: dict[str, str]) -> None:
    """While palaute is down: one invitation under `toml` (chat `bad` ➝ touchpoint), then
    ordinary ones for everyone else, all due now; the bad one is due first."""
    store = await Store.open(db_path)
    try:
        config = telegram_config(fake, db_path, toml)
        triggers = trigger_service(store, config, SystemClock())
        for chat, touchpoint in bad.items():
            await triggers.trigger(
                TriggerRequest(touchpoint, ContactSpec("telegram", chat), {"site": "Tampere"})
            )
        for chat in CUSTOMERS:
            if chat not in bad:
                await triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", chat)))
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("later_config", "reason"),
    [
        ("", "its survey 'pilot' is no longer in the config"),
        (RENAMED_PLACEHOLDER, "the property 'shop' is missing"),
    ],
    ids=["survey-removed", "placeholder-renamed"],
)
async def test_an_invitation_that_cannot_be_prepared_fails_and_the_rest_go_out(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    db_path: Path,
    later_config: str,
    reason: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_telegram
    for chat in CUSTOMERS:
        fake.user(int(chat))
    bad_chat = CUSTOMERS[0]
    await _queue(db_path, fake, PILOT, {bad_chat: "pilot"})
    config = telegram_config(fake, db_path, later_config)
    app = await app_factory(config)
    others = CUSTOMERS[1:]
    await fake.wait_for(
        lambda: all(fake.sent_messages(int(chat)) for chat in others),
        timeout=20,
        message=lambda: f"{sum(bool(fake.sent_messages(int(c))) for c in others)} of 99 surveyed",
    )
    assert not fake.sent_messages(int(bad_chat))
    failed = await app.store.invitations.listing(state=InvitationState.FAILED)
    assert [i.contact_id for i in failed] == [
        (await app.store.contacts.find("telegram", bad_chat)).id  # type: ignore[union-attr]
    ]
    assert reason in (failed[0].reason or "")
    assert await app.store.invitations.counts_by_state() == {"failed": 1, "sent": 99}

    assert await cmd_status(argparse.Namespace(), config) == 0
    out = capsys.readouterr().out
    assert reason in out, out


async def test_an_invitation_whose_stored_properties_are_damaged_fails_and_the_rest_go_out(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_telegram
    for chat in CUSTOMERS:
        fake.user(int(chat))
    bad_chat = CUSTOMERS[0]
    await _queue(db_path, fake, PILOT, {bad_chat: "pilot"})
    # Cut short when the disk filled up under an older version.
    query_and_commit(
        db_path,
        'UPDATE touchpoints SET properties = \'{"site": "Tamp\' WHERE id = ('
        "SELECT touchpoint_id FROM invitations WHERE touchpoint = 'pilot')",
    )
    config = telegram_config(fake, db_path, PILOT)
    app = await app_factory(config)
    others = CUSTOMERS[1:]
    await fake.wait_for(
        lambda: all(fake.sent_messages(int(chat)) for chat in others),
        timeout=20,
        message=lambda: f"{sum(bool(fake.sent_messages(int(c))) for c in others)} of 99 surveyed",
    )
    assert not fake.sent_messages(int(bad_chat))
    [(_id, touchpoint, reason)] = await app.store.invitations.failures()
    assert touchpoint == "pilot"
    assert "its properties are not JSON" in (reason or "")
    assert await cmd_status(argparse.Namespace(), config) == 0
    assert "(pilot): could not be prepared: its properties are not JSON" in capsys.readouterr().out


def query_and_commit(db_path: Path, sql: str) -> None:
    with contextlib.closing(sqlite3.connect(db_path)) as connection, connection:
        connection.execute(sql)


BAD_OUTBOX_ITEMS = {
    # A row whose payload was cut short (a disk that filled up under an older version).
    "payload-not-json": ("text", '{"text": "Thanks for your'),
    # An older version's buttons: a row of strings, not of {label, payload}.
    "buttons-of-another-shape": ("text", '{"text": "Pick one", "rows": [["yes", "no"]]}'),
    # A chart whose image data was truncated: not base64.
    "chart-not-base64": ("team", '{"text": "Daily summary", "image_png": "iVBORw0KGgoAAAANSUhEU"}'),
}


@pytest.mark.parametrize("bad", list(BAD_OUTBOX_ITEMS))
async def test_an_outbox_message_that_cannot_be_prepared_fails_and_the_rest_go_out(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    db_path: Path,
    bad: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_telegram
    for chat in CUSTOMERS:
        fake.user(int(chat))
    kind, payload = BAD_OUTBOX_ITEMS[bad]
    bad_chat = CUSTOMERS[0]
    store = await Store.open(db_path)
    try:
        async with store.database.transaction() as connection:
            bad_id = await store.outbox.enqueue(
                connection, channel="telegram", address=bad_chat, kind=kind, payload={}, now=0.0
            )
            await connection.execute(
                "UPDATE outbox SET payload = ? WHERE id = ?", (payload, bad_id)
            )
            for chat in CUSTOMERS:  # the bad chat's next message, too
                await store.outbox.enqueue(
                    connection,
                    channel="telegram",
                    address=chat,
                    kind="text",
                    payload={"text": f"Your order {chat} is on its way"},
                    now=0.0,
                )
    finally:
        await store.close()
    config = telegram_config(fake, db_path)
    await app_factory(config)
    await fake.wait_for(
        lambda: all(fake.sent_messages(int(chat)) for chat in CUSTOMERS),
        timeout=20,
        message=lambda: f"{sum(bool(fake.sent_messages(int(c))) for c in CUSTOMERS)} of 100 sent",
    )
    assert [m.text for m in fake.sent_messages(int(bad_chat))] == [
        f"Your order {bad_chat} is on its way"
    ]
    await fake.wait_for(
        lambda: query(db_path, "SELECT state FROM outbox WHERE id = ?", (bad_id,)) == [("failed",)],
        timeout=5,
        message="the bad message to end failed",
    )
    [(error,)] = query(db_path, "SELECT last_error FROM outbox WHERE id = ?", (bad_id,))
    assert "could not be" in str(error), error
    assert await cmd_status(argparse.Namespace(), config) == 0
    assert (
        f"failed #{bad_id} {kind} to telegram:{bad_chat}: could not be" in capsys.readouterr().out
    )


async def test_inbox_updates_that_cannot_be_handled_are_recorded_and_the_rest_handled(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    fake_slack: FakeSlack,
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Left over from a crash: updates stored but not handled, two of them damaged (a disk that
    filled up mid-write, a row of another version). The others are handled at the next start."""
    fake = fake_telegram
    users = [fake.user(int(chat)) for chat in CUSTOMERS[:10]]
    store = await Store.open(db_path)
    try:
        telegram_rows = [("1", '{"update_id": 1, "message": {"message_id": 5, "te')]
        for user in users:
            update = fake.push_text(user, "/stop")
            telegram_rows.append((str(update["update_id"]), json.dumps(update)))
        # Not confirmed before the crash: Telegram delivers them again, the inbox knows them.
        stop = slash_command_body("/palaute", "stop", AINO, fake=fake_slack)
        slack_rows = [
            ("sha256:cut-short", '{"mode": "http", "bo'),
            ("sha256:other-version", json.dumps({"kind": "slash_command", "text": "stop"})),
            (
                "sha256:aino",
                json.dumps(
                    {"mode": "http", "body": stop, "headers": {"content-type": FORM_CONTENT_TYPE}}
                ),
            ),
        ]
        await store.inbox.store_many("telegram", telegram_rows, now=time.time())
        await store.inbox.store_many("slack", slack_rows, now=time.time())
    finally:
        await store.close()
    config = slack_config(fake_slack, db_path, telegram_section(fake))
    app = await app_factory(config)
    for user in users:
        await wait_for_text(fake, user, "You will not get any more surveys")
    slack = SlackHarness(app, fake_slack)
    await slack.wait_for_dms(AINO, 1)
    assert await app.store.inbox.unprocessed("telegram") == []
    assert await app.store.inbox.unprocessed("slack") == []
    assert await cmd_status(argparse.Namespace(), config) == 0
    out = capsys.readouterr().out
    assert "telegram update 1 came to nothing: cannot be read" in out, out
    assert "slack update sha256:cut-short came to nothing: cannot be read" in out, out
    assert "slack update sha256:other-version came to nothing: cannot be read" in out, out
    assert "aino" not in out


async def test_an_update_whose_handling_never_finishes_is_given_up_after_a_few_starts(
    db_path: Path,
) -> None:
    """One that crashes or hangs the process at every start (killed by a supervisor each time)
    is replayed a few times, then given up, with the reason, instead of at every start."""
    store = await Store.open(db_path)
    try:
        await store.inbox.store_many("telegram", [("7", "{}"), ("8", "{}")], now=0.0)
        starts = [await store.inbox.replay("telegram", now=float(n)) for n in range(1, 6)]
    finally:
        await store.close()
    assert [len(found) for found in starts[:MAX_REPLAYS]] == [2] * MAX_REPLAYS
    assert starts[MAX_REPLAYS:] == [[], []]
    assert query(db_path, "SELECT external_id, error FROM inbox ORDER BY id") == [
        ("7", GAVE_UP),
        ("8", GAVE_UP),
    ]


def telegram_section(fake: FakeTelegram) -> str:
    return f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\nmode = "polling"\n'
