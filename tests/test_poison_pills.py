"""One item that cannot be prepared or sent never holds the others back: it ends `failed` with
its reason (shown by `palaute status`), and the pass goes on."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli import cmd_status
from bot.clock import SystemClock
from bot.triggers import ContactSpec, TriggerRequest, TriggerService
from storage.records import InvitationState
from storage.store import Store
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.palaute_process import query
from tests.telegram_helpers import telegram_config

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
        triggers = TriggerService(store, config, SystemClock())
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
