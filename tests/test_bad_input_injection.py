"""Every free-text field round-trips SQL and HTML harmlessly: what a customer types, the names
platforms give, touchpoint properties, refs and idempotency keys come back exactly as sent,
as text, in chats, the team's alert, the web page, the database, `palaute report` and
`palaute export`; and the answers table is still there."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from pathlib import Path

import aiohttp

from bot.app import PalauteApp
from bot.delivery.triggers import ContactSpec, TriggerRequest
from tests.conftest import AppFactory, make_config
from tests.fakes.slack_api import FakeSlack, fake_slack  # noqa: F401
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.palaute_process import ROOT, integrity, palaute_command, query, write_config
from tests.slack_harness import AINO, start_slack_app
from tests.telegram_helpers import settle, telegram_config, wait_for_text
from tests.web_pages import Browser

SQL = "'; DROP TABLE answers; --"
HTML = "<script>alert('palaute')</script>"
BOTH = f'{SQL} {HTML} " OR 1=1 -- {{event_name}} %s ${{TOKEN}}'
GROUP = -1_001_555_000_111
API_TOKEN = "test-api-token"

SURVEY = f"""
[team]
report_to = ["telegram:{GROUP}"]
daily_summary = "off"
weekly_digest = false

[surveys.order]
title = "Order"
intro = "Your order {{order}} arrived."
[[surveys.order.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
[[surveys.order.questions]]
id = "why"
type = "text"
text = "What is the main reason for your score?"
[[surveys.order.questions]]
id = "fix"
type = "text"
text = "What should we fix first?"

[touchpoints.order]
survey = "order"
"""


SURVEY_ONLY = SURVEY.split("[surveys.order]", 1)[1]
"""The survey and its touchpoint without the team's Telegram group."""


async def _trigger(
    app: PalauteApp, body: dict[str, object], key: str, status: int = 202
) -> dict[str, object]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{app.http.port}/api/v1/touchpoints",
            json=body,
            headers={"Authorization": f"Bearer {API_TOKEN}", "Idempotency-Key": key},
        ) as response,
    ):
        assert response.status == status, await response.text()
        result: dict[str, object] = await response.json()
        return result


async def _cli(*args: str, environ: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        *palaute_command(), *args,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **environ},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


def _tables(db_path: Path) -> set[str]:
    return {
        str(row[0]) for row in query(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    }


async def test_hostile_text_round_trips_through_telegram_the_team_alert_report_and_export(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path, SURVEY))
    tables = _tables(db_path)
    name = f"{HTML}{SQL}"[:64]
    customer = fake.user(880_001, first_name=name)
    order = {
        "touchpoint": "order",
        "contact": {"telegram": customer.id},
        "properties": {"order": SQL, HTML: BOTH},
    }
    await _trigger(app, order, key=SQL)
    intro = await wait_for_text(fake, customer, "Your order")
    assert intro.text == f"Your order {SQL} arrived."  # a property is text, not a template
    question = await wait_for_text(fake, customer, "How likely")
    fake.push_callback(customer, question, question.callback_data_for("2"))  # a detractor
    why = await wait_for_text(fake, customer, "main reason")
    fake.push_text(customer, SQL)
    fix = await wait_for_text(fake, customer, "fix first")
    fake.push_text(customer, BOTH)
    await wait_for_text(fake, customer, "Thank you for your feedback!")
    await settle(app, fake, timeout=10)

    # The chat shows each answer as the customer typed it.
    assert why.text == f"What is the main reason for your score?\n\nYour answer: {SQL}"
    assert fix.text == f"What should we fix first?\n\nYour answer: {BOTH}"
    # The team's alert is HTML: what customers wrote arrives escaped and reads as typed.
    [alert] = [m for m in fake.sent_messages(GROUP) if m.parse_mode == "HTML"]
    shown = alert.plain_text or ""
    assert name in shown and SQL in shown and HTML not in (alert.text or "")
    # The database has every table and every value, exactly.
    assert _tables(db_path) == tables
    [invitation] = await app.store.invitations.listing()
    answers, _ = await app.store.answers.for_invitation(invitation.id)
    assert answers == {"nps": 2, "why": SQL, "fix": BOTH}
    assert invitation.properties == {"order": SQL, HTML: BOTH}
    contact = await app.store.contacts.find("telegram", str(customer.id))
    assert contact is not None and contact.display_name == name
    again = await _trigger(app, order, SQL, 200)  # a retry of the same request
    assert again["invitation_id"] == invitation.id and again["duplicate"] is True  # the key, intact

    # The operator's tools print it as text.
    config = write_config(db_path.parent, fake)
    environ = {"PALAUTE_TEST_API_TOKEN": "x", "PALAUTE_TEST_TELEGRAM_TOKEN": fake.token}
    report = await _cli("report", "--config", str(config), "--comments", "5", environ=environ)
    assert SQL in report and BOTH in report
    lines = await _cli("export", "--config", str(config), "--format", "jsonl", environ=environ)
    exported = {row["question"]: row for row in map(json.loads, lines.splitlines())}
    assert exported["why"]["value"] == SQL and exported["fix"]["value"] == BOTH
    assert exported["why"]["properties"] == {"order": SQL, HTML: BOTH}
    table = await _cli("export", "--config", str(config), "--format", "csv", environ=environ)
    rows = {row["question"]: row for row in csv.DictReader(io.StringIO(table))}
    assert rows["fix"]["value"] == BOTH
    assert _tables(db_path) == tables
    assert integrity(db_path) == "ok"


async def test_hostile_text_round_trips_through_a_web_survey(
    app_factory: AppFactory, db_path: Path
) -> None:
    app = await app_factory(make_config("[surveys.order]" + SURVEY_ONLY, db_path))
    result = await _trigger(
        app,
        {
            "touchpoint": "order",
            "contact": {"web": f"{SQL}@example.com"},
            "properties": {"order": HTML},
        },
        key=HTML,
    )
    url = str(result["survey_url"])
    async with Browser(f"http://127.0.0.1:{app.http.port}") as browser:
        page = await browser.open(url)
        assert page.status == 200
        raw_page = await (await browser.session.get(browser._url(url))).text()
        assert HTML not in raw_page and "&lt;script&gt;" in raw_page  # the intro, escaped
        await browser.answer("3")
        await browser.answer(SQL, typed=True)
        page = await browser.answer(HTML, typed=True)
        assert page.status == 200
    [invitation] = await app.store.invitations.listing()
    answers, _ = await app.store.answers.for_invitation(invitation.id)
    assert answers == {"nps": 3, "why": SQL, "fix": HTML}
    contact = await app.store.contacts.get(invitation.contact_id or 0)
    # Stored as given, except that an e-mail address is kept in one spelling (lower case).
    assert contact is not None and contact.address == f"{SQL}@example.com".lower()
    assert "answers" in _tables(db_path)


def _slack_escaped(text: str) -> str:
    """What Slack sends for what the person typed: &, < and > as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def test_hostile_text_round_trips_through_slack(
    app_factory: AppFactory, fake_slack: FakeSlack, db_path: Path
) -> None:
    fake_slack.customer_texts |= {HTML, BOTH}
    slack = await start_slack_app(app_factory, fake_slack, db_path, "[surveys.order]" + SURVEY_ONLY)
    await slack.app.triggers.trigger(
        TriggerRequest("order", ContactSpec("slack", AINO), {"order": HTML}, language="en")
    )
    intro, question = await slack.wait_for_dms(AINO, 2)
    # The notification text is mrkdwn, so escaped; the block shows it as plain text.
    assert intro["text"] == _slack_escaped(f"Your order {HTML} arrived.")
    assert intro["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": f"Your order {HTML} arrived.",
        "emoji": True,
    }
    await slack.click(AINO, question, "2")
    await slack.wait_for_dms(AINO, 3)
    await slack.dm(AINO, _slack_escaped(SQL))
    await slack.wait_for_dms(AINO, 4)
    await slack.dm(AINO, _slack_escaped(BOTH))
    messages = await slack.wait_for_dms(AINO, 5)
    assert any(f"Your answer: {_slack_escaped(BOTH)}" in m["text"] for m in messages)
    assert await slack.answers(AINO) == {"nps": 2, "why": SQL, "fix": BOTH}
    assert "answers" in _tables(db_path)
