"""WhatsApp's webhook on palaute's HTTP server: the verify-token handshake, the signature on
every call, each event stored before the 200 and handled once, however Meta batches or
retries it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio

from bot.app import PalauteApp
from tests.conftest import AppFactory
from tests.fakes.whatsapp_api import FakeWhatsApp, bsuid
from tests.telegram_helpers import MovableClock
from tests.whatsapp_helpers import connect, settle, wait_for_message, webhook_url, whatsapp_config

CUSTOMER = "358401234567"
OTHER = "358407654321"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    fake = FakeWhatsApp()
    await fake.start()
    yield fake
    await fake.stop()


def _text_event(fake: FakeWhatsApp, *senders: tuple[str, str, str]) -> bytes:
    """One webhook call carrying a text message from each (wa_id, wamid, text)."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": fake.display_phone_number,
            "phone_number_id": fake.phone_number_id,
        },
        "contacts": [
            {"profile": {"name": "Anna"}, "wa_id": wa_id, "user_id": bsuid(wa_id)}
            for wa_id, _, _ in senders
        ],
        "messages": [
            {"from": wa_id, "id": wamid, "timestamp": "1764540000", "type": "text",
             "text": {"body": body}}
            for wa_id, wamid, body in senders
        ],
    }  # fmt: skip
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [{"id": fake.waba_id, "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(envelope).encode()


async def _post(app: PalauteApp, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    async with (
        aiohttp.ClientSession() as session,
        session.post(webhook_url(app), data=body, headers=headers) as response,
    ):
        return response.status


async def _stored(app: PalauteApp) -> int:
    row = await app.store.database.fetch_one(
        "SELECT COUNT(*) AS n FROM inbox WHERE channel = 'whatsapp'"
    )
    assert row is not None
    return int(row["n"])


async def test_the_verify_token_handshake(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path))
    async with aiohttp.ClientSession() as session:
        query = {
            "hub.mode": "subscribe",
            "hub.verify_token": "verify-me",
            "hub.challenge": "1158201444",
        }
        async with session.get(webhook_url(app), params=query) as response:
            assert response.status == 200
            assert await response.text() == "1158201444"
        query["hub.verify_token"] = "guess"
        async with session.get(webhook_url(app), params=query) as response:
            assert response.status == 403
            assert "1158201444" not in await response.text()


async def test_forged_signatures_are_refused_with_401_and_nothing_is_stored(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path))
    body = _text_event(fake, (CUSTOMER, "wamid.forged1", "stop"))
    other_secret = FakeWhatsApp(app_secret="not-the-app-secret")
    assert await _post(app, body, other_secret.sign(body)) == 401
    assert await _post(app, body, None) == 401
    assert await _post(app, body, fake.sign(body).removeprefix("sha256=")) == 401
    assert await _post(app, body, "sha256=" + "ä" * 64) == 401  # not a 500
    tampered = body.replace(b"stop", b"help")
    assert await _post(app, tampered, fake.sign(body)) == 401
    assert await _stored(app) == 0
    assert fake.sent == []
    assert await _post(app, body, fake.sign(body)) == 200  # the real one goes through
    await wait_for_message(fake, CUSTOMER, "You will not get any more surveys")


async def test_a_retried_call_is_handled_once_and_a_batched_one_in_full(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path), clock=MovableClock())
    await connect(app, fake)
    # Meta batches two customers' messages into one call (pywa alone reads the first only).
    body = _text_event(fake, (CUSTOMER, "wamid.in1", "hello"), (OTHER, "wamid.in2", "apua"))
    for wa_id in (CUSTOMER, OTHER):  # posted here, not by the fake: it learns they wrote
        fake.last_customer_message[wa_id] = fake.now()
    for _ in range(3):  # and retries it: the 200 got lost on the way back
        assert await _post(app, body, fake.sign(body)) == 200
    await wait_for_message(fake, CUSTOMER, "I ask short feedback surveys")
    await wait_for_message(fake, OTHER, "Lähetän lyhyitä palautekyselyjä")  # "apua": Finnish
    await settle(app, fake)
    assert len(fake.sent_to(CUSTOMER)) == 1 and len(fake.sent_to(OTHER)) == 1
    assert all(m.statuses == ["sent", "delivered"] for m in fake.sent)
    # The call stored once, as the bytes Meta sent; each event in it handled once, by its key.
    calls = await app.store.database.fetch_all(
        "SELECT payload FROM inbox WHERE channel = 'whatsapp' AND payload LIKE '%wamid.in1%'"
    )
    assert [row["payload"].encode("utf-8") for row in calls] == [body]
    keys = await app.store.database.fetch_all(
        "SELECT event_key FROM whatsapp_events WHERE event_key LIKE 'm:%'"
    )
    assert sorted(row["event_key"] for row in keys) == ["m:wamid.in1", "m:wamid.in2"]


async def test_the_inbox_keeps_the_raw_body_whose_signature_checks_again(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path), clock=MovableClock())
    await connect(app, fake)
    fake.last_customer_message[CUSTOMER] = fake.now()
    # As Meta writes it: non-ASCII unescaped, its own spacing, keys in its own order.
    body = (
        _text_event(fake, (CUSTOMER, "wamid.raw1", "Kiitos, hyvä palvelu ✓"))
        .replace(b"\\u00e4", "ä".encode())
        .replace(b"\\u2713", "✓".encode())
        .replace(b", ", b",  ")
    )
    signature = fake.sign(body)
    assert await _post(app, body, signature) == 200
    await settle(app, fake)
    rows = await app.store.database.fetch_all(
        "SELECT payload, processed_at FROM inbox WHERE channel = 'whatsapp'"
        " AND payload LIKE '%wamid.raw1%'"
    )
    assert len(rows) == 1 and rows[0]["processed_at"] is not None
    stored = rows[0]["payload"].encode("utf-8")
    assert stored == body
    assert fake.sign(stored) == signature


async def test_an_event_sent_again_in_a_call_of_another_shape_is_handled_once(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path), clock=MovableClock())
    await connect(app, fake)
    for wa_id in (CUSTOMER, OTHER):
        fake.last_customer_message[wa_id] = fake.now()
    alone = _text_event(fake, (CUSTOMER, "wamid.again1", "apua"))
    assert await _post(app, alone, fake.sign(alone)) == 200
    await settle(app, fake)
    batched = _text_event(fake, (OTHER, "wamid.again2", "help"), (CUSTOMER, "wamid.again1", "apua"))
    assert await _post(app, batched, fake.sign(batched)) == 200
    await wait_for_message(fake, OTHER, "I ask short feedback surveys")
    await settle(app, fake)
    assert len(fake.sent_to(CUSTOMER)) == 1  # "apua" answered once, not once per call
    rows = await app.store.database.fetch_all(
        "SELECT processed_at, error FROM inbox WHERE channel = 'whatsapp' AND payload LIKE"
        " '%wamid.again%'"
    )
    assert len(rows) == 2 and all(r["processed_at"] and r["error"] is None for r in rows)


async def test_a_signed_body_that_is_not_a_webhook_is_refused_with_400(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path))
    for body in (b"not json", b'{"object": "page", "entry": []}', b"[[[[[[[[[[[[[[[[[[[[[["):
        assert await _post(app, body, fake.sign(body)) == 400
    assert await _stored(app) == 0


async def test_a_customer_whose_handling_waits_holds_nobody_else_up(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path), clock=MovableClock())
    await connect(app, fake)
    fake.slow_readers = {CUSTOMER}  # the Graph API hangs on this customer's read receipts
    fake.read_marks_answered.clear()
    await fake.customer_text(CUSTOMER, "hello")
    await fake.customer_text(CUSTOMER, "stop")
    await fake.customer_text(OTHER, "hello")
    await wait_for_message(fake, OTHER, "I ask short feedback surveys")
    assert fake.sent_to(CUSTOMER) == []
    fake.read_marks_answered.set()
    # Their own messages then come in the order they wrote them.
    await wait_for_message(fake, CUSTOMER, "You will not get any more surveys")
    assert [m.text.split(".")[0] for m in fake.sent_to(CUSTOMER)] == [
        "I ask short feedback surveys",
        "You will not get any more surveys from us",
    ]
