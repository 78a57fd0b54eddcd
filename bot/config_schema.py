"""Config keys described once: a section is a tuple of `Key`s, from which its allowed keys, the
reading of each value with its key path, the problems reported and the values all derive.

A key is read in the order its section lists it, so problems come out in that order too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.durations import parse_clock, parse_duration
from conversations.schema import TableReader

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

Scope = Mapping[str, Any]
"""What a check may look at: values read before it ("public_url") and given context."""


class ConfigReader(TableReader):
    def __init__(self, environ: Mapping[str, str], *, secrets_required: bool) -> None:
        super().__init__()
        self.environ = environ
        self.secrets_required = secrets_required
        self.missing_secrets: list[str] = []

    def table(self, data: Mapping[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.problem(key, "must be a table, e.g. [" + key + "]")
            return {}
        self.unknown_keys(value, allowed, f"{key}.")
        return value

    def secret(self, value: Any, path: str, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.problem(path, 'is required (write it as "${ENV_VAR}" and set the variable)')
            return None
        if not isinstance(value, str):
            self.problem(path, "must be a text")
            return None
        missing = [name for name in _ENV_REFERENCE.findall(value) if name not in self.environ]
        if missing:
            if self.secrets_required:
                self.problem(path, f"environment variable {missing[0]} is not set")
            else:
                self.missing_secrets.append(f"{path}: environment variable {missing[0]} is not set")
            return "" if required else None
        if required and not value:
            self.problem(path, "must not be empty")
        return _ENV_REFERENCE.sub(lambda m: self.environ[m.group(1)], value)

    def duration(self, value: Any, path: str, default: timedelta | None) -> timedelta | None:
        if value is None:
            return default
        if value is False or value == "off":
            return None
        if not isinstance(value, str):
            self.problem(path, 'must be a duration in quotes, e.g. "90m", "2h", "3d"')
            return default
        try:
            return parse_duration(value)
        except ValueError as error:
            self.problem(path, str(error))
            return default

    def clock(self, value: Any, path: str, default: time | None) -> time | None:
        if value is None:
            return default
        if value is False or value == "off":
            return None
        if not isinstance(value, str):
            self.problem(path, 'must be a clock time in quotes, e.g. "09:00"')
            return default
        try:
            return parse_clock(value)
        except ValueError as error:
            self.problem(path, str(error))
            return default

    def timezone(self, value: Any, path: str, default: str) -> str:
        name = self.typed(value, str, path, default)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(path, f'"{name}" is not a known time zone (e.g. "Europe/Helsinki")')
            return default
        return str(name)


Read = Callable[[ConfigReader, Any, str, Any], Any]
"""(reader, the value as written or None, its key path, the default) → the value to use."""
T = TypeVar("T")

Check = Callable[[ConfigReader, Any, str, Scope], Any]
"""(reader, the value read, its key path, scope) → the value to keep (or `ABANDON`)."""

ABANDON = object()
"""Returned by a check when the rest of the table cannot be read (a required key is missing)."""
USE_DEFAULT = object()
"""Returned by a check when the value was refused and the default stands in for it."""


@dataclass(frozen=True)
class FromScope:
    """A default taken from the scope, e.g. a touchpoint's delay from [defaults]."""

    name: str


@dataclass(frozen=True)
class Key:
    name: str
    read: Read
    default: Any = None
    check: Check | None = None
    secret: bool = False
    """Its value is a secret: read from the environment, scrubbed from logs."""


def typed(kind: type) -> Read:
    return lambda reader, value, path, default: reader.typed(value, kind, path, default)


TEXT = typed(str)
WHOLE = typed(int)
NUMBER = typed(float)
FLAG = typed(bool)
LIST = typed(list)
TABLE = typed(dict)


def _duration(reader: ConfigReader, value: Any, path: str, default: Any) -> Any:
    return reader.duration(value, path, default)


def _clock(reader: ConfigReader, value: Any, path: str, default: Any) -> Any:
    return reader.clock(value, path, default)


def _timezone(reader: ConfigReader, value: Any, path: str, default: Any) -> Any:
    return reader.timezone(value, path, default)


DURATION: Read = _duration
CLOCK: Read = _clock
TIMEZONE: Read = _timezone


def secret(name: str, *, required: bool = False, check: Check | None = None) -> Key:
    def read(reader: ConfigReader, value: Any, path: str, default: Any) -> Any:
        found = reader.secret(value, path, required=required)
        return (found or "") if required else found

    return Key(name, read, check=check, secret=True)


def within(low: float, high: float, problem: str, *, above_low: bool = False) -> Check:
    """A check that a number lies from `low` to `high` (above `low` when `above_low`), else
    `problem` at its key and the default in its place."""

    def check(reader: ConfigReader, number: Any, path: str, scope: Scope) -> Any:
        if not (low < number if above_low else low <= number) or not number <= high:
            reader.problem(path, problem)
            return USE_DEFAULT
        return number

    return check


def with_nested(
    settings: Callable[..., T], name: str, nested: Callable[..., Any], keys: Sequence[Key]
) -> Callable[[dict[str, Any]], T]:
    """A section's settings whose field `name` is `nested(...)` of `keys`: keys written in the
    section itself that its settings hold apart (a channel's pace)."""

    def build(values: dict[str, Any]) -> T:
        held_apart = nested(**{key.name: values.pop(key.name) for key in keys})
        return settings(**values, **{name: held_apart})

    return build


def names(keys: Sequence[Key]) -> set[str]:
    return {key.name for key in keys}


def secret_names(keys: Sequence[Key]) -> list[str]:
    return [key.name for key in keys if key.secret]


def read_keys(
    reader: ConfigReader,
    table: Mapping[str, Any],
    prefix: str,
    keys: Sequence[Key],
    context: Scope | None = None,
) -> dict[str, Any] | None:
    """Each key's value by name, or None when a check abandoned the table."""
    scope = dict(context or {})
    values: dict[str, Any] = {}
    for key in keys:
        path = prefix + key.name
        default = scope[key.default.name] if isinstance(key.default, FromScope) else key.default
        value = key.read(reader, table.get(key.name), path, default)
        if key.check is not None:
            value = key.check(reader, value, path, scope)
        if value is USE_DEFAULT:
            value = default
        elif value is ABANDON:
            return None
        values[key.name] = scope[key.name] = value
    return values


def read_section(
    reader: ConfigReader,
    data: Mapping[str, Any],
    section: str,
    keys: Sequence[Key],
    context: Scope | None = None,
) -> dict[str, Any]:
    """The table `[section]`: unknown keys named, then every key read."""
    table = reader.table(data, section, names(keys))
    return read_keys(reader, table, f"{section}.", keys, context) or {}
