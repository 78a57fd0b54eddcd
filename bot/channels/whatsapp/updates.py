"""Webhook payloads: the events in one call, each read with pywa's models.

Meta may put several messages or statuses into one webhook call, but pywa reads only the
first of each (`value["messages"][0]`). So a stored call is split here into one envelope per
event, each with its own key (the message's wamid; the status's wamid and stage): an event
Meta sends again, in a retried call or a batch of another shape, is handled once by its key.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class Event:
    key: str
    payload: str
    """A webhook body of its own with just this event, as pywa reads it."""


class NotAWebhook(ValueError):
    pass


def split(body: object) -> list[Event]:
    """The events in a webhook body, each in an envelope of its own."""
    if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
        raise NotAWebhook('not a WhatsApp webhook (object must be "whatsapp_business_account")')
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise NotAWebhook("no entry list")
    events: list[Event] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            continue
        for change in entry["changes"]:
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue  # account updates, template reviews: nothing palaute acts on
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            for message in _items(value, "messages"):
                sender = message.get("from")
                contacts = [c for c in _items(value, "contacts") if c.get("wa_id") == sender]
                part = _without(value, "messages", "statuses", "contacts")
                part["messages"] = [message]
                part["contacts"] = contacts or _items(value, "contacts")[:1]
                events.append(_event(entry, change, part, f"m:{message.get('id')}"))
            for status in _items(value, "statuses"):
                recipient = status.get("recipient_id")
                contacts = [c for c in _items(value, "contacts") if c.get("wa_id") == recipient]
                part = _without(value, "messages", "statuses", "contacts")
                part["statuses"] = [status]
                part["contacts"] = contacts or _items(value, "contacts")[:1]
                key = f"s:{status.get('id')}:{status.get('status')}"
                events.append(_event(entry, change, part, key))
    return events


def _items(value: JSON, key: str) -> list[JSON]:
    items = value.get(key)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _without(value: JSON, *keys: str) -> JSON:
    return {k: copy.deepcopy(v) for k, v in value.items() if k not in keys}


def _event(entry: JSON, change: JSON, value: JSON, key: str) -> Event:
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [{"id": entry.get("id"), "changes": [{"value": value, "field": change["field"]}]}],
    }
    return Event(key, json.dumps(envelope, ensure_ascii=False, separators=(",", ":")))
