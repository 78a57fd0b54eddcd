"""t.me deep links: a survey link, a personal link that ties an order's ref to a chat."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

from pathlib import Path

from bot.app import PalauteApp
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.tokens import TokenKind, encode_id
from storage.records import InvitationState
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.telegram_helpers import MovableClock, channel_of, telegram_config, wait_for_text

QUICK = """
[surveys.quick]
title = "Quick"
[[surveys.quick.questions]]
id = "ces"
type = "ces"
text = "It was easy to get what I needed."
"""


def _payload(app: PalauteApp, kind: TokenKind, value: str) -> str:
    link = channel_of(app).start_link(app.signer.sign(kind, value))
    assert link is not None
    return link.partition("?start=")[2]


async def test_a_survey_link_starts_the_survey_and_reopening_resumes_it(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path, QUICK), clock=MovableClock())
    user = fake.user(601, language_code="en")
    payload = _payload(app, TokenKind.OPEN_SURVEY, "quick")

    fake.push_text(user, f"/start {payload}")
    question = await wait_for_text(fake, user, "It was easy to get what I needed")
    assert len(question.buttons) == 7  # CES 1–7 in one row

    fake.push_text(user, f"/start {payload}")  # the QR code scanned again
    await fake.wait_for(lambda: len(fake.sent_messages(user.id)) == 2)
    again = fake.last_message(user.id)
    assert again.text == question.text and again.buttons == question.buttons
    fake.push_callback(user, again, again.callback_data_for("6"))
    await wait_for_text(fake, user, "Thank you for your feedback!")

    fake.push_text(user, f"/start {payload}")
    await wait_for_text(fake, user, "You have already answered this survey")
    [invitation] = await app.store.invitations.listing()
    assert invitation.state is InvitationState.COMPLETED


async def test_a_tampered_link_is_refused(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path))
    payload = _payload(app, TokenKind.JOIN, "vip_party")
    user = fake.user(602)
    fake.push_text(user, f"/start {payload.replace('vip_party', 'vip_parte')}")
    await wait_for_text(fake, user, "this link is not valid")
    assert await app.store.audiences.members("vip_parte") == []


async def test_a_personal_link_ties_an_order_ref_to_the_chat_that_opens_it(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path))
    # The shop triggers a survey for its own customer id before palaute knows their chat.
    await app.triggers.trigger(TriggerRequest("csat", ContactSpec(ref="crm-42")))
    by_ref = await app.store.contacts.find_by_ref("crm-42")
    assert by_ref is not None and by_ref.channel is None
    payload = _payload(app, TokenKind.LINK_REF, encode_id(by_ref.id))  # in the order e-mail

    owner = fake.user(603, language_code="en")
    fake.push_text(owner, f"/start {payload}")
    await wait_for_text(fake, owner, "you are all set")
    linked = await app.store.contacts.find("telegram", "603")
    assert linked is not None and linked.ref == "crm-42"
    await app.triggers.trigger(TriggerRequest("nps", ContactSpec(ref="crm-42")))
    await wait_for_text(fake, owner, "recommend us")

    # The e-mail forwarded to someone else: their chat does not take over the customer.
    stranger = fake.user(604)
    fake.push_text(stranger, f"/start {_payload(app, TokenKind.LINK_REF, encode_id(linked.id))}")
    await wait_for_text(fake, stranger, "this link is not valid")
    still = await app.store.contacts.find_by_ref("crm-42")
    assert still is not None and still.address == "603"


async def test_the_trigger_api_hands_out_the_personal_link_for_a_ref(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    import aiohttp

    fake = fake_telegram
    app = await app_factory(
        telegram_config(fake, db_path, server='port = 0\napi_token = "t0ken-api"')
    )
    url = f"http://127.0.0.1:{app.http.port}/api/v1/touchpoints"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url,
            json={"touchpoint": "csat", "contact": {"ref": "crm-77"}},
            headers={"Authorization": "Bearer t0ken-api"},
        ) as response,
    ):
        assert response.status == 202
        body = await response.json()
    link = body["telegram_link"]
    assert link.startswith(f"https://t.me/{fake.bot_username}?start=r-")
    customer = fake.user(605, language_code="en")
    fake.push_text(customer, f"/start {link.partition('?start=')[2]}")
    await wait_for_text(fake, customer, "you are all set")
    await app.invitations.tick()
    # The survey the shop triggered before the chat was known now reaches it.
    await wait_for_text(fake, customer, "How satisfied were you")
    invitation = await app.store.invitations.get(body["invitation_id"])
    assert invitation is not None and invitation.state is InvitationState.SENT
