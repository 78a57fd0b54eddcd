"""The fake Cloud API is as strict as the real one: pywa's own requests, over HTTP, refused
with the Cloud API's error codes (as pywa's exception classes) wherever Meta refuses them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from pywa.errors import (
    InvalidParameter,
    RateLimitHit,
    TemplateNotExists,
    TemplateParamCountMismatch,
    WhatsAppError,
)
from pywa_async import WhatsApp
from pywa_async.types import Button, Section, SectionList, SectionRow
from pywa_async.types.templates import BodyText, TemplateLanguage

from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.loopback import serve
from tests.whatsapp_helpers import TEMPLATE

CUSTOMER = "358401234567"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    fake = FakeWhatsApp(templates=[TEMPLATE])
    await fake.start()
    fake.last_customer_message[CUSTOMER] = fake.now()  # inside the 24-hour window
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def client(fake: FakeWhatsApp) -> AsyncIterator[WhatsApp]:
    session = httpx.AsyncClient()
    wa = WhatsApp(phone_id=fake.phone_number_id, token=fake.token, session=session,
                  api_version=fake.api_version.removeprefix("v"))  # fmt: skip
    session.base_url = httpx.URL(f"{fake.base_url}/{fake.api_version}")
    yield wa
    await session.aclose()


def _rows(count: int, title: str = "Row") -> list[SectionRow]:
    return [SectionRow(f"{title} {n}", f"r{n}") for n in range(count)]


async def test_what_the_platform_takes_goes_through(fake: FakeWhatsApp, client: WhatsApp) -> None:
    await client.send_message(CUSTOMER, "x" * 4096)
    await client.send_message(CUSTOMER, "b" * 1024, buttons=[Button("t" * 20, "i" * 256)] * 1)
    three = [Button(f"Option {n}", f"o{n}") for n in range(3)]
    await client.send_message(CUSTOMER, "Pick one", buttons=three)
    rows = [SectionRow("r" * 24, "i" * 200, description="d" * 72), *_rows(9)]
    await client.send_message(
        CUSTOMER, "List", buttons=SectionList("b" * 20, [Section("s" * 24, rows)])
    )
    await client.send_template(CUSTOMER, name="palaute_feedback", language=TemplateLanguage.FINNISH,
                               params=[BodyText.params("#1")])  # fmt: skip
    assert not fake.errors
    assert [m.type for m in fake.sent] == [
        "text",
        "interactive",
        "interactive",
        "interactive",
        "template",
    ]
    assert (
        fake.sent[-1].text
        == "Hei! Kiitos tilauksestasi #1. Vastaisitko kahteen lyhyeen kysymykseen?"
    )


@pytest.mark.parametrize(
    ("send", "details"),
    [
        (lambda wa: wa.send_message(CUSTOMER, "x" * 4097), "text.body length invalid"),
        (lambda wa: wa.send_message(CUSTOMER, "b" * 1025, buttons=[Button("OK", "ok")]), "interactive.body.text"),
        (lambda wa: wa.send_message(CUSTOMER, "Pick", buttons=[Button(f"O{n}", f"o{n}") for n in range(4)]), "between 1 and 3 buttons"),
        (lambda wa: wa.send_message(CUSTOMER, "Pick", buttons=[Button("t" * 21, "a")]), "Button title length invalid"),
        (lambda wa: wa.send_message(CUSTOMER, "Pick", buttons=[Button("t", "i" * 257)]), "reply.id"),
        (lambda wa: wa.send_message(CUSTOMER, "Pick", buttons=[Button("Same", "a"), Button("Same", "b")]), "unique"),
        (lambda wa: wa.send_message(CUSTOMER, "L", buttons=SectionList("Open", [Section("S", _rows(11))])), "Total row count"),
        (lambda wa: wa.send_message(CUSTOMER, "L", buttons=SectionList("Open", [Section("S", _rows(6)), Section("T", _rows(5, "More"))])), "Total row count"),
        (lambda wa: wa.send_message(CUSTOMER, "L", buttons=SectionList("Open", [Section("S", _rows(1, "r" * 24))])), "Row title length invalid"),
        (lambda wa: wa.send_message(CUSTOMER, "L", buttons=SectionList("Open", [Section("S", [SectionRow("r", "i", description="d" * 73)])])), "description"),
        (lambda wa: wa.send_message(CUSTOMER, "L", buttons=SectionList("b" * 21, [Section("S", _rows(2))])), "action.button"),
        (lambda wa: wa.send_message(CUSTOMER, "L", buttons=SectionList("Open", [Section("s" * 25, _rows(2))])), ".title"),
        (lambda wa: wa.send_message("040123", "hi"), "international format"),
    ],
)  # fmt: skip
async def test_what_the_platform_refuses_is_refused_with_its_code(
    fake: FakeWhatsApp, client: WhatsApp, send: object, details: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await send(client)  # type: ignore[operator]
    assert raised.value.code == 131009
    assert details in str(raised.value.details)
    assert fake.sent == []


async def test_templates_need_their_name_language_and_parameter_count(
    fake: FakeWhatsApp, client: WhatsApp
) -> None:
    with pytest.raises(TemplateNotExists):
        await client.send_template(
            CUSTOMER, name="palaute_feedback", language=TemplateLanguage.ENGLISH
        )
    with pytest.raises(TemplateParamCountMismatch):
        await client.send_template(
            CUSTOMER, name="palaute_feedback", language=TemplateLanguage.FINNISH
        )
    with pytest.raises(TemplateParamCountMismatch):
        await client.send_template(
            CUSTOMER, name="palaute_feedback", language=TemplateLanguage.FINNISH,
            params=[BodyText.params("#1", "extra")],
        )  # fmt: skip
    assert fake.sent == []


async def test_free_form_outside_the_window_fails_with_131047_in_a_status(
    fake: FakeWhatsApp, client: WhatsApp
) -> None:
    received: list[bytes] = []

    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        assert request.headers["X-Hub-Signature-256"] == fake.sign(body)
        received.append(body)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", webhook)
    runner, base = await serve(app)
    try:
        fake.webhook_url = f"{base}/hook"
        fake.last_customer_message[CUSTOMER] = fake.now() - 24 * 3600 - 1
        sent = await client.send_message(CUSTOMER, "Still there?")  # accepted, as Meta does
        await client.send_template(CUSTOMER, name="palaute_feedback",
                                   language=TemplateLanguage.FINNISH, params=[BodyText.params("#1")])  # fmt: skip
        await fake.webhooks_delivered()
    finally:
        await runner.cleanup()
    statuses = [json.loads(b)["entry"][0]["changes"][0]["value"]["statuses"][0] for b in received]
    failed = [s for s in statuses if s["status"] == "failed"]
    assert [(s["id"], s["errors"][0]["code"]) for s in failed] == [(sent.id, 131047)]
    assert [s["status"] for s in statuses if s["id"] != sent.id] == ["sent", "delivered"]


async def test_a_retry_follows_a_webhook_that_was_not_answered_200(fake: FakeWhatsApp) -> None:
    answers = [500, 503, 200]
    seen: list[str] = []

    async def webhook(request: web.Request) -> web.Response:
        seen.append(await request.text())
        return web.Response(status=answers[len(seen) - 1])

    app = web.Application()
    app.router.add_post("/hook", webhook)
    runner, base = await serve(app)
    try:
        fake.webhook_url = f"{base}/hook"
        await fake.customer_text(CUSTOMER, "hello")
        await fake.webhooks_delivered()
    finally:
        await runner.cleanup()
    assert len(seen) == 3 and len(set(seen)) == 1  # the same body each time
    assert [d.status for d in fake.deliveries] == [500, 503, 200]


async def test_throughput_and_the_wrong_token_are_refused(
    fake: FakeWhatsApp, client: WhatsApp
) -> None:
    fake.throughput_per_second = 2
    await client.send_message(CUSTOMER, "1")
    await client.send_message("358401111111", "2")
    with pytest.raises(RateLimitHit):
        await client.send_message("358402222222", "3")
    session = httpx.AsyncClient()
    intruder = WhatsApp(phone_id=fake.phone_number_id, token="stolen?", session=session)
    session.base_url = httpx.URL(f"{fake.base_url}/{fake.api_version}")
    with pytest.raises(WhatsAppError) as raised:
        await intruder.send_message(CUSTOMER, "hi")
    await session.aclose()
    assert raised.value.code == 190
