"""Forget means forget, stop means stop (issue #13): /delete in Telegram and `palaute forget`
remove a person from every table and from the file's bytes, erase the team's copies of what
they said, tell webhook subscribers, and keep an opt-out (as a keyed hash) after the erasure.

Real python-telegram-bot against FakeTelegram, a real SQLite file, a real webhook receiver.
"""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import PalauteApp
from bot.cli import main as cli_main
from bot.delivery.triggers import ContactSpec, TriggerRequest
from storage.database import Database
from storage.records import InvitationState
from storage.store import Store
from tests.any_time import at_any_time
from tests.conftest import AppFactory
from tests.fakes.slack_api import FORM_CONTENT_TYPE, FakeSlack, slash_command_body
from tests.fakes.telegram_api import FakeMessage, FakeTelegram, FakeUser, fake_telegram  # noqa: F401
from tests.loopback import serve
from tests.palaute_process import (
    ROOT,
    TOKEN_VARIABLE,
    PalauteProcess,
    palaute_command,
    query,
)
from tests.slack_harness import BEN, eventually, start_slack_app
from tests.team_channel import eventually as dispatched
from tests.telegram_helpers import (
    MovableClock,
    keyboard_rows,
    settle,
    telegram_config,
    texts,
    wait_for_text,
)
from tests.test_followups import _answer_score as answer_score
from tests.test_followups import _start as start_followups

GROUP = -1001234567890
CUSTOMER_ID = 5550123987
COMMENT = "Kuljettaja ei soittanut vaikka annoin numeroni"
PHONE = "+358405551234"
ORDER = "ORD-774215"
REPLY = "Soittakaa iltapäivällä kiitos"
PERSONAL = {
    "comment": COMMENT,
    "phone": PHONE,
    "order": ORDER,
    "reply": REPLY,
    "address": str(CUSTOMER_ID),
}


def team(hook_url: str) -> str:
    return f"""
[team]
report_to = ["telegram:{GROUP}"]
daily_summary = "off"
weekly_digest = false

[touchpoints.delivery]
survey = "delivery"

[surveys.delivery]
title = "Delivery"
[[surveys.delivery.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend our delivery?"
[[surveys.delivery.questions]]
id = "why"
type = "text"
optional = true
text = "What is the main reason for your score?"

[[webhooks]]
url = "{hook_url}"
events = ["response.completed", "followup.resolved"]
secret = "webhook-test-secret-1234"
"""


async def webhook_receiver() -> tuple[web.AppRunner, str, list[dict[str, object]]]:
    received: list[dict[str, object]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(json.loads(await request.text()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, url = await serve(app)
    return runner, f"{url}/hook", received


def shown(message: FakeMessage) -> str:
    return message.plain_text or message.text or ""


async def wait_in_group(fake: FakeTelegram, fragment: str) -> FakeMessage:
    await fake.wait_for(
        lambda: any(fragment in shown(m) for m in fake.sent_messages(GROUP)),
        message=lambda: (
            f"{fragment!r} in the group: {[shown(m) for m in fake.sent_messages(GROUP)]}"
        ),
    )
    return next(m for m in reversed(fake.sent_messages(GROUP)) if fragment in shown(m))


async def detractor_with_a_thread(
    app: PalauteApp, fake: FakeTelegram
) -> tuple[FakeUser, FakeMessage, FakeMessage]:
    """A customer answers 2 with a comment; the team writes to them; they answer back."""
    maija = fake.user(CUSTOMER_ID, first_name="Maija")
    anna = FakeUser(701, first_name="Anna")
    await app.triggers.trigger(
        TriggerRequest(
            "delivery",
            ContactSpec("telegram", str(CUSTOMER_ID)),
            properties={"phone": PHONE, "order": ORDER},
        )
    )
    await app.invitations.tick()
    question = await wait_for_text(fake, maija, "How likely are you to recommend our delivery")
    fake.push_callback(maija, question, question.callback_data_for("2"))
    await wait_for_text(fake, maija, "What is the main reason")
    fake.push_text(maija, COMMENT)
    await wait_for_text(fake, maija, "Thank you")
    alert = await wait_in_group(fake, "Detractor #1")
    await fake.wait_for(lambda: COMMENT in shown(alert) and PHONE in shown(alert))
    await settle(app, fake)
    fake.push_text(anna, "Anteeksi! Saammeko soittaa?", GROUP, reply_to=alert)
    await wait_for_text(fake, maija, "Saammeko soittaa?")
    fake.push_text(maija, REPLY)
    note = await wait_in_group(fake, REPLY)
    await settle(app, fake)
    return maija, alert, note


async def tables_naming(app: PalauteApp, values: dict[str, str]) -> dict[str, list[str]]:
    """Which tables still hold any of `values`, by name of the value."""
    found: dict[str, list[str]] = {}
    tables = await app.store.database.fetch_all(app.store.database.dialect.tables_sql)
    for table in tables:
        rows = await app.store.database.fetch_all(f"SELECT * FROM {table['name']}")
        dump = json.dumps([list(row) for row in rows], ensure_ascii=False)
        for name, value in values.items():
            if value in dump or json.dumps(value)[1:-1] in dump:
                found.setdefault(name, []).append(str(table["name"]))
    return found


def bytes_naming(db: Path, values: dict[str, str]) -> dict[str, list[str]]:
    """Which files (the database, its WAL) hold any of `values` in their raw bytes."""
    found: dict[str, list[str]] = {}
    for path in (db, db.with_name(db.name + "-wal")):
        if not path.exists():
            continue
        raw = path.read_bytes()
        for name, value in values.items():
            if value.encode() in raw:
                found.setdefault(name, []).append(path.name)
    return found


async def test_stop_then_delete_in_telegram_forgets_everything_but_the_stop(
    fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    runner, hook_url, hooks = await webhook_receiver()
    app = PalauteApp(telegram_config(fake, db_path, team(hook_url)), clock=MovableClock())
    running = False
    try:
        await app.start()
        running = True
        maija, alert, note = await detractor_with_a_thread(app, fake)
        await fake.wait_for(lambda: len(hooks) >= 1, message="response.completed")

        fake.push_text(maija, "/stop")
        await wait_for_text(fake, maija, "any more surveys")
        fake.push_text(maija, "/delete")
        confirm = await wait_for_text(fake, maija, "Erase everything you have answered?")
        fake.push_callback(maija, confirm, confirm.callback_data_for("Yes, erase my data"))
        await wait_for_text(fake, maija, "your data has been erased")

        # The team's copies now say the answer was erased, without buttons.
        await fake.wait_for(lambda: "answer erased" in shown(alert), timeout=10)
        assert COMMENT not in shown(alert) and PHONE not in shown(alert)
        assert keyboard_rows(alert) == []
        await fake.wait_for(lambda: "Erased" in shown(note), timeout=10)
        assert REPLY not in shown(note)
        # Subscribers hear of it, by the ids they were sent, and nothing else.
        await fake.wait_for(lambda: any(h["type"] == "contact.erased" for h in hooks))
        erased = next(h for h in hooks if h["type"] == "contact.erased")
        assert erased["data"] == {"invitation_ids": [1], "followup_ids": [1]}
        assert not [n for n, v in PERSONAL.items() if v in json.dumps(erased, ensure_ascii=False)]
        await settle(app, fake)

        assert await tables_naming(app, PERSONAL) == {}
        assert await app.store.database.fetch_all("SELECT * FROM contacts") == []

        # Stop still means stop: the next trigger finds them opted out, and sends nothing.
        before = len(texts(fake, maija))
        result = await app.triggers.trigger(
            TriggerRequest("delivery", ContactSpec("telegram", str(CUSTOMER_ID)))
        )
        assert result.invitation.state is InvitationState.SUPPRESSED
        assert result.invitation.reason == "the contact opted out of surveys"
        await app.invitations.tick()
        await settle(app, fake)
        assert len(texts(fake, maija)) == before
        # ...until they say /start themselves.
        fake.push_text(maija, "/start")
        await wait_for_text(fake, maija, "Welcome back")
        assert await app.store.database.fetch_all("SELECT * FROM suppressions") == []
        running = False
        await app.stop()
        # After a clean stop, not one byte of what they said is left in the files.
        assert bytes_naming(db_path, {k: v for k, v in PERSONAL.items() if k != "address"}) == {}
    finally:
        if running:
            await app.stop()
        await runner.cleanup()


async def _palaute(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *palaute_command(), *args,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), TOKEN_VARIABLE: TOKEN},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


TOKEN = "424242:forget-test-token"


@pytest.mark.slow
async def test_palaute_forget_next_to_a_running_palaute(tmp_path: Path) -> None:
    fake = FakeTelegram(token=TOKEN)
    await fake.start()
    runner, hook_url, hooks = await webhook_receiver()
    config = tmp_path / "palaute.toml"
    config.write_text(
        at_any_time(
            f'[storage]\npath = "{tmp_path / "palaute.db"}"\n\n'
            '[server]\nhost = "127.0.0.1"\nport = 0\napi_token = "forget-test-api-token"\n\n'
            f'[telegram]\ntoken = "${{{TOKEN_VARIABLE}}}"\nbase_url = "{fake.base_url}"\n'
            'mode = "polling"\n' + team(hook_url)
        ),
        encoding="utf-8",
    )
    bot = PalauteProcess(config, fake)
    try:
        code, out, err = await _palaute(
            "trigger", "delivery", "--config", str(config), "--contact",
            f"telegram:{CUSTOMER_ID}", "-p", f"phone={PHONE}", "-p", f"order={ORDER}",
        )  # fmt: skip
        assert code == 0, err
        await bot.start()
        await bot.wait_polling()
        maija = fake.user(CUSTOMER_ID, first_name="Maija")
        question = await wait_for_text(fake, maija, "How likely are you to recommend")
        fake.push_callback(maija, question, question.callback_data_for("2"))
        await wait_for_text(fake, maija, "What is the main reason")
        fake.push_text(maija, COMMENT)
        await wait_for_text(fake, maija, "Thank you")
        alert = await wait_in_group(fake, "Detractor #1")
        await fake.wait_for(lambda: COMMENT in shown(alert) and PHONE in shown(alert))
        await fake.wait_for(lambda: len(hooks) >= 1, message="response.completed")

        code, out, err = await _palaute(
            "forget", f"telegram:{CUSTOMER_ID}", "--config", str(config)
        )
        assert code == 0, err
        assert f"Deleted telegram:{CUSTOMER_ID} and everything they answered" in out
        assert "1 team message(s) about them will be edited" in out
        # The running palaute sends what the forget queued.
        await fake.wait_for(lambda: "answer erased" in shown(alert), timeout=15)
        assert COMMENT not in shown(alert) and keyboard_rows(alert) == []
        await fake.wait_for(lambda: any(h["type"] == "contact.erased" for h in hooks), 15)
        assert await bot.terminate() == 0
    finally:
        await bot.ensure_stopped()
        await runner.cleanup()
        await fake.stop()
    db = tmp_path / "palaute.db"
    assert bytes_naming(db, PERSONAL) == {}, bot.log()
    assert query(db, "SELECT COUNT(*) FROM contacts") == [(0,)]


def test_forget_finds_every_spelling_of_an_address(tmp_path: Path) -> None:
    """`palaute forget web:anna@example.com` also erases `Anna@Example.com` and a variant with a
    zero-width space, as an older palaute stored them; a new one stores one spelling."""
    config = tmp_path / "palaute.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "palaute.db"}"\n', encoding="utf-8")
    assert cli_main(["trigger", "nps", "--config", str(config), "--contact",
                     "web:\u200bAnna.PII@Example.com "]) == 0  # fmt: skip
    db = tmp_path / "palaute.db"
    assert query(db, "SELECT address FROM contacts") == [("anna.pii@example.com",)]
    with contextlib.closing(sqlite3.connect(db)) as connection, connection:
        for spelling in ("Anna.PII@Example.com", "anna.p\u200bii@example.com"):
            connection.execute(
                "INSERT INTO contacts (channel, address, created_at) VALUES ('web', ?, 0)",
                (spelling,),
            )
    assert cli_main(["forget", "--config", str(config), "web:anna.pii@example.com"]) == 0
    assert query(db, "SELECT channel, address FROM contacts") == []
    assert query(db, "SELECT COUNT(*) FROM invitations") == [(0,)]


async def test_an_alert_in_flight_during_the_erasure_is_erased_once_posted(
    app_factory: AppFactory, database_location: str
) -> None:
    app, slack, telegram, _clock = await start_followups(app_factory, database_location)
    slack.gate = telegram.gate = asyncio.Event()
    await answer_score(app, score="2", address="UCUST")
    await asyncio.sleep(0.1)  # both alerts are with the platform, waiting for the gate
    await app.incoming.erasure.forget(channel="slack", address="UCUST")
    slack.gate.set()
    await dispatched(lambda: bool(slack.team_edits) and bool(telegram.team_edits))
    for channel in (slack, telegram):
        [posted] = channel.team
        [edit] = channel.team_edits
        assert edit.ref == posted.ref
        assert edit.message.text.startswith("Alert #1: answer erased")
        assert edit.message.buttons == ()


async def test_stop_then_delete_in_slack(
    app_factory: AppFactory, fake_slack: FakeSlack, database_location: str
) -> None:
    slack = await start_slack_app(
        app_factory, fake_slack, database_location,
        '[team]\nreport_to = ["slack:C0GENERAL"]\ndaily_summary = "off"\nweekly_digest = false\n',
    )  # fmt: skip
    await slack.app.triggers.trigger(
        TriggerRequest("offsite", ContactSpec("slack", BEN), properties={"phone": PHONE})
    )
    await slack.app.invitations.tick()
    [question] = await slack.wait_for_dms(BEN, 1)
    await slack.click(BEN, question, "2")
    await slack.wait_for_dms(BEN, 2)  # the answer shown, the follow-up question
    await slack.dm(BEN, COMMENT)

    def in_channel() -> list[str]:
        return [json.dumps(m, ensure_ascii=False) for m in fake_slack.messages("C0GENERAL")]

    await eventually_true(lambda: any(COMMENT in m for m in in_channel()), "the alert")

    for command in ("stop", "delete"):
        body = slash_command_body("/palaute", command, BEN, fake=fake_slack)
        assert (await slack.inbound.post(body, FORM_CONTENT_TYPE))[0] == 200
    await eventually_true(
        lambda: any("Yes, erase my data" in json.dumps(m) for m in slack.dms(BEN)), "the confirm"
    )
    confirm = next(m for m in slack.dms(BEN) if "Yes, erase my data" in json.dumps(m))
    await slack.click(BEN, confirm, "Yes, erase my data")
    await eventually_true(
        lambda: "your data has been erased" in slack.dms(BEN)[-1]["text"], "the confirmation"
    )
    await eventually_true(
        lambda: any("answer erased" in m for m in in_channel()), "the alert edited"
    )
    assert not any(COMMENT in m or PHONE in m for m in in_channel())

    async def quiet() -> bool:
        counts = await slack.app.store.outbox.counts()
        return not counts.get("pending") and not counts.get("sending")

    await eventually(quiet, what="an empty outbox")
    found = await tables_naming(slack.app, {"comment": COMMENT, "phone": PHONE, "address": BEN})
    assert found == {}
    result = await slack.app.triggers.trigger(TriggerRequest("offsite", ContactSpec("slack", BEN)))
    assert result.invitation.state is InvitationState.SUPPRESSED


async def eventually_true(check: Callable[[], bool], what: str) -> None:
    async def holds() -> bool:
        return check()

    await eventually(holds, what=what)


async def test_a_person_with_many_long_answers_is_erased(store: Store) -> None:
    """Hundreds of quoted texts are searched for in batches: no statement grows past SQLite's
    expression depth limit, so the erasure does not fail for the people who wrote the most."""
    from tests.test_storage import NOW, _invitation

    invitation_id = await _invitation(store)
    async with store.database.transaction() as connection:
        await connection.execute_many(
            "INSERT INTO answers (invitation_id, survey_id, touchpoint, channel, question_id,"
            " kind, value_text, answered_at) VALUES (?, 'nps', 'delivered', 'telegram', ?,"
            " 'text', ?, ?)",
            [(invitation_id, f"q{i}", f"Rivi {i} <b>&\nrivi {i} toinen", NOW) for i in range(400)],
        )
        await store.outbox.enqueue(
            connection, channel="slack", address="CTEAM", kind="team",
            payload={"text": "Rivi 399 <b>&"}, now=NOW,
        )  # fmt: skip
        [contact] = await store.contacts.matching(connection, channel="telegram", address="42")
        erased = await store.erasure.erase(connection, [contact], now=NOW)
    assert erased.contacts == 1 and erased.outbox_rows == 1
    assert await store.database.fetch_all("SELECT * FROM answers") == []


async def test_addresses_stored_before_normalising_are_normalised_by_the_migration(
    db_path: Path,
) -> None:
    database = await Database.open(db_path, migrate=False)
    await database.migrate(target=4)
    async with database.transaction() as connection:
        for address in ("Anna@Example.com", "  ben@example.com\u200b", "anna@example.com "):
            await connection.execute(
                "INSERT INTO contacts (channel, address, created_at) VALUES ('web', ?, 0)",
                (address,),
            )
        await connection.execute(
            "INSERT INTO contacts (channel, address, created_at) VALUES ('telegram', '-1001', 0)"
        )
    await database.close()
    database = await Database.open(db_path)
    rows = await database.fetch_all("SELECT address FROM contacts ORDER BY id")
    await database.close()
    # The first of two spellings of one address takes the normal form; the other stays, and
    # `palaute forget` still finds both.
    assert [row["address"] for row in rows] == [
        "anna@example.com", "ben@example.com", "anna@example.com ", "-1001",
    ]  # fmt: skip


def test_a_chat_id_pasted_with_an_invisible_character_is_still_a_chat_id() -> None:
    spec = ContactSpec.parse("telegram:\u200b5550123987\u2060 ")
    assert (spec.channel, spec.address) == ("telegram", "5550123987")
