"""Reading a JSON request body: bounded nesting, and text that can be stored.

`json.loads` of a hundred thousand `[` raises RecursionError, and a string with a lone
surrogate (`"\\ud800"`, valid JSON) fails only later, when SQLite encodes it as UTF-8. Both are
turned into errors that name the field here, before anything else reads the body.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

MAX_DEPTH = 32
"""Arrays and objects inside each other; a touchpoint needs 3, a Telegram update about 10."""


class BadJson(ValueError):
    """The body cannot be used; `field` names where ("body" for the whole of it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_json(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadJson("body", f"is not UTF-8 text (byte {error.start}: {error.reason})") from None
    too_deep = BadJson("body", f"is nested too deeply (at most {max_depth} levels of [] and {{}})")
    try:
        value = json.loads(text)
    except RecursionError:
        raise too_deep from None
    except ValueError as error:
        raise BadJson("body", f"is not valid JSON ({error})") from None
    if _depth_exceeds(value, max_depth):
        raise too_deep
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False


def lone_surrogate_at(value: Any) -> str | None:
    """The path of the first text (or key) that is not storable Unicode, e.g. "[0].contact.web"."""
    pending: deque[tuple[Any, str]] = deque([(value, "")])
    while pending:
        item, path = pending.popleft()
        if isinstance(item, str) and not _storable(item):
            return path or "body"
        if isinstance(item, dict):
            for key, child in item.items():
                shown = key if _storable(key) else key.encode("utf-8", "backslashreplace").decode()
                where = f"{path}.{shown}" if path else shown
                if not _storable(key):
                    return where
                pending.append((child, where))
        elif isinstance(item, list):
            pending.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
    return None


def _storable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
