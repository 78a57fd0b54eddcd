"""palaute on the fake Cloud API: its config, the webhook address, and waiting for the chat."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.app import PalauteApp
from bot.channels.whatsapp.settings import WEBHOOK_PATH
from bot.config import Config
from tests.conftest import make_config
from tests.fakes.whatsapp_api import FakeTemplate, FakeWhatsApp, SentMessage

TEMPLATE = FakeTemplate(
    "palaute_feedback",
    "fi",
    "Hei! Kiitos tilauksestasi {{1}}. Vastaisitko kahteen lyhyeen kysymykseen?",
    quick_replies=("Vastaan",),
)
TEMPLATE_EN = FakeTemplate(
    "palaute_feedback",
    "en",
    "Hi! Thank you for your order {{1}}. Would you answer two quick questions?",
    quick_replies=("Sure",),
)


def whatsapp_environ(fake: FakeWhatsApp) -> dict[str, str]:
    return {
        "WHATSAPP_TOKEN": fake.token,
        "WHATSAPP_APP_SECRET": fake.app_secret,
        "WHATSAPP_VERIFY_TOKEN": "verify-me",
    }


def whatsapp_config(
    fake: FakeWhatsApp, db_path: Path | str, toml: str = "", section: str = ""
) -> Config:
    head = (
        '[server]\nport = 0\napi_token = "test-api-token"\n'
        'public_url = "https://palaute.example"\n'
        "[whatsapp]\n"
        f'phone_number_id = "{fake.phone_number_id}"\n'
        'access_token = "${WHATSAPP_TOKEN}"\n'
        'app_secret = "${WHATSAPP_APP_SECRET}"\n'
        'verify_token = "${WHATSAPP_VERIFY_TOKEN}"\n'
        f'api_version = "{fake.api_version}"\n'
        f'base_url = "{fake.base_url}"\n'
        f"{section}\n"
    )
    return make_config(head + toml, db_path, whatsapp_environ(fake))


def webhook_url(app: PalauteApp) -> str:
    return f"http://127.0.0.1:{app.http.port}{WEBHOOK_PATH}"


async def connect(app: PalauteApp, fake: FakeWhatsApp) -> None:
    """Point the fake's webhook at the running palaute (as the app dashboard does)."""
    fake.webhook_url = webhook_url(app)


async def wait_for_message(
    fake: FakeWhatsApp,
    wa_id: str,
    fragment: str,
    timeout: float = 10.0,
    *,
    after: SentMessage | None = None,
) -> SentMessage:
    """The first message to `wa_id` (after `after`, if given) that shows `fragment`, waiting
    for it."""
    deadline = time.monotonic() + timeout
    while True:
        messages = fake.sent_to(wa_id)
        if after is not None:
            messages = messages[next(i for i, m in enumerate(messages) if m is after) + 1 :]
        for message in messages:
            if fragment in message.text:
                return message
        if time.monotonic() > deadline:
            shown = [m.text for m in fake.sent_to(wa_id)]
            raise AssertionError(f"no message with {fragment!r} to {wa_id}; sent: {shown}")
        await asyncio.sleep(0.02)


async def settle(app: PalauteApp, fake: FakeWhatsApp, rounds: int = 3) -> None:
    """Let webhooks, the inbox and the outbox run dry."""
    for _ in range(rounds):
        await fake.webhooks_delivered()
        await asyncio.sleep(0.15)
