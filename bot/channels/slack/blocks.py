"""Block Kit for palaute's messages: questions as button rows or a menu, answers, team posts.

Everything palaute writes itself goes out as plain_text, so survey texts never turn into
mrkdwn by accident (an `*` or `<` in a question stays as typed).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import count
from typing import TypeVar

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    Option,
    OptionGroup,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from bot.channels.base import Button, OutgoingPrompt, TeamMessage

ACTION_PREFIX = "palaute_button_"
"""Every button palaute renders from a `Button` has an action_id starting with this."""
SELECT_ACTION_ID = f"{ACTION_PREFIX}select"

log = logging.getLogger(__name__)
_B = TypeVar("_B")

# Block Kit's limits, as slack_sdk.models.blocks checks them (and Slack answers invalid_blocks
# beyond): https://docs.slack.dev/reference/block-kit/blocks,
# https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element
MAX_MESSAGE_BLOCKS = 50
MAX_ACTIONS_ELEMENTS = 25  # ActionsBlock.elements_max_length
MAX_SECTION_TEXT = 3000  # SectionBlock.text_max_length
MAX_BUTTON_TEXT = 75  # ButtonElement.text_max_length, Option.label_max_length
MAX_SELECT_OPTIONS = 100  # StaticSelectElement.options_max_length
MAX_OPTION_GROUPS = 100  # StaticSelectElement.option_groups_max_length
MAX_GROUP_OPTIONS = 100  # OptionGroup.options_max_length
MAX_OPTION_VALUE = 150  # Option.value_max_length
MAX_PLACEHOLDER = 150  # placeholder_max_length
SELECT_FROM_ROWS = 6
"""From this many one-button rows (a long list of choices) a menu reads better than a column."""


def escape_mrkdwn(text: str) -> str:
    """`text` as Slack shows it literally where it parses markup (a message's `text`, mrkdwn):
    `&`, `<` and `>` as entities, so that nothing typed becomes a mention (`<!here>`), a link
    or a channel (https://docs.slack.dev/messaging/formatting-message-text#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


MAX_FALLBACK_TEXT = 4000
"""chat.postMessage refuses `text` over 40,000 characters (msg_too_long) and advises fewer
than 4,000; with blocks, `text` is only what notifications show."""


def fallback_text(text: str) -> str:
    """A message's `text` beside its blocks: escaped (at most 5 characters each: `&amp;`), so
    shortened first to stay within Slack's limit."""
    return escape_mrkdwn(shorten(text, MAX_FALLBACK_TEXT))


def plain(text: str) -> PlainTextObject:
    return PlainTextObject(text=text, emoji=True)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_blocks(text: str) -> list[Block]:
    """`text` as sections within Block Kit's 3000-character limit, split between lines."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        for start in range(0, len(line), MAX_SECTION_TEXT):
            piece = line[start : start + MAX_SECTION_TEXT]
            if len(current) + len(piece) > MAX_SECTION_TEXT:
                chunks.append(current)
                current = ""
            current += piece
    chunks.append(current)
    return [SectionBlock(text=plain(c.strip())) for c in chunks if c.strip()] or [
        SectionBlock(text=plain(" "))
    ]


def button_blocks(
    rows: Sequence[Sequence[Button]], *, placeholder: str, block_prefix: str = "palaute_row_"
) -> list[Block]:
    """One actions block per row (long rows split at 25 buttons), or one menu for long lists."""
    if not rows:
        return []
    if len(rows) >= SELECT_FROM_ROWS and all(len(row) == 1 for row in rows):
        return [_select_block([row[0] for row in rows], placeholder, f"{block_prefix}select")]
    ids = count()
    blocks: list[Block] = []
    for row in rows:
        for start in range(0, len(row), MAX_ACTIONS_ELEMENTS):
            elements = [
                ButtonElement(
                    text=plain(shorten(button.label, MAX_BUTTON_TEXT)),
                    action_id=f"{ACTION_PREFIX}{next(ids)}",
                    value=button.payload,
                )
                for button in row[start : start + MAX_ACTIONS_ELEMENTS]
            ]
            blocks.append(ActionsBlock(elements=elements, block_id=f"{block_prefix}{len(blocks)}"))
    return blocks


def _select_block(buttons: Sequence[Button], placeholder: str, block_id: str) -> ActionsBlock:
    """One menu of every choice: up to 100 as options, more in groups of 100 ("1–100",
    "101–120"…), so that none is cut, the last (an optional question's Skip) included."""
    fitting = [b for b in buttons if len(b.payload) <= MAX_OPTION_VALUE]
    if len(fitting) < len(buttons):
        log.error(
            "Slack: %d choice(s) with a payload over 150 characters left out",
            len(buttons) - len(fitting),
        )
    options = [
        Option(text=plain(shorten(b.label, MAX_BUTTON_TEXT)), value=b.payload) for b in fitting
    ]
    menu_placeholder = plain(shorten(placeholder, MAX_PLACEHOLDER))
    if len(options) <= MAX_SELECT_OPTIONS:
        menu = StaticSelectElement(
            placeholder=menu_placeholder, action_id=SELECT_ACTION_ID, options=options
        )
    else:
        groups = [
            OptionGroup(
                label=plain(f"{start + 1}–{min(start + MAX_GROUP_OPTIONS, len(options))}"),
                options=options[start : start + MAX_GROUP_OPTIONS],
            )
            for start in range(0, len(options), MAX_GROUP_OPTIONS)
        ]
        menu = StaticSelectElement(
            placeholder=menu_placeholder, action_id=SELECT_ACTION_ID, option_groups=groups
        )
    return ActionsBlock(elements=[menu], block_id=block_id)


def menu_capacity_problem(choices: int) -> str | None:
    """Why `choices` choices (and a Skip) cannot be one Slack menu, if they cannot: for
    `palaute check` (a survey's `choices` key)."""
    if choices + 1 > MAX_OPTION_GROUPS * MAX_GROUP_OPTIONS:
        return (
            f"{choices} choices are more than a Slack menu holds "
            f"({MAX_OPTION_GROUPS * MAX_GROUP_OPTIONS - 1} and a Skip)"
        )
    return None


def wants_words(prompt: OutgoingPrompt) -> bool:
    """A question with at most one button (a skip) is answered by typing."""
    return sum(len(row) for row in prompt.rows) <= 1


def _with_buttons(text: Sequence[_B], buttons: Sequence[_B]) -> list[_B]:
    """Text blocks, then buttons: within 50 blocks, a too long text is cut, never a button."""
    room = max(MAX_MESSAGE_BLOCKS - len(buttons), 1)
    return [*text[:room], *buttons][:MAX_MESSAGE_BLOCKS]


def prompt_blocks(prompt: OutgoingPrompt, *, placeholder: str, hint: str | None) -> list[Block]:
    blocks = text_blocks(prompt.text)
    below: list[Block] = [ContextBlock(elements=[plain(hint)])] if hint else []
    below += button_blocks(prompt.rows, placeholder=placeholder)
    return _with_buttons(blocks, below)


def message_blocks(
    text: str, buttons: Sequence[Sequence[Button]] = (), *, placeholder: str = "…"
) -> list[Block]:
    return _with_buttons(text_blocks(text), button_blocks(buttons, placeholder=placeholder))


def team_blocks(message: TeamMessage) -> list[Block | dict[str, object]]:
    """The reporter's own blocks when given, else its text; its buttons as actions after."""
    body: list[Block | dict[str, object]] = (
        list(message.blocks) if message.blocks else list(text_blocks(message.text))
    )
    buttons = button_blocks(message.buttons, placeholder="…", block_prefix="palaute_team_row_")
    return _with_buttons(body, buttons)
