"""The configuration: one TOML file read into typed, validated dataclasses.

Every problem is collected with its key path and line, and reported all at once before anything
starts. Secrets are written as "${ENV_VAR}" and read from the environment; they are kept out of
`repr()` so that they never reach a log.
"""

from __future__ import annotations

import base64
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.channels.capacity import CAPACITIES
from bot.config_lines import key_lines, line_of
from bot.durations import parse_clock, parse_duration
from bot.survey_fit import property_overflows, survey_overflows
from conversations.builtin import builtin_surveys
from conversations.definitions import DefinitionError, survey_from_mapping
from conversations.localization import LocalizedText, resolve
from conversations.schema import TableReader, type_name
from conversations.survey import Survey

DEFAULT_CONFIG_NAME = "palaute.toml"
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
TARGET_CHANNELS = ("slack", "telegram")
WEBHOOK_EVENTS = ("response.completed", "response.detractor", "followup.resolved", "contact.erased")


class ConfigError(Exception):
    """One or more problems in the config; `lines` are ready to print, one problem each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class StorageConfig:
    path: str = "palaute.db"


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    api_token: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    """Signs survey links and cookies; generated and kept in the database when not set."""
    batch_limit: int = 1000
    dashboard_password: str | None = field(default=None, repr=False)
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    """Reverse proxies whose X-Forwarded-For names the client (for the per-address limits)."""

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class TelegramPace:
    """Telegram's flood limits palaute paces itself under. The defaults are the published
    figures (the Bot FAQ "My bot is hitting limits", telegram.constants.FloodLimit); raise them
    for paid broadcasts (up to 1000 a second overall) or a local Bot API server's own limits."""

    messages_per_second: float = 30.0
    messages_per_second_per_chat: float = 1.0
    per_chat_burst: int = 3
    """Messages one chat may get at once before the per-chat pace applies (1: never more)."""
    messages_per_minute_per_group: float = 20.0


@dataclass(frozen=True)
class TelegramConfig:
    token: str = field(repr=False)
    mode: str = "polling"
    base_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    bot_username: str | None = None
    pace: TelegramPace = TelegramPace()


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


@dataclass(frozen=True)
class AlertRules:
    nps_at_most: int = 6
    csat_at_most: int = 2
    ces_at_most: int = 3


@dataclass(frozen=True)
class TeamConfig:
    report_to: tuple[str, ...] = ()
    daily_summary: time | None = time(9, 0)
    weekly_digest: bool = True
    timezone: str = "Europe/Helsinki"
    windows: tuple[int, ...] = (7, 30)
    min_n: int = 10
    alerts: AlertRules = AlertRules()
    followup_overdue_after: timedelta = timedelta(days=2)


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time


DEFAULT_QUIET_HOURS = QuietHours(time(21, 0), time(8, 0))
"""No survey is pushed to a customer between these, in their time zone, unless configured."""
DEFAULT_MIN_DAYS_BETWEEN_SURVEYS = 7


@dataclass(frozen=True)
class DefaultsConfig:
    language: str = "en"
    timezone: str = "Europe/Helsinki"
    quiet_hours: QuietHours | None = DEFAULT_QUIET_HOURS
    min_days_between_surveys: int = DEFAULT_MIN_DAYS_BETWEEN_SURVEYS
    delay: timedelta = timedelta(0)
    remind_after: timedelta | None = None
    expire_after: timedelta | None = timedelta(days=7)


@dataclass(frozen=True)
class TouchpointConfig:
    id: str
    survey: str
    description: str = ""
    delay: timedelta = timedelta(0)
    remind_after: timedelta | None = None
    expire_after: timedelta | None = timedelta(days=7)
    quiet_hours: QuietHours | None = None
    sample: float = 1.0
    max_per_day: int | None = None
    every: timedelta | None = None
    audience: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    """Fixed properties of every occurrence, e.g. event_name for an event touchpoint."""


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    events: tuple[str, ...]
    secret: str = field(repr=False)


@dataclass(frozen=True)
class OrganisationConfig:
    """Who is asking, as customers see it on survey pages and in messages."""

    name: str | None = None
    logo: Path | None = None
    """An image file palaute serves on survey pages (no third party sees the customers)."""
    accent: str | None = None
    """A CSS colour `#rrggbb` for buttons and highlights on survey pages."""


@dataclass(frozen=True)
class Config:
    storage: StorageConfig = StorageConfig()
    server: ServerConfig = ServerConfig()
    telegram: TelegramConfig | None = None
    slack: SlackConfig | None = None
    team: TeamConfig = TeamConfig()
    defaults: DefaultsConfig = DefaultsConfig()
    surveys: Mapping[str, Survey] = field(default_factory=builtin_surveys)
    touchpoints: Mapping[str, TouchpointConfig] = field(default_factory=dict)
    webhooks: tuple[WebhookConfig, ...] = ()
    source: Path | None = None
    missing_secrets: tuple[str, ...] = ()
    """Secrets whose variables were not set, when loaded with `secrets_required=False`."""
    organisation: OrganisationConfig = OrganisationConfig()
    audience_names: Mapping[str, LocalizedText] = field(default_factory=dict)
    """What customers see an audience called (`kirppis_visitors` → "Kirppis 2026")."""

    def audience_name(self, audience: str, language: str) -> str | None:
        names = self.audience_names.get(audience)
        return resolve(names, language, self.defaults.language) if names else None

    @property
    def channels(self) -> list[str]:
        names = ["web"]
        if self.telegram:
            names.append("telegram")
        if self.slack:
            names.append("slack")
        return names

    def touchpoint(self, name: str) -> TouchpointConfig:
        """A configured touchpoint, or an implicit one that sends the built-in survey of that name."""
        if name in self.touchpoints:
            return self.touchpoints[name]
        if name in self.surveys:
            return TouchpointConfig(
                id=name,
                survey=name,
                delay=self.defaults.delay,
                remind_after=self.defaults.remind_after,
                expire_after=self.defaults.expire_after,
                quiet_hours=self.defaults.quiet_hours,
            )
        raise KeyError(name)

    def secrets(self) -> list[str]:
        """Every secret value in use, for scrubbing logs."""
        values = [self.server.api_token, self.server.secret_key, self.server.dashboard_password]
        if self.telegram:
            values += [self.telegram.token, self.telegram.webhook_secret]
        if self.slack:
            values += [self.slack.bot_token, self.slack.app_token, self.slack.signing_secret]
        values += [hook.secret for hook in self.webhooks]
        return [v for v in values if v]


class _ConfigReader(TableReader):
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

    def quiet_hours(self, value: Any, path: str, default: QuietHours | None) -> QuietHours | None:
        if value is None:
            return default
        if value is False or value == "off":
            return None
        if not (isinstance(value, list) and len(value) == 2):
            self.problem(path, 'must be a start and an end time, e.g. ["21:00", "08:00"], or "off"')
            return default
        start = self.clock(value[0], f"{path}[0]", None)
        end = self.clock(value[1], f"{path}[1]", None)
        if start is None or end is None:
            return default
        return QuietHours(start, end)

    def timezone(self, value: Any, path: str, default: str) -> str:
        name = self.typed(value, str, path, default)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(path, f'"{name}" is not a known time zone (e.g. "Europe/Helsinki")')
            return default
        return str(name)


_PACE_KEYS = (
    "messages_per_second",
    "messages_per_second_per_chat",
    "per_chat_burst",
    "messages_per_minute_per_group",
)


def _telegram_pace(reader: _ConfigReader, table: Mapping[str, Any]) -> TelegramPace:
    defaults = TelegramPace()
    rates: dict[str, float] = {}
    for key in ("messages_per_second", "messages_per_second_per_chat"):
        path = f"telegram.{key}"
        value = reader.typed(table.get(key), float, path, getattr(defaults, key))
        if not 0 < value <= 100_000:
            reader.problem(path, "must be a number of messages a second above 0")
            value = getattr(defaults, key)
        rates[key] = value
    group_path = "telegram.messages_per_minute_per_group"
    group = reader.typed(
        table.get("messages_per_minute_per_group"),
        float,
        group_path,
        defaults.messages_per_minute_per_group,
    )
    if not 2 <= group <= 6_000_000:
        reader.problem(group_path, "must be a number of messages a minute, at least 2")
        group = defaults.messages_per_minute_per_group
    burst_path = "telegram.per_chat_burst"
    burst = reader.typed(table.get("per_chat_burst"), int, burst_path, defaults.per_chat_burst)
    if not 1 <= burst <= 1000:
        reader.problem(burst_path, "must be a whole number of messages from 1 (no burst) to 1000")
        burst = defaults.per_chat_burst
    return TelegramPace(
        messages_per_second=rates["messages_per_second"],
        messages_per_second_per_chat=rates["messages_per_second_per_chat"],
        per_chat_burst=burst,
        messages_per_minute_per_group=group,
    )


def find_config(explicit: str | Path | None) -> Path | None:
    """The config file to use: the one given, else ./palaute.toml if present, else none."""
    if explicit is not None:
        return Path(explicit)
    candidate = Path(DEFAULT_CONFIG_NAME)
    return candidate if candidate.is_file() else None


def _networks(reader: TableReader, value: Any) -> tuple[IPv4Network | IPv6Network, ...]:
    """`server.trusted_proxies`: addresses and networks such as "127.0.0.1" or "10.0.0.0/8"."""
    path = "server.trusted_proxies"
    entries = reader.typed(value, list, path, [])
    networks = []
    for index, entry in enumerate(entries):
        where = f"{path}[{index}]"
        if not isinstance(entry, str):
            reader.problem(
                where, f'must be a text such as "10.0.0.0/8", not {type_name(type(entry))}'
            )
            continue
        try:
            networks.append(ip_network(entry.strip(), strict=False))
        except ValueError:
            reader.problem(
                where, f'"{entry}" is not an IP address or network (e.g. "127.0.0.1", "10.0.0.0/8")'
            )
    return tuple(networks)


def load_config(
    path: str | Path | None,
    environ: Mapping[str, str] | None = None,
    *,
    secrets_required: bool = True,
) -> Config:
    """Load and validate; raises ConfigError listing every problem (with file lines)."""
    environ = os.environ if environ is None else environ
    source = find_config(path)
    if source is None:
        return Config()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{source}: cannot read the config file: {error.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{source}: the config file is not UTF-8 text"]) from None
    return parse_config(text, source=source, environ=environ, secrets_required=secrets_required)


def parse_config(
    text: str,
    *,
    source: Path | None = None,
    environ: Mapping[str, str] | None = None,
    secrets_required: bool = True,
) -> Config:
    environ = os.environ if environ is None else environ
    name = str(source) if source else "<config>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{name}: not valid TOML: {error}"]) from None
    reader = _ConfigReader(environ, secrets_required=secrets_required)
    config = _build(reader, data, source)
    if reader.problems:
        lines = key_lines(text)
        formatted = []
        for path, message in reader.problems:
            line = line_of(lines, path)
            where = f"{name}:{line}" if line else name
            formatted.append(f"{where}: {path}: {message}")
        raise ConfigError(formatted)
    return config


def _build(reader: _ConfigReader, data: dict[str, Any], source: Path | None) -> Config:
    reader.unknown_keys(
        data,
        {
            "storage",
            "server",
            "telegram",
            "slack",
            "team",
            "defaults",
            "surveys",
            "touchpoints",
            "webhooks",
            "organisation",
            "audiences",
        },
        "",
    )
    storage_table = reader.table(data, "storage", {"path"})
    storage = StorageConfig(
        path=reader.typed(storage_table.get("path"), str, "storage.path", "palaute.db")
    )

    server_table = reader.table(
        data,
        "server",
        {
            "host",
            "port",
            "public_url",
            "api_token",
            "secret_key",
            "batch_limit",
            "dashboard_password",
            "trusted_proxies",
        },
    )
    port = reader.typed(server_table.get("port"), int, "server.port", 8080)
    if not 0 <= port <= 65535:
        reader.problem("server.port", "must be between 0 and 65535")
    public_url = reader.typed(server_table.get("public_url"), str, "server.public_url", None)
    if public_url and not public_url.startswith(("http://", "https://")):
        reader.problem("server.public_url", "must start with https:// (or http://)")
    server = ServerConfig(
        host=reader.typed(server_table.get("host"), str, "server.host", "127.0.0.1"),
        port=port,
        public_url=public_url,
        api_token=reader.secret(server_table.get("api_token"), "server.api_token"),
        secret_key=reader.secret(server_table.get("secret_key"), "server.secret_key"),
        batch_limit=reader.typed(server_table.get("batch_limit"), int, "server.batch_limit", 1000),
        dashboard_password=reader.secret(
            server_table.get("dashboard_password"), "server.dashboard_password"
        ),
        trusted_proxies=_networks(reader, server_table.get("trusted_proxies")),
    )

    telegram = None
    if "telegram" in data:
        table = reader.table(
            data,
            "telegram",
            {"token", "mode", "base_url", "webhook_secret", "bot_username", *_PACE_KEYS},
        )
        mode = reader.typed(table.get("mode"), str, "telegram.mode", "polling")
        if mode not in ("polling", "webhook"):
            reader.problem("telegram.mode", 'must be "polling" or "webhook"')
        if mode == "webhook" and not public_url:
            reader.problem("telegram.mode", "webhook mode needs server.public_url")
        telegram_base_url = reader.typed(table.get("base_url"), str, "telegram.base_url", None)
        if telegram_base_url is not None and not re.fullmatch(
            r"https?://[^/\s]+(/\S*)?", telegram_base_url
        ):
            reader.problem("telegram.base_url", "must be an http:// or https:// URL")
        elif telegram_base_url is not None and telegram_base_url.rstrip("/").endswith("/bot"):
            reader.problem(
                "telegram.base_url",
                f'give the Bot API server\'s root, without /bot (palaute adds "/bot<token>/"):'
                f' "{telegram_base_url.rstrip("/").removesuffix("/bot")}"',
            )
        telegram = TelegramConfig(
            token=reader.secret(table.get("token"), "telegram.token", required=True) or "",
            mode=mode,
            base_url=telegram_base_url,
            webhook_secret=reader.secret(table.get("webhook_secret"), "telegram.webhook_secret"),
            bot_username=reader.typed(
                table.get("bot_username"), str, "telegram.bot_username", None
            ),
            pace=_telegram_pace(reader, table),
        )

    slack = None
    if "slack" in data:
        table = reader.table(
            data, "slack", {"bot_token", "app_token", "signing_secret", "base_url", "admins"}
        )
        admins = reader.typed(table.get("admins"), list, "slack.admins", [])
        slack = SlackConfig(
            bot_token=reader.secret(table.get("bot_token"), "slack.bot_token", required=True) or "",
            app_token=reader.secret(table.get("app_token"), "slack.app_token"),
            signing_secret=reader.secret(table.get("signing_secret"), "slack.signing_secret"),
            base_url=reader.typed(table.get("base_url"), str, "slack.base_url", None),
            admins=tuple(str(a) for a in admins),
        )
        if "app_token" not in table and "signing_secret" not in table:
            reader.problem("slack", "set app_token (Socket Mode) or signing_secret (HTTP mode)")
        if "app_token" not in table and not public_url:
            reader.problem("slack.signing_secret", "HTTP mode needs server.public_url")

    defaults = _defaults(reader, reader.table(
        data, "defaults",
        {"language", "timezone", "quiet_hours", "min_days_between_surveys", "delay", "remind_after", "expire_after"},
    ))  # fmt: skip
    team = _team(reader, data, telegram, slack)
    surveys = _surveys(reader, data.get("surveys", {}))
    touchpoints = _touchpoints(reader, data.get("touchpoints", {}), defaults, surveys)
    webhooks = _webhooks(reader, data.get("webhooks", []))
    organisation = _organisation(
        reader,
        reader.table(data, "organisation", {"name", "logo", "accent"}),
        source.parent if source else Path.cwd(),
    )
    audience_names = _audience_names(reader, data.get("audiences", {}), defaults.language)
    _check_fit(reader, [name for name, on in (("telegram", telegram), ("slack", slack)) if on],
               surveys, touchpoints)  # fmt: skip
    return Config(
        storage, server, telegram, slack, team, defaults, surveys, touchpoints, webhooks, source,
        tuple(reader.missing_secrets), organisation, audience_names,
    )  # fmt: skip


LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
              ".jpeg": "image/jpeg", ".webp": "image/webp"}  # fmt: skip


def _organisation(
    reader: _ConfigReader, table: dict[str, Any], base_folder: Path
) -> OrganisationConfig:
    """`base_folder`: where a relative logo path starts (the config file's folder)."""
    name = reader.typed(table.get("name"), str, "organisation.name", None)
    if name is not None and not name.strip():
        reader.problem("organisation.name", "must not be empty")
    logo_name = reader.typed(table.get("logo"), str, "organisation.logo", None)
    logo = None
    if logo_name is not None:
        logo = Path(logo_name) if Path(logo_name).is_absolute() else base_folder / logo_name
        if logo.suffix.lower() not in LOGO_TYPES:
            reader.problem("organisation.logo", f"must be a {', '.join(LOGO_TYPES)} image file")
            logo = None
        elif not logo.is_file():
            reader.problem("organisation.logo", f"no image file at {logo}")
            logo = None
    accent = reader.typed(table.get("accent"), str, "organisation.accent", None)
    if accent is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", accent):
        reader.problem("organisation.accent", 'must be a colour such as "#0a7d5a"')
        accent = None
    return OrganisationConfig(name.strip() if name else None, logo, accent)


def _audience_names(
    reader: _ConfigReader, raw: Any, default_language: str
) -> dict[str, LocalizedText]:
    """`[audiences.kirppis_visitors] name = { fi = "Kirppis", en = "Flea market" }`."""
    if not isinstance(raw, dict):
        reader.problem("audiences", "must be a table of [audiences.NAME] tables")
        return {}
    names: dict[str, LocalizedText] = {}
    for audience, table in raw.items():
        path = f"audiences.{audience}"
        if not isinstance(table, dict):
            reader.problem(path, 'must be a table with name = "…" or { fi = "…", en = "…" }')
            continue
        reader.unknown_keys(table, {"name"}, f"{path}.")
        name = table.get("name")
        if isinstance(name, str) and name.strip():
            names[audience] = {default_language: name}
        elif (
            isinstance(name, dict)
            and name
            and all(
                isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in name.items()
            )
        ):
            names[audience] = dict(name)
        else:
            reader.problem(f"{path}.name", 'must be a text or { fi = "…", en = "…" }')
    return names


def _defaults(reader: _ConfigReader, table: dict[str, Any]) -> DefaultsConfig:
    base = DefaultsConfig()
    language = reader.typed(table.get("language"), str, "defaults.language", base.language)
    min_days = reader.typed(
        table.get("min_days_between_surveys"),
        int,
        "defaults.min_days_between_surveys",
        base.min_days_between_surveys,
    )
    if min_days < 0:
        reader.problem("defaults.min_days_between_surveys", "must be 0 or more")
    return DefaultsConfig(
        language=language,
        timezone=reader.timezone(table.get("timezone"), "defaults.timezone", base.timezone),
        quiet_hours=reader.quiet_hours(
            table.get("quiet_hours"), "defaults.quiet_hours", base.quiet_hours
        ),
        min_days_between_surveys=min_days,
        delay=reader.duration(table.get("delay"), "defaults.delay", base.delay) or timedelta(0),
        remind_after=reader.duration(table.get("remind_after"), "defaults.remind_after", None),
        expire_after=reader.duration(
            table.get("expire_after"), "defaults.expire_after", base.expire_after
        ),
    )


def _team(
    reader: _ConfigReader,
    data: dict[str, Any],
    telegram: TelegramConfig | None,
    slack: SlackConfig | None,
) -> TeamConfig:
    table = reader.table(
        data, "team",
        {"report_to", "daily_summary", "weekly_digest", "timezone", "windows", "min_n", "alerts",
         "followup_overdue_after"},
    )  # fmt: skip
    base = TeamConfig()
    targets = reader.typed(table.get("report_to"), list, "team.report_to", [])
    for index, target in enumerate(targets):
        path = f"team.report_to[{index}]"
        channel, _, address = str(target).partition(":")
        if channel not in TARGET_CHANNELS or not address:
            reader.problem(path, f'"{target}" must be "slack:CHANNEL_ID" or "telegram:CHAT_ID"')
        elif channel == "slack" and slack is None:
            reader.problem(path, "reports go to Slack but there is no [slack] section")
        elif channel == "telegram" and telegram is None:
            reader.problem(path, "reports go to Telegram but there is no [telegram] section")
    windows = reader.typed(table.get("windows"), list, "team.windows", list(base.windows))
    if not windows or not all(
        isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in windows
    ):
        reader.problem("team.windows", "must be a list of days, e.g. [7, 30]")
        windows = list(base.windows)
    alerts_table = table.get("alerts", {})
    alerts = base.alerts
    if not isinstance(alerts_table, dict):
        reader.problem("team.alerts", "must be a table")
    else:
        reader.unknown_keys(
            alerts_table, {"nps_at_most", "csat_at_most", "ces_at_most"}, "team.alerts."
        )
        alerts = AlertRules(
            nps_at_most=reader.typed(
                alerts_table.get("nps_at_most"), int, "team.alerts.nps_at_most", 6
            ),
            csat_at_most=reader.typed(
                alerts_table.get("csat_at_most"), int, "team.alerts.csat_at_most", 2
            ),
            ces_at_most=reader.typed(
                alerts_table.get("ces_at_most"), int, "team.alerts.ces_at_most", 3
            ),
        )
    return TeamConfig(
        report_to=tuple(str(t) for t in targets),
        daily_summary=reader.clock(
            table.get("daily_summary"), "team.daily_summary", base.daily_summary
        ),
        weekly_digest=reader.typed(table.get("weekly_digest"), bool, "team.weekly_digest", True),
        timezone=reader.timezone(table.get("timezone"), "team.timezone", base.timezone),
        windows=tuple(windows),
        min_n=reader.typed(table.get("min_n"), int, "team.min_n", base.min_n),
        alerts=alerts,
        followup_overdue_after=reader.duration(
            table.get("followup_overdue_after"),
            "team.followup_overdue_after",
            base.followup_overdue_after,
        )
        or base.followup_overdue_after,
    )


def _surveys(reader: _ConfigReader, raw: Any) -> dict[str, Survey]:
    surveys = builtin_surveys()
    if not isinstance(raw, dict):
        reader.problem("surveys", "must be tables, e.g. [surveys.delivery]")
        return surveys
    for survey_id, table in raw.items():
        path = f"surveys.{survey_id}"
        if not isinstance(table, dict):
            reader.problem(path, "must be a table")
            continue
        try:
            surveys[survey_id] = survey_from_mapping(survey_id, table)
        except DefinitionError as error:
            for sub_path, message in error.problems:
                reader.problem(f"{path}.{sub_path}" if sub_path else path, message)
    return surveys


_TOUCHPOINT_KEYS = {
    "survey", "description", "delay", "remind_after", "expire_after", "quiet_hours", "sample",
    "max_per_day", "every", "audience", "properties",
}  # fmt: skip


def _touchpoints(
    reader: _ConfigReader, raw: Any, defaults: DefaultsConfig, surveys: Mapping[str, Survey]
) -> dict[str, TouchpointConfig]:
    touchpoints: dict[str, TouchpointConfig] = {}
    if not isinstance(raw, dict):
        reader.problem("touchpoints", "must be tables, e.g. [touchpoints.order_delivered]")
        return touchpoints
    for touchpoint_id, table in raw.items():
        path = f"touchpoints.{touchpoint_id}"
        if not isinstance(table, dict):
            reader.problem(path, "must be a table")
            continue
        reader.unknown_keys(table, _TOUCHPOINT_KEYS, f"{path}.")
        survey_id = reader.typed(table.get("survey"), str, f"{path}.survey", None)
        if survey_id is None:
            reader.problem(f"{path}.survey", "is required: the survey to send")
            continue
        if survey_id not in surveys:
            known = ", ".join(sorted(surveys))
            reader.problem(
                f"{path}.survey", f'survey "{survey_id}" is not defined (known: {known})'
            )
        sample = reader.typed(table.get("sample"), float, f"{path}.sample", 1.0)
        if not 0.0 < sample <= 1.0:
            reader.problem(f"{path}.sample", "must be more than 0 and at most 1, e.g. 0.25")
        max_per_day = reader.typed(table.get("max_per_day"), int, f"{path}.max_per_day", None)
        if max_per_day is not None and max_per_day < 1:
            reader.problem(f"{path}.max_per_day", "must be 1 or more")
        properties = reader.typed(table.get("properties"), dict, f"{path}.properties", {})
        every = reader.duration(table.get("every"), f"{path}.every", None)
        audience = reader.typed(table.get("audience"), str, f"{path}.audience", None)
        touchpoints[touchpoint_id] = TouchpointConfig(
            id=touchpoint_id,
            survey=survey_id,
            description=reader.typed(table.get("description"), str, f"{path}.description", ""),
            delay=reader.duration(table.get("delay"), f"{path}.delay", defaults.delay)
            or timedelta(0),
            remind_after=reader.duration(
                table.get("remind_after"), f"{path}.remind_after", defaults.remind_after
            ),
            expire_after=reader.duration(
                table.get("expire_after"), f"{path}.expire_after", defaults.expire_after
            ),
            quiet_hours=reader.quiet_hours(
                table.get("quiet_hours"), f"{path}.quiet_hours", defaults.quiet_hours
            ),
            sample=sample,
            max_per_day=max_per_day,
            every=every,
            audience=audience,
            properties={str(k): str(v) for k, v in properties.items()},
        )
    return touchpoints


def _check_fit(
    reader: _ConfigReader,
    channels: list[str],
    surveys: Mapping[str, Survey],
    touchpoints: Mapping[str, TouchpointConfig],
) -> None:
    """Refuse what a configured channel could not send: a survey's texts and keyboards, and the
    fixed properties a touchpoint puts into them."""
    for channel in channels:
        capacity = CAPACITIES.get(channel)
        if capacity is None:
            continue
        for survey_id, survey in surveys.items():
            for overflow in survey_overflows(survey, capacity):
                reader.problem(f"surveys.{survey_id}.{overflow.path}", overflow.message)
        for touchpoint_id, touchpoint in touchpoints.items():
            fixed = surveys.get(touchpoint.survey)
            if fixed is None or not touchpoint.properties:
                continue
            for name, message in property_overflows(fixed, capacity, touchpoint.properties):
                reader.problem(f"touchpoints.{touchpoint_id}.properties.{name}", message)


def _webhooks(reader: _ConfigReader, raw: Any) -> tuple[WebhookConfig, ...]:
    hooks: list[WebhookConfig] = []
    if not isinstance(raw, list):
        reader.problem("webhooks", "must be a list of [[webhooks]] tables")
        return ()
    for index, table in enumerate(raw):
        path = f"webhooks[{index}]"
        if not isinstance(table, dict):
            reader.problem(path, "must be a table")
            continue
        reader.unknown_keys(table, {"url", "events", "secret"}, f"{path}.")
        url = reader.typed(table.get("url"), str, f"{path}.url", "")
        if not url.startswith(("http://", "https://")):
            reader.problem(f"{path}.url", "must be an http:// or https:// address")
        events = reader.typed(table.get("events"), list, f"{path}.events", list(WEBHOOK_EVENTS))
        for event in events:
            if event not in WEBHOOK_EVENTS:
                reader.problem(
                    f"{path}.events",
                    f'unknown event "{event}" (known: {", ".join(WEBHOOK_EVENTS)})',
                )
        secret = reader.secret(table.get("secret"), f"{path}.secret", required=True) or ""
        if secret.startswith("whsec_"):
            # Checked now, not at the first delivery: the key is the base64 after the prefix.
            try:
                base64.b64decode(secret.removeprefix("whsec_"), validate=True)
            except ValueError:
                reader.problem(
                    f"{path}.secret",
                    'a secret starting "whsec_" must be base64 after the prefix (a Standard'
                    " Webhooks secret); any other secret is used as it is",
                )
        hooks.append(WebhookConfig(url=url, events=tuple(str(e) for e in events), secret=secret))
    return tuple(hooks)
