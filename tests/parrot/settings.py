"""Step 2: the `[parrot]` section of the config, each key described once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.config_schema import TEXT, ConfigReader, Key, Scope, secret


@dataclass(frozen=True)
class ParrotSettings:
    api_url: str
    token: str = field(repr=False)


def _web_address(reader: ConfigReader, url: Any, path: str, scope: Scope) -> Any:
    if not url.startswith(("http://", "https://")):
        reader.problem(path, "must be an http:// or https:// address")
    return url


KEYS = (
    Key("api_url", TEXT, "", _web_address),
    secret("token", required=True),
)


def settings(values: dict[str, Any]) -> ParrotSettings:
    return ParrotSettings(**values)
