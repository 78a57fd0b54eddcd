"""A team document (bot.team.document) as Block Kit: a header, the note as context, mrkdwn
sections with every piece of text escaped, then the buttons as actions.

Limits from Block Kit's reference (https://docs.slack.dev/reference/block-kit/blocks) as
slack_sdk.models.blocks checks them: a header's text at most 150 characters
(HeaderBlock.text_max_length), a section's at most 3000 (SectionBlock.text_max_length), 50
blocks a message.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from bot.channels.slack.blocks import (
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    button_blocks,
    escape_mrkdwn,
    text_blocks,
)
from bot.team.document import Line, TeamDocument

MAX_HEADER_TEXT = 150  # HeaderBlock.text_max_length


def _line(line: Line) -> str:
    words = escape_mrkdwn(line.text)
    if line.quote:
        words = "\n".join(f"> {part}" for part in words.splitlines() or [""])
        return f"*{escape_mrkdwn(line.label)}*\n{words}" if line.label else words
    return f"• *{escape_mrkdwn(line.label)}:* {words}" if line.label else f"• {words}"


def document_blocks(document: TeamDocument) -> list[dict[str, Any]]:
    """The document's text as blocks (without its buttons)."""
    blocks: list[dict[str, Any]] = []
    if document.title:
        blocks.append(
            {
                "type": "header",
                "text": {"type": "plain_text", "text": document.title[:MAX_HEADER_TEXT]},
            }
        )
    if document.note:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": escape_mrkdwn(document.note)}],
            }
        )
    if document.body:
        # plain_text: nothing in it becomes markup
        blocks += [block.to_dict() for block in text_blocks(document.body)]
    for section in document.sections:
        chunk = f"*{escape_mrkdwn(section.heading)}*" if section.heading else ""
        for line in section.lines:
            piece = _line(line)
            if len(chunk) + len(piece) + 1 > MAX_SECTION_TEXT:
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
                chunk = ""
            chunk = f"{chunk}\n{piece}" if chunk else piece[:MAX_SECTION_TEXT]
        if chunk:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    return blocks or [block.to_dict() for block in text_blocks("")]


def team_blocks(document: TeamDocument) -> list[Block | dict[str, Any]]:
    """The whole message: within 50 blocks, a too long text is cut, never a button."""
    buttons = button_blocks(document.buttons, placeholder="…", block_prefix="palaute_team_row_")
    room = max(MAX_MESSAGE_BLOCKS - len(buttons), 1)
    text: list[Block | dict[str, Any]] = [*document_blocks(document)[:room]]
    return [*text, *buttons][:MAX_MESSAGE_BLOCKS]
