"""No update that reached palaute is lost: the inbox, polling confirmation and the webhook."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from bot.app import PalauteApp
from bot.channels.telegram.channel import SECRET_HEADER, WEBHOOK_PATH
from bot.delivery.triggers import ContactSpec, TriggerRequest
from storage.store import Store
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.telegram_helpers import settle, telegram_config, texts, wait_for_text

QUICK = """
[surveys.quick]
title = "Quick"
[[surveys.quick.questions]]
id = "ces"
type = "ces"
text = "It was easy to get what I needed."
"""
WEBHOOK_SERVER = 'port = 0\napi_token = "test-api-token"\npublic_url = "https://palaute.example"'


async def test_an_update_stored_before_a_crash_is_handled_once_at_restart(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    config = telegram_config(fake, database_location, QUICK)
    user = fake.user(801)
    first = PalauteApp(config)
    await first.start()
    try:
        await first.triggers.trigger(TriggerRequest("quick", ContactSpec("telegram", "801")))
        question = await wait_for_text(fake, user, "easy to get")
    finally:
        await first.stop()

    # The customer taps; palaute stores the update in its inbox and dies before handling it or
    # confirming it to Telegram, which therefore delivers it again after the restart.
    tap = fake.push_callback(user, question, question.callback_data_for("6"))
    store = await Store.open(database_location)
    try:
        await store.inbox.store_many("telegram", [(str(tap["update_id"]), json.dumps(tap))], now=0)
    finally:
        await store.close()

    second = await app_factory(config)
    await settle(second, fake)
    [invitation] = await second.store.invitations.listing()
    answers, _skipped = await second.store.answers.for_invitation(invitation.id)
    assert answers == {"ces": 6}
    assert question.text is not None and question.text.endswith("Your answer: 6")
    assert len(fake.calls_to("editMessageText")) == 1
    assert texts(fake, user).count("Thank you for your feedback!") == 1
    assert await second.store.inbox.unprocessed("telegram") == []


async def test_an_unreadable_inbox_row_does_not_stop_the_start(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = await Store.open(db_path)
    try:
        await store.inbox.store_many("telegram", [("5", '{"update_id": 5, "message": "?"}')], now=0)
    finally:
        await store.close()
    app = await app_factory(telegram_config(fake_telegram, db_path))
    assert await app.store.inbox.unprocessed("telegram") == []
    assert "Telegram update 5 cannot be read" in caplog.text


async def test_polling_confirms_only_what_is_stored_and_survives_network_errors(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    fake.webhook = {"url": "https://old.example/hook"}  # left over from webhook mode
    app = await app_factory(telegram_config(fake, db_path))
    assert fake.webhook is None  # getUpdates only works without a webhook

    user = fake.user(802)
    fake.fail_next("getUpdates", 502)  # the poll after /help: Telegram has a bad moment
    fake.push_text(user, "/help")
    await fake.wait_for(lambda: 502 in [call.status for call in fake.calls_to("getUpdates")])
    fake.push_text(user, "/stop")  # arrives while palaute waits to poll again
    await wait_for_text(fake, user, "You will not get any more surveys")
    await settle(app, fake)
    assert [t.split("\n")[0] for t in texts(fake, user)] == [
        "I ask short feedback surveys. Tap a button or type your answer.",
        "You will not get any more surveys from us. Send /start if you change your mind.",
    ]
    assert fake.pending_updates == []
    stored = await app.store.database.fetch_all("SELECT processed_at FROM inbox")
    assert len(stored) == 2 and all(row["processed_at"] for row in stored)


async def _post(app: PalauteApp, body: object, secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    url = f"http://127.0.0.1:{app.http.port}{WEBHOOK_PATH}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=json.dumps(body), headers=headers) as response,
    ):
        return response.status


async def test_webhook_mode_accepts_only_telegram_and_handles_each_update_once(
    fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = PalauteApp(telegram_config(fake, db_path, mode="webhook", server=WEBHOOK_SERVER))
    await app.start()
    try:
        assert fake.webhook is not None
        assert fake.webhook["url"] == "https://palaute.example/telegram/webhook"
        assert fake.webhook["allowed_updates"] == ["message", "callback_query"]
        secret = str(fake.webhook["secret_token"])
        assert len(secret) >= 32

        user = fake.user(803)
        update = fake.push_text(user, "/start")
        assert await _post(app, update, None) == 403
        assert await _post(app, update, "guessed") == 403
        assert await app.store.inbox.unprocessed("telegram") == []
        assert await app.store.contacts.find("telegram", "803") is None

        assert await _post(app, update, secret) == 200
        await wait_for_text(fake, user, "Hi! I ask a few quick questions")
        assert await _post(app, update, secret) == 200  # Telegram retried: no second welcome
        assert await _post(app, {"no": "update"}, secret) == 400
        await settle(app, fake)
        assert len(fake.sent_messages(user.id)) == 1
        assert fake.calls_to("getUpdates") == []
    finally:
        await app.stop()
    assert fake.webhook is None  # Telegram keeps updates while palaute is down


async def test_webhook_secret_from_the_config(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    config = telegram_config(
        fake,
        db_path,
        mode="webhook",
        server=WEBHOOK_SERVER,
        telegram='webhook_secret = "${TG_HOOK_SECRET}"',
        environ={"TG_HOOK_SECRET": "s3cret-from-env"},
    )
    app = await app_factory(config)
    assert fake.webhook is not None and fake.webhook["secret_token"] == "s3cret-from-env"
    user = fake.user(804)
    assert await _post(app, fake.push_text(user, "/help"), "s3cret-from-env") == 200
    await wait_for_text(fake, user, "I ask short feedback surveys")
