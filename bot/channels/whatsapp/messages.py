"""palaute's questions as WhatsApp messages: reply buttons, a list, or typed digits with a hint.

- At most 3 options whose labels fit a button (20 characters): reply buttons, one tap.
- At most 10 options: a list message (a row title holds 24 characters; a longer label is cut
  there and shown whole in the row's description, 72).
- More, such as NPS 0–10 and Skip (12): the question with a hint to type the answer. A list
  holds 10 rows, so 0–10 would have to be split over two messages (a list and a button), which
  puts one end of the scale somewhere else than the other ten points, and a list takes two
  taps and a scroll to reach a row. A typed digit is one message in the chat keyboard the
  customer already has open, every point of the scale is equal, and it parses exactly as a
  typed answer in Telegram does.

Limits are pywa's (types.Button, types.SectionList / Section / SectionRow, send_message).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.channels.base import Button, rejected_message
from bot.channels.capacity import MessageCapacity
from bot.channels.whatsapp.texts import TEXTS

MAX_TEXT = 4096
"""pywa's send_message: `text` "max 4096 characters" (Cloud API text.body)."""
MAX_INTERACTIVE_BODY = 1024
"""pywa's send_message with buttons: "body … up to 1024 characters" (interactive.body.text)."""
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ROW_ID = 200


CAPACITY = MessageCapacity(
    platform="WhatsApp",
    # What one message carries that palaute cannot work around: a question longer than an
    # interactive body (1024), or with more options than 3 reply buttons (20-character titles)
    # or 10 list rows (24) hold, goes as a text message with a hint to type the answer (see
    # `render`), so only the text message's 4096 is a hard limit.
    max_text_length=MAX_TEXT,
    max_buttons=None,
)


@dataclass(frozen=True)
class Rendered:
    kind: str  # "text", "buttons" or "list"
    text: str
    buttons: tuple[tuple[str, str], ...] = ()
    """(id, title) of reply buttons."""
    rows: tuple[tuple[str, str, str], ...] = ()
    """(id, title, description) of list rows."""
    list_button: str = ""


def render(text: str, rows: Sequence[Sequence[Button]], language: str | None) -> Rendered:
    options = [button for row in rows for button in row]
    if not options:
        return Rendered("text", _within(text, MAX_TEXT))
    for option in options:
        if len(option.payload) > MAX_ROW_ID:
            raise rejected_message(f"button payload {option.payload!r} is longer than WhatsApp's")
    # A text longer than an interactive message's body goes as a text message with the hint:
    # nothing of the question is cut.
    fits_interactive = 0 < len(text) <= MAX_INTERACTIVE_BODY
    if (
        fits_interactive
        and len(options) <= MAX_REPLY_BUTTONS
        and all(0 < len(o.label) <= MAX_BUTTON_TITLE for o in options)
    ):
        return Rendered("buttons", text, buttons=tuple((o.payload, o.label) for o in options))
    if fits_interactive and len(options) <= MAX_LIST_ROWS:
        return Rendered(
            "list",
            text,
            rows=tuple(_row(o) for o in options),
            list_button=TEXTS.text("choose", language)[:MAX_BUTTON_TITLE],
        )
    return Rendered("text", _within(f"{text}\n\n{typing_hint(options, language)}", MAX_TEXT))


def typing_hint(options: Sequence[Button], language: str | None) -> str:
    """How to type an answer to a question with more options than one message can hold."""
    skip = TEXTS.text("skip", language)
    labels = [o.label for o in options if o.label != skip]
    if (
        labels
        and all(label.isdecimal() for label in labels)
        and [int(n) for n in labels] == list(range(int(labels[0]), int(labels[0]) + len(labels)))
    ):
        hint = TEXTS.text("type_number", language, low=labels[0], high=labels[-1])
    else:
        # Choices are numbered as the survey lists them; a typed number picks that choice.
        lines = [f"{index}. {label}" for index, label in enumerate(labels, 1)]
        hint = "\n".join([TEXTS.text("type_choice", language), *lines])
    if len(labels) < len(options):
        hint += "\n" + TEXTS.text("or_skip", language, skip=skip)
    return hint


def _row(option: Button) -> tuple[str, str, str]:
    label = option.label.strip() or "…"
    if len(label) <= MAX_ROW_TITLE:
        return option.payload, label, ""
    return option.payload, label[: MAX_ROW_TITLE - 1] + "…", _fit(label, MAX_ROW_DESCRIPTION)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _within(text: str, limit: int) -> str:
    """The text, or the message refused with why: never cut without the reader knowing."""
    if len(text) > limit:
        raise rejected_message(
            f"the text is {len(text)} characters; a WhatsApp message holds {limit}"
        )
    return text
