"""Reading typed values out of plain tables, recording every problem with its key path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Problem = tuple[str, str]
"""(key path, message), e.g. ("questions[1].when", "condition refers to 'nps', …")."""

_TYPE_NAMES: dict[type, str] = {
    str: "a text",
    int: "a whole number",
    bool: "true or false",
    float: "a number",
    list: "a list",
    dict: "a table",
}


def type_name(kind: type) -> str:
    return _TYPE_NAMES.get(kind, kind.__name__)


class TableReader:
    """Collects problems instead of raising, so that all of them can be reported at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def unknown_keys(self, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for key in sorted(set(table) - allowed):
            expected = ", ".join(sorted(allowed))
            self.problem(f"{prefix}{key}", f"unknown key (expected one of: {expected})")

    def typed(self, value: Any, kind: type, path: str, default: Any) -> Any:
        if value is None:
            return default
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
            self.problem(path, f"must be {type_name(kind)}, not {type_name(type(value))}")
            return default
        return value
