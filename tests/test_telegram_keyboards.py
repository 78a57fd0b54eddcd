"""Inline keyboards within Telegram's limits: at most 8 buttons a row, 100 in all.

The adapter lays a long row out over several rows and refuses a keyboard past 100 buttons
(nothing palaute sends should have one: `palaute check` refuses such a survey, see
tests/test_survey_fit.py).
"""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

from pathlib import Path

import pytest
from telegram.constants import InlineKeyboardMarkupLimit

from bot.channels.base import Button, MessageRejected
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.telegram_helpers import MovableClock, channel_of, keyboard_rows, telegram_config


async def test_a_long_row_is_laid_out_over_rows_of_at_most_eight(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path), clock=MovableClock())
    channel = channel_of(app)
    fake.user(901)
    numbers = tuple(Button(str(n), f"n:{n}") for n in range(1, 13))
    await channel.send_text("901", "Pick one", (numbers, (Button("Skip", "skip"),)))
    [message] = fake.sent_messages(901)
    assert keyboard_rows(message) == [
        ["1", "2", "3", "4", "5", "6"],
        ["7", "8", "9", "10", "11", "12"],
        ["Skip"],
    ]
    assert message.callback_data_for("12") == "n:12"


async def test_more_than_a_hundred_buttons_are_refused_before_telegram_is_asked(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path), clock=MovableClock())
    channel = channel_of(app)
    fake.user(902)
    most = InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER
    rows = tuple((Button(str(n), f"n:{n}"),) for n in range(most + 1))
    with pytest.raises(MessageRejected, match="101 buttons"):
        await channel.send_text("902", "Pick one", rows)
    assert fake.calls_to("sendMessage") == []
