"""The [whatsapp] config section: each key named once (bot/config_schema.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config_schema import (
    NUMBER,
    TEXT,
    USE_DEFAULT,
    WHOLE,
    ConfigReader,
    FromScope,
    Key,
    Scope,
    names,
    read_keys,
    secret,
    with_nested,
    within,
)

WEBHOOK_PATH = "/whatsapp/webhook"
GRAPH_API_ROOT = "https://graph.facebook.com"


@dataclass(frozen=True)
class WhatsAppTemplate:
    """The approved template that opens a touchpoint's survey outside the 24-hour window."""

    name: str
    languages: tuple[str, ...]
    """The languages it is approved in; the first is used for a customer in none of them."""
    parameters: tuple[str, ...] = ()
    """Touchpoint property names, in the order of the template's {{1}}, {{2}}, …"""

    def language_for(self, language: str | None) -> str:
        """The approved language matching the survey's (`fi` matches `fi` and `fi_FI`)."""
        for candidate in self.languages:
            if language and candidate.split("_")[0].lower() == language.split("_")[0].lower():
                return candidate
        return self.languages[0]


@dataclass(frozen=True)
class WhatsAppPace:
    """Cloud API limits palaute paces itself under. The defaults are Meta's published figures:
    80 messages a second per business number ("Throughput"), and to one user one message every
    6 seconds after a burst ("Pair rate limits": 45 in 6 seconds, borrowed from later)."""

    messages_per_second: float = 80.0
    seconds_between_messages_per_user: float = 6.0
    per_user_burst: int = 10
    """Fewer than Meta's 45: a burst is borrowed, and a survey never needs more at once."""


@dataclass(frozen=True)
class WhatsAppConfig:
    phone_number_id: str
    access_token: str = field(repr=False)
    app_secret: str = field(repr=False)
    verify_token: str = field(repr=False)
    api_version: str = "v23.0"
    base_url: str | None = None
    """The Graph API root; only for a test server (default https://graph.facebook.com)."""
    templates: Mapping[str, WhatsAppTemplate] = field(default_factory=dict)
    """By touchpoint id."""
    pace: WhatsAppPace = WhatsAppPace()
    alert_template: WhatsAppTemplate | None = None
    """Opens the conversation with a team member outside the 24-hour window: its body's one
    parameter {{1}} is the alert's (or report's) headline; the whole message follows their
    reply."""
    public_url: str | None = None
    """[server] public_url, which Meta's webhook address is on (not a key of [whatsapp])."""

    @property
    def graph_root(self) -> str:
        return (self.base_url or GRAPH_API_ROOT).rstrip("/")

    @property
    def webhook_url(self) -> str | None:
        """The callback URL to give Meta."""
        return f"{self.public_url.rstrip('/')}{WEBHOOK_PATH}" if self.public_url else None


def _phone_number_id(reader: ConfigReader, value: Any, path: str, scope: Scope) -> Any:
    if not value or not str(value).isdigit():
        reader.problem(
            path,
            "is required: the Phone number ID from Meta's WhatsApp > API Setup page (digits,"
            " not the phone number)",
        )
    return str(value or "")


def _not_empty(reader: ConfigReader, value: Any, path: str, scope: Scope) -> Any:
    # An empty app secret would sign any body for anyone; an empty verify token would let
    # anyone subscribe. A variable not set at all is reported by the reader already.
    already = any(where == path for where, _ in reader.problems)
    if value == "" and reader.secrets_required and not already:
        reader.problem(path, "is empty (its environment variable is set to nothing)")
    return value


def _api_version(reader: ConfigReader, value: Any, path: str, scope: Scope) -> Any:
    if not re.fullmatch(r"v\d+\.\d+", value):
        reader.problem(path, 'must be a Graph API version such as "v23.0"')
        return USE_DEFAULT
    return value


def _graph_root(reader: ConfigReader, url: Any, path: str, scope: Scope) -> Any:
    if url is not None and not re.fullmatch(r"https?://[^/\s]+/?", url):
        reader.problem(path, "must be the Graph API's root, e.g. https://graph.facebook.com")
    return url


_positive = within(0, 100_000, "must be a number above 0", above_low=True)


TEMPLATE_KEYS = (
    Key("name", TEXT, None),
    Key("language", lambda reader, value, path, default: value, None),
    Key("parameters", lambda reader, value, path, default: reader.typed(value, list, path, []),
        []),
)  # fmt: skip


def _templates(reader: ConfigReader, value: Any, path: str, default: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        reader.problem(path, "must be tables, e.g. [whatsapp.templates.order_delivered]")
        return {}
    templates: dict[str, WhatsAppTemplate] = {}
    for touchpoint, table in value.items():
        template = _template(reader, table, f"{path}.{touchpoint}")
        if template is not None:
            templates[str(touchpoint)] = template
    return templates


def _alert_template(reader: ConfigReader, value: Any, path: str, default: Any) -> Any:
    if value is None:
        return None
    template = _template(reader, value, path, parameters=False)
    return template and WhatsAppTemplate(template.name, template.languages, ("headline",))


def _template(
    reader: ConfigReader, table: Any, where: str, *, parameters: bool = True
) -> WhatsAppTemplate | None:
    if not isinstance(table, dict):
        reader.problem(where, 'must be a table with name = "…" and language = "…"')
        return None
    keys = TEMPLATE_KEYS if parameters else TEMPLATE_KEYS[:2]
    reader.unknown_keys(table, names(keys), f"{where}.")
    values = read_keys(reader, table, f"{where}.", keys) or {}
    if not values.get("name") or not re.fullmatch(r"[a-z0-9_]{1,512}", values["name"]):
        reader.problem(
            f"{where}.name",
            "is required: the approved template's name (lower case letters, digits and _)",
        )
        return None
    languages = values.get("language")
    if isinstance(languages, str):
        languages = [languages]
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(code, str) and re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", code)
                   for code in languages)
    ):  # fmt: skip
        reader.problem(
            f"{where}.language",
            'is required: the language code the template is approved in, e.g. "fi", or'
            ' several, e.g. ["fi", "en"]',
        )
        return None
    named = values.get("parameters") or []
    if not all(isinstance(p, str) and p for p in named):
        reader.problem(f"{where}.parameters", "must be a list of touchpoint property names")
        return None
    return WhatsAppTemplate(values["name"], tuple(languages), tuple(named))


def _server_public_url(reader: ConfigReader, value: Any, path: str, scope: Scope) -> Any:
    if value is not None:
        reader.problem(path, "is set in [server] (public_url), which the webhook is on")
    return USE_DEFAULT


WHATSAPP_KEYS = (
    Key("phone_number_id", TEXT, None, _phone_number_id),
    secret("access_token", required=True, check=_not_empty),
    secret("app_secret", required=True, check=_not_empty),
    secret("verify_token", required=True, check=_not_empty),
    Key("api_version", TEXT, "v23.0", _api_version),
    Key("base_url", TEXT, None, _graph_root),
    Key("templates", _templates, {}),
    Key("alert_template", _alert_template, None),
    Key(
        "public_url",
        lambda reader, value, path, default: value,
        FromScope("server.public_url"),
        _server_public_url,
    ),
)
WHATSAPP_PACE_KEYS = (
    Key("messages_per_second", NUMBER, WhatsAppPace.messages_per_second, _positive),
    Key("seconds_between_messages_per_user", NUMBER,
        WhatsAppPace.seconds_between_messages_per_user, _positive),
    Key("per_user_burst", WHOLE, WhatsAppPace.per_user_burst, _positive),
)  # fmt: skip


KEYS = WHATSAPP_KEYS + WHATSAPP_PACE_KEYS


settings = with_nested(WhatsAppConfig, "pace", WhatsAppPace, WHATSAPP_PACE_KEYS)


def check_section(reader: ConfigReader, table: Mapping[str, Any], scope: Scope) -> None:
    templates = table.get("templates")
    known: set[str] = scope.get("touchpoint_names", set())
    for name in templates if isinstance(templates, dict) else ():
        if known and name not in known:
            touchpoints = ", ".join(sorted(known))
            reader.problem(
                f"whatsapp.templates.{name}",
                f'there is no touchpoint "{name}" (known: {touchpoints})',
            )
    if not scope["server.public_url"]:
        reader.problem(
            "whatsapp",
            "WhatsApp sends messages to a webhook: set server.public_url (https://…) and give"
            f" Meta {WEBHOOK_PATH} on it",
        )
