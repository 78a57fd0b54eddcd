"""A team document (bot.team.document) as Telegram HTML: bold title and headings, the note in
italics, customer words quoted, every piece of text escaped (https://core.telegram.org/bots/api#html-style).

A document of plain words only (a note relayed into an alert's thread) goes without a parse
mode, exactly as written.
"""

from __future__ import annotations

import html

from telegram.constants import MessageLimit, ParseMode

from bot.team.document import Line, TeamDocument

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH - 96
"""Below Telegram's 4096 characters of text after entities are parsed, with room for the "…"."""


def _escape(value: str) -> str:
    return html.escape(value, quote=False)


def _line(line: Line) -> str:
    words = _escape(line.text)
    if line.quote:
        words = f"<i>“{words}”</i>"
    return f"• <b>{_escape(line.label)}:</b> {words}" if line.label else f"• {words}"


def to_html(document: TeamDocument) -> str:
    """Telegram's HTML subset; lines that would pass the message limit are left out."""
    parts = [f"<b>{_escape(document.title)}</b>"] if document.title else []
    if document.note:
        parts.append(f"<i>{_escape(document.note)}</i>")
    if document.body:
        parts.append(_escape(document.body))
    length = sum(len(p) + 1 for p in parts)
    for section in document.sections:
        pieces = [""]
        if section.heading:
            pieces.append(f"<b>{_escape(section.heading)}</b>")
        pieces += [_line(line) for line in section.lines]
        for piece in pieces:
            if length + len(piece) + 2 > TEXT_LIMIT:
                parts.append("…")
                return "\n".join(parts)
            parts.append(piece)
            length += len(piece) + 1
    return "\n".join(parts)


def team_body(document: TeamDocument) -> tuple[str, str | None]:
    """The message text and its parse mode: HTML when the document has a title or sections,
    else its plain words as they are."""
    if document.formatted:
        return to_html(document), ParseMode.HTML
    body = document.body
    if len(body) > MessageLimit.MAX_TEXT_LENGTH:  # an earlier release's plain text, unsplit
        body = body[: MessageLimit.MAX_TEXT_LENGTH - 1] + "…"
    return body, None
