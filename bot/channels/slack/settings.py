"""The `[slack]` section of the config: its keys, described once, and the typed settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config_schema import LIST, TEXT, ConfigReader, Key, Scope, secret


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str = field(repr=False)
    app_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    base_url: str | None = None
    admins: tuple[str, ...] = ()

    @property
    def mode(self) -> str:
        return "socket" if self.app_token is not None else "http"


def _texts(reader: ConfigReader, values: Any, path: str, scope: Scope) -> Any:
    return tuple(str(value) for value in values)


SLACK_KEYS = (
    Key("admins", LIST, [], _texts),
    secret("bot_token", required=True),
    secret("app_token"),
    secret("signing_secret"),
    Key("base_url", TEXT),
)


def settings(values: dict[str, Any]) -> SlackConfig:
    return SlackConfig(**values)


def check_mode(reader: ConfigReader, table: Mapping[str, Any], scope: Scope) -> None:
    if "app_token" not in table and "signing_secret" not in table:
        reader.problem("slack", "set app_token (Socket Mode) or signing_secret (HTTP mode)")
    if "app_token" not in table and not scope["server.public_url"]:
        reader.problem("slack.signing_secret", "HTTP mode needs server.public_url")
