"""Self-test: FakeTelegram refuses keyboards and texts that Telegram refuses (or cannot show)."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardMarkupLimit, MessageLimit, ParseMode
from telegram.error import BadRequest

from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401


def _keyboard(rows: list[int]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"{r}.{b}", callback_data=f"{r}.{b}") for b in range(n)]
         for r, n in enumerate(rows)]
    )  # fmt: skip


async def test_keyboards_past_telegrams_button_limits_are_refused(
    fake_telegram: FakeTelegram,
) -> None:
    fake = fake_telegram
    most, widest = (
        InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER,
        InlineKeyboardMarkupLimit.BUTTONS_PER_ROW,
    )
    async with telegram.Bot(fake.token, base_url=fake.ptb_base_url) as bot:
        await bot.send_message(1, "fits", reply_markup=_keyboard([widest] * (most // widest)))
        await bot.send_message(1, "fits", reply_markup=_keyboard([1] * most))
        for rows in ([1] * (most + 1), [widest + 1], [widest] * 12 + [5]):
            with pytest.raises(BadRequest, match="Reply markup is too long"):
                await bot.send_message(1, "too many", reply_markup=_keyboard(rows))
        sent = await bot.send_message(1, "edit me")
        with pytest.raises(BadRequest, match="Reply markup is too long"):
            await bot.edit_message_text(
                "edited", chat_id=1, message_id=sent.message_id, reply_markup=_keyboard([9])
            )
    assert [m.text for m in fake.sent_messages(1)] == ["fits", "fits", "edit me"]


async def test_text_length_is_counted_after_entity_parsing(fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram
    limit = MessageLimit.MAX_TEXT_LENGTH
    async with telegram.Bot(fake.token, base_url=fake.ptb_base_url) as bot:
        await bot.send_message(1, "x" * limit)
        await bot.send_message(1, "<b>" + "&amp;" * limit + "</b>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(1, "x" * (limit + 1))
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(1, "&lt;" * (limit + 1), parse_mode=ParseMode.HTML)
        sent = await bot.send_message(1, "short")
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.edit_message_text("y" * (limit + 1), chat_id=1, message_id=sent.message_id)
    assert len(fake.sent_messages(1)) == 3
