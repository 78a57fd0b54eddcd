"""The fake's transcript as a chat page, to look at the conversation as the customer sees it
(rendered in Chromium for the screenshots in docs/)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from tests.fakes.whatsapp_api import ChatLine

_STYLE = """
body { margin: 0; font: 15px/1.35 system-ui, sans-serif; background: #efeae2; }
header { background: #008069; color: #fff; padding: 14px 16px; font-weight: 600; }
header small { display: block; font-weight: 400; opacity: .85; }
main { padding: 10px 10px 24px; display: flex; flex-direction: column; gap: 6px; }
.bubble { max-width: 80%; padding: 6px 9px 4px; border-radius: 8px; white-space: pre-wrap;
  overflow-wrap: anywhere; box-shadow: 0 1px .5px rgba(0,0,0,.13); }
.business { align-self: flex-start; background: #fff; }
.customer { align-self: flex-end; background: #d9fdd3; }
.meta { display: block; text-align: right; font-size: 11px; color: #667781; margin-top: 2px; }
.read { color: #53bdeb; }
.choices { display: flex; flex-direction: column; gap: 1px; margin-top: 6px;
  border-top: 1px solid #e9edef; }
.choices span { text-align: center; color: #027eb5; padding: 7px 0 3px; }
.rows { margin-top: 6px; border-top: 1px solid #e9edef; color: #111b21; }
.rows div { padding: 6px 2px; border-bottom: 1px solid #f0f2f5; }
.rows div::after { content: "○"; float: right; color: #8696a0; }
"""

_TICKS = {"sent": "✓", "delivered": "✓✓", "read": "✓✓", "failed": "⚠"}


def chat_page(title: str, subtitle: str, lines: list[ChatLine], *, open_lists: bool = True) -> str:
    bubbles = [_bubble(line, open_lists) for line in lines]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width'>"
        f"<style>{_STYLE}</style></head><body>"
        f"<header>{escape(title)}<small>{escape(subtitle)}</small></header>"
        f"<main>{''.join(bubbles)}</main></body></html>"
    )


def _bubble(line: ChatLine, open_lists: bool) -> str:
    parts = []
    parts.append(escape(line.text))
    if line.list_button:
        label = f"<div class='choices'><span>☰ {escape(line.list_button)}</span></div>"
        parts.append(label)
        if open_lists:
            rows = "".join(f"<div>{escape(choice)}</div>" for choice in line.choices)
            parts.append(f"<div class='rows'>{rows}</div>")
    elif line.choices:
        buttons = "".join(f"<span>{escape(choice)}</span>" for choice in line.choices)
        parts.append(f"<div class='choices'>{buttons}</div>")
    clock = datetime.fromtimestamp(line.at).strftime("%H:%M")
    ticks = ""
    if line.by == "business" and line.status:
        ticks = f" <span class='{escape(line.status)}'>{_TICKS.get(line.status, '')}</span>"
    parts.append(f"<span class='meta'>{clock}{ticks}</span>")
    return f"<div class='bubble {line.by}'>{''.join(parts)}</div>"
