"""A message for the team, independent of any channel: what the outbox stores for it.

Reports and alerts are built as a `TeamDocument`: a headline (`title`), a remark under it
(`note`), sections of lines (facts with a label, customer comments as quotations), buttons,
a chart and the thread it belongs to. A note relayed into an alert's thread is a document of
plain words (`body`) only. Each channel adapter renders the document its own way (Block Kit in
Slack, HTML in Telegram, `text` elsewhere) and escapes what it shows for its own format, so no
platform markup is ever stored.

In the outbox a team message is one JSON payload: the document under `"document"`; its chart
(`image_png`, base64, and `image_name`) and `thread_ref` at the payload's top level, where
pacing (bot.delivery.dispatcher.platform_messages) and erasure (storage.erasure) look for them. Rows
written by releases before documents carried `text`, `html`, `blocks` and `rows` renderings
instead; `from_payload` reads those as a document of their plain text, so they still deliver.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.channels.base import Attachment, Button

DOCUMENT_KEY = "document"
CHART_KEY = "image_png"
CHART_NAME_KEY = "image_name"
THREAD_KEY = "thread_ref"


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
    title: str = ""
    """The headline; empty for a message of plain words (`body`)."""
    sections: tuple[Section, ...] = ()
    note: str | None = None
    """A remark under the title (e.g. that a summary is late)."""
    buttons: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)
    body: str = ""
    """Plain words shown as they are (a note relayed into an alert's thread)."""
    attachment: Attachment | None = None
    """The chart, posted with the message."""
    thread_ref: str | None = None
    """The message this one answers in its thread (an alert's ref), if any."""

    @property
    def formatted(self) -> bool:
        """Whether there is more than plain words: a title or sections to set out."""
        return bool(self.title or self.note or self.sections)

    @property
    def text(self) -> str:
        """The document as plain text: what a channel without formatting shows, and what
        notifications preview."""
        out = [part for part in (self.title, self.note, self.body) if part]
        for section in self.sections:
            out.append("")
            if section.heading:
                out.append(section.heading)
            for line in section.lines:
                words = f"“{line.text}”" if line.quote else line.text
                out.append(f"• {line.label}: {words}" if line.label else f"• {words}")
        return "\n".join(out)

    def to_payload(self) -> dict[str, Any]:
        """The outbox payload of a `team` or `team_edit` row (JSON-serialisable)."""
        document: dict[str, Any] = {}
        if self.title:
            document["title"] = self.title
        if self.note:
            document["note"] = self.note
        if self.body:
            document["body"] = self.body
        if self.sections:
            document["sections"] = [
                {
                    "heading": section.heading,
                    "lines": [_line_json(line) for line in section.lines],
                }
                for section in self.sections
            ]
        if self.buttons:
            document["buttons"] = buttons_json(self.buttons)
        payload: dict[str, Any] = {DOCUMENT_KEY: document}
        if self.attachment is not None:
            payload[CHART_KEY] = base64.b64encode(self.attachment.content).decode("ascii")
            payload[CHART_NAME_KEY] = self.attachment.filename
        if self.thread_ref is not None:
            payload[THREAD_KEY] = self.thread_ref
        return payload


def _line_json(line: Line) -> dict[str, Any]:
    found: dict[str, Any] = {"text": line.text}
    if line.label is not None:
        found["label"] = line.label
    if line.quote:
        found["quote"] = True
    return found


def buttons_json(buttons: Sequence[Sequence[Button]]) -> list[list[dict[str, str]]]:
    return [[{"label": b.label, "payload": b.payload} for b in row] for row in buttons]


def buttons_from_json(rows: object) -> tuple[tuple[Button, ...], ...]:
    """Rows of `{"label", "payload"}`; anything else raises (the row cannot be sent)."""
    if not isinstance(rows, list):
        return ()
    return tuple(tuple(Button(str(b["label"]), str(b["payload"])) for b in row) for row in rows)


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def from_payload(payload: Mapping[str, object]) -> TeamDocument:
    """The document an outbox row carries, in this release's form or an earlier one's.

    Raises (KeyError, TypeError, ValueError, binascii.Error) for a payload that cannot be one:
    the dispatcher fails that row and sends the others.
    """
    attachment = None
    image = payload.get(CHART_KEY)
    if isinstance(image, str):
        # Carried in the payload so that sending never reads a file on the event loop.
        name = payload.get(CHART_NAME_KEY)
        attachment = Attachment(
            name if isinstance(name, str) else "chart.png", base64.b64decode(image)
        )
    thread_ref = _optional_text(payload.get(THREAD_KEY))
    document = payload.get(DOCUMENT_KEY)
    if not isinstance(document, Mapping):
        # An earlier release's row: its renderings, of which only the plain text is read.
        return TeamDocument(
            body=str(payload.get("text", "")),
            buttons=buttons_from_json(payload.get("rows")),
            attachment=attachment,
            thread_ref=thread_ref,
        )
    sections = document.get("sections") or []
    if not isinstance(sections, list):
        raise TypeError("the document's sections are not a list")
    return TeamDocument(
        title=str(document.get("title", "")),
        note=_optional_text(document.get("note")),
        body=str(document.get("body", "")),
        sections=tuple(
            Section(
                _optional_text(section.get("heading")),
                tuple(
                    Line(
                        str(line["text"]),
                        _optional_text(line.get("label")),
                        bool(line.get("quote", False)),
                    )
                    for line in section.get("lines") or []
                ),
            )
            for section in sections
        ),
        buttons=buttons_from_json(document.get("buttons")),
        attachment=attachment,
        thread_ref=thread_ref,
    )


def has_chart(payload: Mapping[str, object]) -> bool:
    """Whether the row posts a chart too (one more platform message to pace)."""
    return bool(payload.get(CHART_KEY))
