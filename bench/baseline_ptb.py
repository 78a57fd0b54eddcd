"""The baseline: the same 3-question survey hand-rolled on python-telegram-bot alone.

    python -m bench.baseline_ptb --base-url URL --data DIR [--rate-limiter]

This is how the survey is typically written with PTB's own tools: a ConversationHandler
(NPS tap -> "why?" text -> CSAT tap), state and answers in a PicklePersistence file, polling
with `run_polling()`, every default left as it is. The customer sees what palaute shows: the
tapped question edited to show the answer (buttons gone), then the next question, and the
button spinner stopped with answerCallbackQuery. Unlike palaute it keeps answers in memory and
pickles them every 60 s (PTB's default), so a crash loses up to a minute of answers, and an
update is confirmed to Telegram before its handler has run.

The answer storm (bench.answer_storm) runs this and palaute against the same fake Telegram.
Under Telegram's limits (`--rate-limiter`) it paces itself as PTB's docs suggest, with
`AIORateLimiter` (30 requests a second overall, 20 a minute per group) retrying a 429 after its
retry_after, up to RATE_LIMIT_RETRIES times (its default, 0, would drop the next question).
"""

from __future__ import annotations

import argparse
import logging
import os
import warnings
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning

NPS_TEXT = (
    "How likely are you to recommend us to a friend or colleague?\n"
    "(0 = not at all likely, 10 = extremely likely)"
)
WHY_TEXT = "What is the main reason for your score?"
CSAT_TEXT = "How satisfied were you with our service?\n(1 = very dissatisfied, 5 = very satisfied)"
THANKS_TEXT = "Thank you for your feedback!"

NPS, WHY, CSAT = range(3)
RATE_LIMIT_RETRIES = 5


def _keyboard(prefix: str, values: list[list[int]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(str(v), callback_data=f"{prefix}:{v}") for v in row]
            for row in values
        ]
    )


NPS_KEYBOARD = _keyboard("nps", [list(range(0, 6)), list(range(6, 11))])
CSAT_KEYBOARD = _keyboard("csat", [list(range(1, 6))])


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, NPS_TEXT, reply_markup=NPS_KEYBOARD)
    return NPS


async def nps(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    value = int(query.data.split(":")[1])
    context.user_data["nps"] = value
    await query.answer()
    await query.edit_message_text(f"{NPS_TEXT}\n\nYour answer: {value}")
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, WHY_TEXT)
    return WHY


async def why(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and context.user_data is not None
    context.user_data["why"] = update.message.text
    await context.bot.send_message(update.message.chat_id, CSAT_TEXT, reply_markup=CSAT_KEYBOARD)
    return CSAT


async def csat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    value = int(query.data.split(":")[1])
    context.user_data["csat"] = value
    await query.answer()
    await query.edit_message_text(f"{CSAT_TEXT}\n\nYour answer: {value}")
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, THANKS_TEXT)
    return ConversationHandler.END


def build(base_url: str, token: str, data: Path, *, rate_limiter: bool = False) -> Application:  # type: ignore[type-arg]
    persistence = PicklePersistence(filepath=data / "survey.pickle")
    builder = (
        Application.builder()
        .token(token)
        .base_url(f"{base_url}/bot")
        .base_file_url(f"{base_url}/file/bot")
        .persistence(persistence)
    )
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
    application = builder.build()
    with warnings.catch_warnings():
        # "per_message=False: CallbackQueryHandler will not be tracked for every message": right
        # for a survey, which is one conversation per chat.
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states={
                NPS: [CallbackQueryHandler(nps, pattern=r"^nps:")],
                WHY: [MessageHandler(filters.TEXT & ~filters.COMMAND, why)],
                CSAT: [CallbackQueryHandler(csat, pattern=r"^csat:")],
            },
            fallbacks=[],
            name="survey",
            persistent=True,
        )
    application.add_handler(conversation)
    return application


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline_ptb")
    parser.add_argument("--base-url", required=True, help="the Bot API server root")
    parser.add_argument("--data", type=Path, required=True, help="folder for the pickle file")
    parser.add_argument(
        "--rate-limiter", action="store_true", help="pace with PTB's AIORateLimiter"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    token = os.environ["BENCH_TELEGRAM_TOKEN"]
    application = build(args.base_url, token, args.data, rate_limiter=args.rate_limiter)
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
