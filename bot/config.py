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
from urllib.parse import unquote, urlsplit

from bot.channels import registry
from bot.channels.spec import BadAddress
from bot.config_lines import key_lines, line_of
from bot.config_schema import (
    ABANDON,
    CLOCK,
    DURATION,
    FLAG,
    LIST,
    NUMBER,
    TABLE,
    TEXT,
    TIMEZONE,
    USE_DEFAULT,
    WHOLE,
    ConfigReader,
    FromScope,
    Key,
    Read,
    Scope,
    names,
    read_keys,
    read_section,
    secret,
    secret_names,
)
from bot.delivery.survey_fit import property_overflows, survey_overflows
from conversations.builtin import builtin_surveys
from conversations.definitions import DefinitionError, survey_from_mapping
from conversations.localization import LocalizedText, resolve
from conversations.schema import type_name
from conversations.survey import Survey

DEFAULT_CONFIG_NAME = "palaute.toml"
WEBHOOK_EVENTS = ("response.completed", "response.detractor", "followup.resolved", "contact.erased")


class ConfigError(Exception):
    """One or more problems in the config; `lines` are ready to print, one problem each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class StorageConfig:
    path: str = "palaute.db"
    url: str | None = field(default=None, repr=False)
    """A `postgresql://` URL: PostgreSQL instead of the SQLite file at `path`."""

    @property
    def location(self) -> str:
        """What to open: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.url or self.path


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
    channel_settings: Mapping[str, Any] = field(default_factory=dict)
    """Each configured channel's settings by its name, as its spec's config section read them."""

    def audience_name(self, audience: str, language: str) -> str | None:
        names = self.audience_names.get(audience)
        return resolve(names, language, self.defaults.language) if names else None

    @property
    def channels(self) -> list[str]:
        """The channels palaute runs: those without settings, and those configured."""
        return [
            spec.name
            for spec in registry.specs()
            if spec.section is None or spec.name in self.channel_settings
        ]

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
        sections: list[tuple[object, tuple[Key, ...]]] = [(self.server, SERVER_KEYS)]
        for name, settings in self.channel_settings.items():
            section = registry.spec(name).section
            if section is not None:
                sections.append((settings, section.keys))
        sections += [(hook, WEBHOOK_KEYS) for hook in self.webhooks]
        values = [
            getattr(section, name) for section, keys in sections for name in secret_names(keys)
        ]
        if self.storage.url:
            password = urlsplit(self.storage.url).password
            values += [self.storage.url, password, unquote(password) if password else None]
        return [v for v in values if v]


def _quiet_hours(reader: ConfigReader, value: Any, path: str, default: Any) -> QuietHours | None:
    if value is None:
        return default
    if value is False or value == "off":
        return None
    if not (isinstance(value, list) and len(value) == 2):
        reader.problem(path, 'must be a start and an end time, e.g. ["21:00", "08:00"], or "off"')
        return default
    start = reader.clock(value[0], f"{path}[0]", None)
    end = reader.clock(value[1], f"{path}[1]", None)
    if start is None or end is None:
        return default
    return QuietHours(start, end)


QUIET_HOURS: Read = _quiet_hours


def _networks(reader: ConfigReader, value: Any, path: str, default: Any) -> Any:
    """Addresses and networks such as "127.0.0.1" or "10.0.0.0/8"."""
    entries = reader.typed(value, list, path, [])
    networks: list[IPv4Network | IPv6Network] = []
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


def _as_given(reader: ConfigReader, value: Any, path: str, default: Any) -> Any:
    return default if value is None else value


def _port_range(reader: ConfigReader, port: Any, path: str, scope: Scope) -> Any:
    if not 0 <= port <= 65535:
        reader.problem(path, "must be between 0 and 65535")
    return port


def _web_address(reader: ConfigReader, url: Any, path: str, scope: Scope) -> Any:
    if url and not url.startswith(("http://", "https://")):
        reader.problem(path, "must start with https:// (or http://)")
    return url


def _database_url(reader: ConfigReader, url: Any, path: str, scope: Scope) -> Any:
    if url and not url.startswith(("postgresql://", "postgres://")):
        # Not the value in the message: it holds a password.
        reader.problem(
            path,
            'must be a PostgreSQL URL such as "postgresql://palaute:${DB_PASSWORD}@db:5432/palaute"'
            " (leave it out to keep the SQLite file in storage.path)",
        )
    return url


STORAGE_KEYS = (Key("path", TEXT, "palaute.db"), secret("url", check=_database_url))

SERVER_KEYS = (
    Key("port", WHOLE, 8080, _port_range),
    Key("public_url", TEXT, None, _web_address),
    Key("host", TEXT, "127.0.0.1"),
    secret("api_token"),
    secret("secret_key"),
    Key("batch_limit", WHOLE, 1000),
    secret("dashboard_password"),
    Key("trusted_proxies", _networks),
)


def _not_negative(reader: ConfigReader, number: Any, path: str, scope: Scope) -> Any:
    if number < 0:
        reader.problem(path, "must be 0 or more")
    return number


def _no_delay_when_off(reader: ConfigReader, delay: Any, path: str, scope: Scope) -> Any:
    return delay or timedelta(0)


DEFAULTS_KEYS = (
    Key("language", TEXT, DefaultsConfig.language),
    Key("min_days_between_surveys", WHOLE, DEFAULT_MIN_DAYS_BETWEEN_SURVEYS, _not_negative),
    Key("timezone", TIMEZONE, DefaultsConfig.timezone),
    Key("quiet_hours", QUIET_HOURS, DEFAULT_QUIET_HOURS),
    Key("delay", DURATION, timedelta(0), _no_delay_when_off),
    Key("remind_after", DURATION, None),
    Key("expire_after", DURATION, DefaultsConfig.expire_after),
)

ALERT_KEYS = (
    Key("nps_at_most", WHOLE, AlertRules.nps_at_most),
    Key("csat_at_most", WHOLE, AlertRules.csat_at_most),
    Key("ces_at_most", WHOLE, AlertRules.ces_at_most),
)


def _alert_rules(reader: ConfigReader, value: Any, path: str, default: Any) -> Any:
    table = {} if value is None else value
    if not isinstance(table, dict):
        reader.problem(path, "must be a table")
        return default
    reader.unknown_keys(table, names(ALERT_KEYS), f"{path}.")
    return AlertRules(**(read_keys(reader, table, f"{path}.", ALERT_KEYS) or {}))


def _report_targets(reader: ConfigReader, targets: Any, path: str, scope: Scope) -> Any:
    for index, target in enumerate(targets):
        where = f"{path}[{index}]"
        channel, _, address = str(target).partition(":")
        spec = registry.find(channel)
        if spec is None or spec.address.team is None or not address:
            forms = [f'"{s.name}:{s.address.team}"' for s in registry.specs() if s.address.team]
            reader.problem(where, f'"{target}" must be {" or ".join(forms)}')
        elif channel not in scope["channel_settings"]:
            reader.problem(where, f"reports go to {spec.title} but there is no [{channel}] section")
        elif spec.address.canonical is not None:
            try:
                targets[index] = f"{channel}:{spec.address.parse(address)}"
            except BadAddress as error:
                reader.problem(where, str(error))
    return tuple(str(target) for target in targets)


def _report_windows(reader: ConfigReader, windows: Any, path: str, scope: Scope) -> Any:
    if not windows or not all(
        isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in windows
    ):
        reader.problem(path, "must be a list of days, e.g. [7, 30]")
        return TeamConfig.windows
    return tuple(windows)


def _default_when_off(reader: ConfigReader, value: Any, path: str, scope: Scope) -> Any:
    return value or USE_DEFAULT


TEAM_KEYS = (
    Key("report_to", LIST, [], _report_targets),
    Key("windows", LIST, list(TeamConfig.windows), _report_windows),
    Key("alerts", _alert_rules, AlertRules()),
    Key("daily_summary", CLOCK, TeamConfig.daily_summary),
    Key("weekly_digest", FLAG, TeamConfig.weekly_digest),
    Key("timezone", TIMEZONE, TeamConfig.timezone),
    Key("min_n", WHOLE, TeamConfig.min_n),
    Key("followup_overdue_after", DURATION, TeamConfig.followup_overdue_after, _default_when_off),
)


LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
              ".jpeg": "image/jpeg", ".webp": "image/webp"}  # fmt: skip


def _organisation_name(reader: ConfigReader, name: Any, path: str, scope: Scope) -> Any:
    if name is not None and not name.strip():
        reader.problem(path, "must not be empty")
    return name.strip() if name else None


def _logo_file(reader: ConfigReader, logo_name: Any, path: str, scope: Scope) -> Any:
    """A relative logo path starts at `scope["base_folder"]` (the config file's folder)."""
    if logo_name is None:
        return None
    base_folder: Path = scope["base_folder"]
    logo = Path(logo_name) if Path(logo_name).is_absolute() else base_folder / logo_name
    if logo.suffix.lower() not in LOGO_TYPES:
        reader.problem(path, f"must be a {', '.join(LOGO_TYPES)} image file")
        return None
    if not logo.is_file():
        reader.problem(path, f"no image file at {logo}")
        return None
    return logo


def _accent_colour(reader: ConfigReader, accent: Any, path: str, scope: Scope) -> Any:
    if accent is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", accent):
        reader.problem(path, 'must be a colour such as "#0a7d5a"')
        return None
    return accent


ORGANISATION_KEYS = (
    Key("name", TEXT, None, _organisation_name),
    Key("logo", TEXT, None, _logo_file),
    Key("accent", TEXT, None, _accent_colour),
)


def _survey_known(reader: ConfigReader, survey_id: Any, path: str, scope: Scope) -> Any:
    if survey_id is None:
        reader.problem(path, "is required: the survey to send")
        return ABANDON
    surveys: Mapping[str, Survey] = scope["surveys"]
    if survey_id not in surveys:
        known = ", ".join(sorted(surveys))
        reader.problem(path, f'survey "{survey_id}" is not defined (known: {known})')
    return survey_id


def _sample_share(reader: ConfigReader, sample: Any, path: str, scope: Scope) -> Any:
    if not 0.0 < sample <= 1.0:
        reader.problem(path, "must be more than 0 and at most 1, e.g. 0.25")
    return sample


def _at_least_one(reader: ConfigReader, number: Any, path: str, scope: Scope) -> Any:
    if number is not None and number < 1:
        reader.problem(path, "must be 1 or more")
    return number


def _property_texts(reader: ConfigReader, properties: Any, path: str, scope: Scope) -> Any:
    return {str(name): str(value) for name, value in properties.items()}


TOUCHPOINT_KEYS = (
    Key("survey", TEXT, None, _survey_known),
    Key("sample", NUMBER, 1.0, _sample_share),
    Key("max_per_day", WHOLE, None, _at_least_one),
    Key("properties", TABLE, {}, _property_texts),
    Key("every", DURATION, None),
    Key("audience", TEXT, None),
    Key("description", TEXT, ""),
    Key("delay", DURATION, FromScope("defaults.delay"), _no_delay_when_off),
    Key("remind_after", DURATION, FromScope("defaults.remind_after")),
    Key("expire_after", DURATION, FromScope("defaults.expire_after")),
    Key("quiet_hours", QUIET_HOURS, FromScope("defaults.quiet_hours")),
)


def _webhook_url(reader: ConfigReader, url: Any, path: str, scope: Scope) -> Any:
    if not url.startswith(("http://", "https://")):
        reader.problem(path, "must be an http:// or https:// address")
    return url


def _webhook_events(reader: ConfigReader, events: Any, path: str, scope: Scope) -> Any:
    for event in events:
        if event not in WEBHOOK_EVENTS:
            reader.problem(path, f'unknown event "{event}" (known: {", ".join(WEBHOOK_EVENTS)})')
    return tuple(str(event) for event in events)


def _webhook_secret(reader: ConfigReader, secret: Any, path: str, scope: Scope) -> Any:
    if secret.startswith("whsec_"):
        # Checked now, not at the first delivery: the key is the base64 after the prefix.
        try:
            base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            reader.problem(
                path,
                'a secret starting "whsec_" must be base64 after the prefix (a Standard'
                " Webhooks secret); any other secret is used as it is",
            )
    return secret


WEBHOOK_KEYS = (
    Key("url", TEXT, "", _webhook_url),
    Key("events", LIST, list(WEBHOOK_EVENTS), _webhook_events),
    secret("secret", required=True, check=_webhook_secret),
)


def _audience_name(reader: ConfigReader, name: Any, path: str, scope: Scope) -> Any:
    if isinstance(name, str) and name.strip():
        return {scope["defaults.language"]: name}
    if (
        isinstance(name, dict)
        and name
        and all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in name.items())
    ):
        return dict(name)
    reader.problem(path, 'must be a text or { fi = "…", en = "…" }')
    return ABANDON


AUDIENCE_KEYS = (Key("name", _as_given, None, _audience_name),)

SECTIONS = (
    "storage", "server", "team", "defaults", "surveys", "touchpoints", "webhooks", "organisation",
    "audiences",
)  # fmt: skip
"""Besides each channel's own section (registry.py)."""


def find_config(explicit: str | Path | None) -> Path | None:
    """The config file to use: the one given, else ./palaute.toml if present, else none."""
    if explicit is not None:
        return Path(explicit)
    candidate = Path(DEFAULT_CONFIG_NAME)
    return candidate if candidate.is_file() else None


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
    reader = ConfigReader(environ, secrets_required=secrets_required)
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


def _build(reader: ConfigReader, data: dict[str, Any], source: Path | None) -> Config:
    reader.unknown_keys(data, {*SECTIONS, *registry.section_names()}, "")
    storage = StorageConfig(**read_section(reader, data, "storage", STORAGE_KEYS))
    server = ServerConfig(**read_section(reader, data, "server", SERVER_KEYS))
    channel_settings = _channel_settings(reader, data, server)
    defaults = DefaultsConfig(**read_section(reader, data, "defaults", DEFAULTS_KEYS))
    team = TeamConfig(**read_section(reader, data, "team", TEAM_KEYS,
                                     {"channel_settings": channel_settings}))  # fmt: skip
    surveys = _surveys(reader, data.get("surveys", {}))
    touchpoints = _touchpoints(reader, data.get("touchpoints", {}), defaults, surveys)
    webhooks = _webhooks(reader, data.get("webhooks", []))
    base_folder = source.parent if source else Path.cwd()
    organisation = OrganisationConfig(**read_section(reader, data, "organisation",
                                                     ORGANISATION_KEYS, {"base_folder": base_folder}))  # fmt: skip
    audience_names = _audience_names(reader, data.get("audiences", {}), defaults.language)
    _check_fit(reader, list(channel_settings), surveys, touchpoints)
    return Config(
        storage, server, team, defaults, surveys, touchpoints, webhooks, source,
        tuple(reader.missing_secrets), organisation, audience_names, channel_settings,
    )  # fmt: skip


def _channel_settings(
    reader: ConfigReader, data: dict[str, Any], server: ServerConfig
) -> dict[str, Any]:
    """Each channel's `[name]` table read through its spec's section, for those present."""
    touchpoints, surveys = data.get("touchpoints"), data.get("surveys")
    scope = {
        "server.public_url": server.public_url,
        # What a touchpoint can be named by (its own table, or a survey's name), for sections
        # that configure something per touchpoint (WhatsApp's templates).
        "touchpoint_names": {
            *(touchpoints if isinstance(touchpoints, dict) else ()),
            *builtin_surveys(),
            *(surveys if isinstance(surveys, dict) else ()),
        },
    }
    found: dict[str, Any] = {}
    for spec in registry.specs():
        section = spec.section
        if section is None or spec.name not in data:
            continue
        table = reader.table(data, spec.name, names(section.keys))
        values = read_keys(reader, table, f"{spec.name}.", section.keys, scope) or {}
        if section.check is not None:
            section.check(reader, table, scope)
        found[spec.name] = section.settings(values)
    return found


def _audience_names(
    reader: ConfigReader, raw: Any, default_language: str
) -> dict[str, LocalizedText]:
    """`[audiences.kirppis_visitors] name = { fi = "Kirppis", en = "Flea market" }`."""
    if not isinstance(raw, dict):
        reader.problem("audiences", "must be a table of [audiences.NAME] tables")
        return {}
    names_of: dict[str, LocalizedText] = {}
    for audience, table in raw.items():
        path = f"audiences.{audience}"
        if not isinstance(table, dict):
            reader.problem(path, 'must be a table with name = "…" or { fi = "…", en = "…" }')
            continue
        reader.unknown_keys(table, names(AUDIENCE_KEYS), f"{path}.")
        values = read_keys(reader, table, f"{path}.", AUDIENCE_KEYS,
                           {"defaults.language": default_language})  # fmt: skip
        if values is not None:
            names_of[audience] = values["name"]
    return names_of


def _surveys(reader: ConfigReader, raw: Any) -> dict[str, Survey]:
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


def _touchpoints(
    reader: ConfigReader, raw: Any, defaults: DefaultsConfig, surveys: Mapping[str, Survey]
) -> dict[str, TouchpointConfig]:
    touchpoints: dict[str, TouchpointConfig] = {}
    if not isinstance(raw, dict):
        reader.problem("touchpoints", "must be tables, e.g. [touchpoints.order_delivered]")
        return touchpoints
    scope = {f"defaults.{name}": value for name, value in vars(defaults).items()}
    scope["surveys"] = surveys
    for touchpoint_id, table in raw.items():
        path = f"touchpoints.{touchpoint_id}"
        if not isinstance(table, dict):
            reader.problem(path, "must be a table")
            continue
        reader.unknown_keys(table, names(TOUCHPOINT_KEYS), f"{path}.")
        values = read_keys(reader, table, f"{path}.", TOUCHPOINT_KEYS, scope)
        if values is not None:
            touchpoints[touchpoint_id] = TouchpointConfig(id=touchpoint_id, **values)
    return touchpoints


def _check_fit(
    reader: ConfigReader,
    channels: list[str],
    surveys: Mapping[str, Survey],
    touchpoints: Mapping[str, TouchpointConfig],
) -> None:
    """Refuse what a configured channel could not send: a survey's texts and keyboards, and the
    fixed properties a touchpoint puts into them."""
    for channel in channels:
        capacity = registry.spec(channel).capacity
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


def _webhooks(reader: ConfigReader, raw: Any) -> tuple[WebhookConfig, ...]:
    hooks: list[WebhookConfig] = []
    if not isinstance(raw, list):
        reader.problem("webhooks", "must be a list of [[webhooks]] tables")
        return ()
    for index, table in enumerate(raw):
        path = f"webhooks[{index}]"
        if not isinstance(table, dict):
            reader.problem(path, "must be a table")
            continue
        reader.unknown_keys(table, names(WEBHOOK_KEYS), f"{path}.")
        hooks.append(WebhookConfig(**(read_keys(reader, table, f"{path}.", WEBHOOK_KEYS) or {})))
    return tuple(hooks)
