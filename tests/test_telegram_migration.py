"""A team group upgraded to a supergroup: palaute follows Telegram's migrate_to_chat_id."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.app import PalauteApp
from bot.delivery.triggers import ContactSpec, TriggerRequest
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeMessage, FakeTelegram, fake_telegram  # noqa: F401
from tests.telegram_helpers import MovableClock, settle, telegram_config, wait_for_text

GROUP = -4242
"""A basic group, as `report_to = ["telegram:-4242"]` names it before its upgrade."""
SUPERGROUP = -1004242424242
TEAM = f"""
[team]
report_to = ["telegram:{GROUP}"]
daily_summary = "off"
weekly_digest = false

[touchpoints.visit]
survey = "score"

[surveys.score]
title = "Visit"
[[surveys.score.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
"""


async def detractor_alert(app: PalauteApp, fake: FakeTelegram, customer: int) -> FakeMessage:
    """A customer answers 2; returns the alert as it reaches the supergroup."""
    user = fake.user(customer)
    await app.triggers.trigger(TriggerRequest("visit", ContactSpec("telegram", str(customer))))
    question = await wait_for_text(fake, user, "How likely are you to recommend us?")
    fake.push_callback(user, question, question.callback_data_for("2"))
    await fake.wait_for(
        lambda: any(f"telegram:{customer}" in (m.plain_text or "") for m in fake.sent_messages()),
        timeout=10,
        message=f"the alert about {customer}",
    )
    return next(m for m in fake.sent_messages() if f"telegram:{customer}" in (m.plain_text or ""))


def refused_for_migration(fake: FakeTelegram) -> int:
    return sum(1 for call in fake.calls if call.fault == "migrated")


async def test_a_team_alert_follows_the_group_into_its_supergroup(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = fake_telegram
    fake.migrate_group(GROUP, SUPERGROUP)
    config = telegram_config(fake, db_path, TEAM)
    app = PalauteApp(config, clock=MovableClock())  # stopped by hand below, for the restart
    await app.start()
    try:
        await alerts_before_the_restart(app, fake, caplog)
    finally:
        await app.stop()

    # After a restart, with the config not yet updated, the alerts still go to the supergroup.
    restarted = await app_factory(config, clock=MovableClock())
    third = await detractor_alert(restarted, fake, 603)
    assert third.chat_id == SUPERGROUP
    assert refused_for_migration(fake) == 1
    assert fake.sent_messages(GROUP) == []


async def alerts_before_the_restart(
    app: PalauteApp, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.channels.telegram.channel"):
        first = await detractor_alert(app, fake, 601)
    assert first.chat_id == SUPERGROUP and "Detractor #1" in (first.plain_text or "")
    assert refused_for_migration(fake) == 1
    assert (
        f'Update the config: "telegram:{GROUP}" becomes "telegram:{SUPERGROUP}"'
        " (in [team] report_to)" in caplog.text
    )

    second = await detractor_alert(app, fake, 602)  # straight to the supergroup
    assert second.chat_id == SUPERGROUP
    assert refused_for_migration(fake) == 1
    await settle(app, fake, timeout=10)
