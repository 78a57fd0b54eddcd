"""Secrets never reach a log line or an error message.

`palaute run` runs at DEBUG with known secrets (Telegram bot token, the Telegram webhook secret
palaute generates itself, Slack bot token and signing secret, trigger API token, link signing
key, dashboard password, outgoing webhook secret) through a whole scenario: a touchpoint, a
customer answering in Telegram, a Slack message, the dashboard, an outgoing webhook, and a
wrong secret for each door. Then every byte it logged, and every answer it gave, is searched.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.channels.telegram.channel import SECRET_HEADER, WEBHOOK_PATH
from bot.http.dashboard import LOGIN_COOKIE
from tests.any_time import at_any_time
from tests.fakes.slack_api import FORM_CONTENT_TYPE, FakeSlack, SlackInbound, slash_command_body
from tests.fakes.telegram_api import FakeTelegram
from tests.loopback import free_port, serve
from tests.palaute_process import (
    ROOT,
    PalauteProcess,
    palaute_command,
    query,
    wait_for_http,
)

pytestmark = pytest.mark.slow

SECRETS = {
    "TG_TOKEN": "424242:AAHs3cretTelegramBotToken424242xyz",
    "API_TOKEN": "api-s3cret-of-palaute-1234567",
    "LINK_KEY": "link-signing-s3cret-key-5678",
    "DASHBOARD": "dashboard-s3cret-pass-9012",
    "SLACK_BOT": "xoxb-s3cret-slack-bot-token-3456",
    "SLACK_SIGNING": "slack-signing-s3cret-7890",
    "HOOK_SECRET": "whsec_" + base64.b64encode(b"s3cretOutgoingWebhookKey1357").decode(),
}
HOOK_KEY = "s3cretOutgoingWebhookKey1357"
COMMENT = "Kuriiri jätti paketin naapurille ilman lupaa"
PHONE = "+358401112233"
EMAIL = "maija.pii@example.com"
SLACK_EMAIL = "c.pii@example.com"
"""What the whsec_ secret decodes to: the signing key, no less secret."""


def _config(folder: Path, port: int, telegram: FakeTelegram, slack: FakeSlack, hook: str) -> Path:
    path = folder / "palaute.toml"
    path.write_text(
        at_any_time(
            f"""
[storage]
path = "{folder / "palaute.db"}"

[server]
host = "127.0.0.1"
port = {port}
public_url = "https://palaute.example"
api_token = "${{API_TOKEN}}"
secret_key = "${{LINK_KEY}}"
dashboard_password = "${{DASHBOARD}}"

[telegram]
token = "${{TG_TOKEN}}"
base_url = "{telegram.base_url}"
mode = "webhook"

[slack]
bot_token = "${{SLACK_BOT}}"
signing_secret = "${{SLACK_SIGNING}}"
base_url = "{slack.api_url}"

[team]
daily_summary = "off"
weekly_digest = false

[[webhooks]]
url = "{hook}"
events = ["response.completed"]
secret = "${{HOOK_SECRET}}"
"""
        ),
        encoding="utf-8",
    )
    return path


async def _webhook_receiver() -> tuple[web.AppRunner, str, list[dict[str, object]]]:
    received: list[dict[str, object]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append({"headers": dict(request.headers), "body": await request.text()})
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, url = await serve(app)
    return runner, f"{url}/hook", received


async def test_no_secret_in_any_log_line_or_answer(tmp_path: Path) -> None:
    telegram = FakeTelegram(token=SECRETS["TG_TOKEN"])
    telegram.webhook_require_https = True
    slack = FakeSlack(bot_token=SECRETS["SLACK_BOT"], signing_secret=SECRETS["SLACK_SIGNING"])
    slack.add_user("U0CUSTOMER", name="Customer", email=SLACK_EMAIL)
    await telegram.start()
    await slack.start()
    runner, hook_url, hooks = await _webhook_receiver()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = _config(tmp_path, port, telegram, slack, hook_url)
    said: list[str] = []  # every answer palaute gave over HTTP
    bot = PalauteProcess(config, telegram, log_level="DEBUG", environ=SECRETS)
    try:
        code, out, err = await _run("check", "--config", str(config))
        assert code == 0, err
        said += [out, err]

        await bot.start()
        await telegram.wait_for(lambda: telegram.webhook is not None or bot.exited, 30)
        assert telegram.webhook is not None, bot.log()
        webhook_secret = str(telegram.webhook["secret_token"])
        async with aiohttp.ClientSession() as http:
            await wait_for_http(port)
            customer = telegram.user(890_001, first_name="Maija")

            # A touchpoint, and the same with a wrong token (one character off).
            for token, expected in (
                (SECRETS["API_TOKEN"], 202),
                (SECRETS["API_TOKEN"][:-1] + "X", 401),
            ):
                async with http.post(
                    f"{base}/api/v1/touchpoints",
                    json={
                        "touchpoint": "nps",
                        "contact": {"telegram": customer.id},
                        "properties": {"phone": PHONE, "email": EMAIL},
                    },
                    headers={"Authorization": f"Bearer {token}"},
                ) as response:
                    assert response.status == expected
                    said.append(await response.text())

            # The customer answers through the webhook; a caller without the secret is refused.
            question = await _wait_text(telegram, customer.id, "How likely")
            tap = telegram.push_callback(customer, question, question.callback_data_for("9"))
            said.append(await _post_update(http, base, tap, webhook_secret))
            await _wait_text(telegram, customer.id, "main reason")
            said.append(
                await _post_update(
                    http, base, telegram.push_text(customer, COMMENT), webhook_secret
                )
            )
            await _wait_text(telegram, customer.id, "Thank you")
            # The personal survey link, opened in a browser: its path is the token.
            [(survey_token,)] = query(tmp_path / "palaute.db", "SELECT token FROM invitations")
            async with http.get(f"{base}/s/{survey_token}") as response:
                said.append(await response.text())
            said.append(
                await _post_update(http, base, {"update_id": 1}, webhook_secret[:-1] + "X", 403)
            )

            # The dashboard: a wrong password, then the right one. (Its cookies are Secure,
            # public_url being https: carried by hand over this plain http.)
            for password, status in (
                (SECRETS["DASHBOARD"] + "X", 401),
                (SECRETS["DASHBOARD"], 303),
            ):
                async with http.get(f"{base}/dashboard/login") as response:
                    form = await response.text()
                    nonce = response.cookies[LOGIN_COOKIE].value
                token = re.search(r'name="token" value="([^"]+)"', form)
                assert token is not None, form
                async with http.post(
                    f"{base}/dashboard/login",
                    data={"token": token.group(1), "password": password},
                    cookies={LOGIN_COOKIE: nonce},
                    allow_redirects=False,
                ) as response:
                    assert response.status == status, await response.text()
                    said.append(await response.text())
                    said.append(str(response.headers))

        # Slack: a signed slash command, and one signed with a wrong secret.
        inbound = SlackInbound(f"{base}/slack/events", SECRETS["SLACK_SIGNING"])
        body = slash_command_body("/palaute", "help", "U0CUSTOMER", fake=slack)
        status, text = await inbound.post(body, FORM_CONTENT_TYPE)
        assert status == 200
        said.append(text)
        status, text = await inbound.post(body, FORM_CONTENT_TYPE, bad_signature=True)
        assert status == 401
        said.append(text)

        await telegram.wait_for(lambda: bool(hooks), 30, message="the outgoing webhook")
        assert await bot.terminate() == 0
    finally:
        await bot.ensure_stopped()
        await runner.cleanup()
        await slack.stop()
        await telegram.stop()

    log = bot.log()
    assert "DEBUG" in log and "Calling Bot API endpoint" in log  # it really logged at DEBUG
    generated = {
        f"setting {key}": value
        for key, value in query(tmp_path / "palaute.db", "SELECT key, value FROM settings")
    }
    everything = {
        **SECRETS,
        "webhook signing key": HOOK_KEY,
        "telegram webhook secret": webhook_secret,
        **generated,
    }
    output = "\n".join([log, *said, json.dumps(hooks)])
    leaked = {name for name, value in everything.items() if value and value in output}
    # The outgoing webhook's signature header is derived from the secret, never the secret.
    assert not leaked, f"secrets in the output: {sorted(leaked)}"
    bot_id = SECRETS["TG_TOKEN"].split(":")[1]
    assert bot_id not in output
    # Nor does anything personal reach the log: the link that answers as the customer, what
    # they wrote, their phone number and e-mail addresses.
    personal = {
        "survey token": str(survey_token),
        "comment": COMMENT,
        "phone": PHONE,
        "e-mail": EMAIL,
        "slack e-mail": SLACK_EMAIL,
    }
    in_log = {name for name, value in personal.items() if value in log}
    assert not in_log, f"personal data in the DEBUG log: {sorted(in_log)}"


async def _wait_text(fake: FakeTelegram, chat: int, fragment: str):  # type: ignore[no-untyped-def]
    await fake.wait_for(
        lambda: any(fragment in (m.text or "") for m in fake.sent_messages(chat)), 20
    )
    return next(m for m in reversed(fake.sent_messages(chat)) if fragment in (m.text or ""))


async def _post_update(
    http: aiohttp.ClientSession,
    base: str,
    update: dict[str, object],
    secret: str,
    status: int = 200,
) -> str:
    async with http.post(
        f"{base}{WEBHOOK_PATH}", json=update, headers={SECRET_HEADER: secret}
    ) as response:
        assert response.status == status
        return await response.text()


async def _run(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *palaute_command(), *args,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **SECRETS},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


def test_library_debug_lines_keep_what_happened_but_not_the_data() -> None:
    import io
    import logging

    from bot.logs import configure_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("aiosqlite").level)
    try:
        configure_logging("DEBUG", [])
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        stream = io.StringIO()
        handler.setStream(stream)
        _log_a_few_library_lines()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("aiosqlite").setLevel(saved[2])
    lines = stream.getvalue()
    assert "Received the following response - status: […]" in lines
    assert "Calling Bot API endpoint `[…]` with parameters `[…]`" in lines
    assert '"GET /s/[token]?[…] HTTP/1.1" 200' in lines and "palaute.example/s/[token]" in lines
    assert "eyJwaG9uZSI6" not in lines  # the link's properties
    assert "executing" not in lines  # aiosqlite's per-query lines are off
    assert "/s/s-nps-AbCdEfGhIjKlMnOp" in lines  # an open survey's link is public
    assert "/s/s-nps-XH7Mrn7Xx0OlbQm- " in lines  # also when its signature ends in "-"
    for value in (LIBRARY_TOKEN, COMMENT, SLACK_EMAIL):
        assert value not in lines


LIBRARY_TOKEN = "AbC123-personal_token"


def _log_a_few_library_lines() -> None:
    import logging

    token = LIBRARY_TOKEN
    logging.getLogger("slack_sdk.web.base_client").debug(
        f"Received the following response - status: 200, body: {{'email': '{SLACK_EMAIL}'}}"
    )
    logging.getLogger("telegram.ext.ExtBot").debug(
        "Calling Bot API endpoint `%s` with parameters `%s`", "sendMessage", {"text": COMMENT}
    )
    logging.getLogger("aiosqlite").debug("executing %s", ("SELECT ?", (token,)))
    logging.getLogger("aiohttp.access").info(
        '127.0.0.1 "GET /s/%s?p=%s HTTP/1.1" 200', token, "eyJwaG9uZSI6ICIrMzU4In0.sig"
    )
    logging.getLogger("bot.answers.surveys").info("opened https://palaute.example/s/%s", token)
    logging.getLogger("bot.http").info("demo: https://palaute.example/s/s-nps-AbCdEfGhIjKlMnOp")
    logging.getLogger("bot.http").info("demo: http://localhost:8080/s/s-nps-XH7Mrn7Xx0OlbQm- (a)")
