"""SIGKILL a real `palaute run` between WhatsApp's webhook and its handling: nothing is lost.

The webhook's events are in SQLite before Meta gets its 200. The kill lands while the answer is
being handled (the Graph API is slow to answer the read receipt palaute sends first), so the
inbox row is stored but not processed; the next start handles it, once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.any_time import at_any_time
from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.loopback import free_port
from tests.palaute_process import PalauteProcess, integrity, query, wait_for_http
from tests.whatsapp_helpers import TEMPLATE_EN, wait_for_message, whatsapp_environ

pytestmark = pytest.mark.slow

CUSTOMER = "358401234567"


def _config(folder: Path, fake: FakeWhatsApp, port: int) -> Path:
    path = folder / "palaute.toml"
    path.write_text(
        at_any_time(
            f'[storage]\npath = "{folder / "palaute.db"}"\n\n'
            f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
            'public_url = "https://palaute.example"\napi_token = "${PALAUTE_TEST_API_TOKEN}"\n\n'
            f'[whatsapp]\nphone_number_id = "{fake.phone_number_id}"\n'
            'access_token = "${WHATSAPP_TOKEN}"\napp_secret = "${WHATSAPP_APP_SECRET}"\n'
            'verify_token = "${WHATSAPP_VERIFY_TOKEN}"\n'
            f'api_version = "{fake.api_version}"\nbase_url = "{fake.base_url}"\n\n'
            '[whatsapp.templates.nps]\nname = "palaute_feedback"\nlanguage = "en"\n'
            'parameters = ["order_id"]\n\n'
            '[team]\ndaily_summary = "off"\nweekly_digest = false\n'
        ),
        encoding="utf-8",
    )
    return path


async def _trigger(port: int) -> None:
    import aiohttp

    body = {"touchpoint": "nps", "contact": {"whatsapp": f"+{CUSTOMER}"},
            "properties": {"order_id": "#88"}}  # fmt: skip
    headers = {"Authorization": "Bearer fault-test-api-token"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/api/v1/touchpoints", json=body, headers=headers
        ) as response,
    ):
        assert response.status in (200, 201, 202), await response.text()


async def test_sigkill_between_the_webhook_and_its_handling_loses_no_answer(
    tmp_path: Path,
) -> None:
    fake = FakeWhatsApp(templates=[TEMPLATE_EN])
    await fake.start()
    port = free_port()
    fake.webhook_url = f"http://127.0.0.1:{port}/whatsapp/webhook"
    config = _config(tmp_path, fake, port)
    db_path = tmp_path / "palaute.db"
    environ = whatsapp_environ(fake)
    bot = PalauteProcess(config, fake, environ=environ, log_level="DEBUG")  # type: ignore[arg-type]
    try:
        await bot.start()
        await wait_for_http(port)
        await _trigger(port)
        await wait_for_message(fake, CUSTOMER, "Thank you for your order #88", timeout=20)
        await fake.customer_taps(CUSTOMER, "Sure", name="Maija")
        await wait_for_message(fake, CUSTOMER, "How likely", timeout=20)

        # The answer's webhook is stored and confirmed; its handling hangs on the Graph API.
        fake.read_marks_answered.clear()
        answer = await fake.customer_text(CUSTOMER, "9", name="Maija")
        await fake.webhooks_delivered()
        # The call is stored as Meta sent it, and not yet handled.
        stored = query(db_path, "SELECT processed_at FROM inbox WHERE payload LIKE ?",
                       (f"%{answer}%",))  # fmt: skip
        assert stored == [(None,)]
        assert query(db_path, "SELECT COUNT(*) FROM whatsapp_events WHERE event_key = ?",
                     (f"m:{answer}",)) == [(0,)]  # fmt: skip
        bot.kill()
        await bot.wait()
        assert query(db_path, "SELECT COUNT(*) FROM answers") == [(0,)]
        fake.read_marks_answered.set()

        bot = PalauteProcess(config, fake, environ=environ, log_level="DEBUG")  # type: ignore[arg-type]
        await bot.start()
        await wait_for_message(fake, CUSTOMER, "What is the main reason", timeout=30)
        await asyncio.sleep(0.5)
        assert query(db_path, "SELECT question_id, value_num FROM answers") == [("nps", 9.0)]
        processed = query(db_path, "SELECT processed_at IS NOT NULL, error FROM inbox"
                          " WHERE payload LIKE ?", (f"%{answer}%",))  # fmt: skip
        assert processed == [(1, None)]
        handled = query(db_path, "SELECT error FROM whatsapp_events WHERE event_key = ?",
                        (f"m:{answer}",))  # fmt: skip
        assert handled == [(None,)]
        assert sum("What is the main reason" in m.text for m in fake.sent_to(CUSTOMER)) == 1
        assert await bot.terminate() == 0
        assert integrity(db_path) == "ok"
        # Both runs logged at DEBUG (pywa's and httpx's requests too): no secret in a line.
        log = bot.log()
        assert "whatsapp" in log.lower()
        for secret in environ.values():
            assert secret not in log
    finally:
        await bot.ensure_stopped()
        await fake.stop()
