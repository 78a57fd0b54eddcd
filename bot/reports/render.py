"""One team message, three renderings: plain text, Slack Block Kit and Telegram HTML.

Reports and alerts are built as a `TeamDocument` (a title, an optional note and sections of
lines); the renderers escape every piece of customer text for the format it goes into.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.channels.base import Button

SLACK_SECTION_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
SLACK_MAX_BLOCKS = 45
"""Below Slack's 50, leaving room for the adapter's button rows."""
TELEGRAM_LIMIT = 4000
"""Below Telegram's 4096 characters, after entities are parsed."""


@dataclass(frozen=True)
class Line:
    text: str
    label: str | None = None
    quote: bool = False
    """Customer words: shown as a quotation."""


@dataclass(frozen=True)
class Section:
    heading: str | None
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True)
class TeamDocument:
    title: str
    sections: tuple[Section, ...] = ()
    note: str | None = None
    """A remark under the title (e.g. that a summary is late)."""
    buttons: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)


def _slack_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_text(document: TeamDocument) -> str:
    out = [document.title]
    if document.note:
        out.append(document.note)
    for section in document.sections:
        out.append("")
        if section.heading:
            out.append(section.heading)
        for line in section.lines:
            body = f"“{line.text}”" if line.quote else line.text
            out.append(f"• {line.label}: {body}" if line.label else f"• {body}")
    return "\n".join(out)


def _slack_line(line: Line) -> str:
    body = _slack_escape(line.text)
    if line.quote:
        body = "\n".join(f"> {part}" for part in body.splitlines() or [""])
        return f"*{_slack_escape(line.label)}*\n{body}" if line.label else body
    return f"• *{_slack_escape(line.label)}:* {body}" if line.label else f"• {body}"


def to_blocks(document: TeamDocument) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": document.title[:SLACK_HEADER_LIMIT]},
        }
    ]
    if document.note:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": _slack_escape(document.note)}],
            }
        )
    for section in document.sections:
        chunk = f"*{_slack_escape(section.heading)}*" if section.heading else ""
        for line in section.lines:
            piece = _slack_line(line)
            if len(chunk) + len(piece) + 1 > SLACK_SECTION_LIMIT:
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
                chunk = ""
            chunk = f"{chunk}\n{piece}" if chunk else piece[:SLACK_SECTION_LIMIT]
        if chunk:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    return blocks[:SLACK_MAX_BLOCKS]


def _html_line(line: Line) -> str:
    body = html.escape(line.text, quote=False)
    if line.quote:
        body = f"<i>“{body}”</i>"
    return f"• <b>{html.escape(line.label, quote=False)}:</b> {body}" if line.label else f"• {body}"


def to_html(document: TeamDocument) -> str:
    """Telegram's HTML subset; lines that would pass the message limit are left out."""
    parts = [f"<b>{html.escape(document.title, quote=False)}</b>"]
    if document.note:
        parts.append(f"<i>{html.escape(document.note, quote=False)}</i>")
    length = sum(len(p) + 1 for p in parts)
    for section in document.sections:
        pieces = [""]
        if section.heading:
            pieces.append(f"<b>{html.escape(section.heading, quote=False)}</b>")
        pieces += [_html_line(line) for line in section.lines]
        for piece in pieces:
            if length + len(piece) + 2 > TELEGRAM_LIMIT:
                parts.append("…")
                return "\n".join(parts)
            parts.append(piece)
            length += len(piece) + 1
    return "\n".join(parts)


def rows_payload(buttons: Sequence[Sequence[Button]]) -> list[list[dict[str, str]]]:
    return [[{"label": b.label, "payload": b.payload} for b in row] for row in buttons]


def team_payload(
    document: TeamDocument, *, image: bytes | None = None, image_name: str = "chart.png"
) -> dict[str, Any]:
    """The outbox payload of a "team" message (see bot.dispatcher.team_message_from_payload)."""
    payload: dict[str, Any] = {
        "text": to_text(document),
        "html": to_html(document),
        "blocks": to_blocks(document),
        "rows": rows_payload(document.buttons),
    }
    if image is not None:
        payload["image_png"] = base64.b64encode(image).decode("ascii")
        payload["image_name"] = image_name
    return payload
