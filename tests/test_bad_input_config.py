"""Fuzzing the config loader with random TOML: a Config or a ConfigError listing problems,
never anything else (no KeyError, TypeError or ValueError from deep inside)."""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Config, ConfigError, load_config, parse_config

WORDS = [
    "30m", "2h", "1d", "7d", "90d", "0s", "-1d", "off", "on", "09:00", "21:00", "25:61", "en",
    "fi", "sv", "nps", "csat", "ces", "event", "rating", "text", "choice", "yes_no", "polling",
    "webhook", "socket", "https://feedback.example.com", "http://127.0.0.1:1", "${MISSING}",
    "${TOKEN}", "$TOKEN", "${", "nps <= 6", "nps >= 9 and csat < 3", "(((", "csat in [1, 2]",
    "Europe/Helsinki", "Mars/Olympus", "telegram:-1001", "slack:C0123", "U0123", "{event_name}",
    "{", "response.completed", "followup.resolved", "", " ", "\u202e", "\x00", "🎉",
]  # fmt: skip
SCALAR = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=20),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
    st.times(),
    st.dates(),
    st.datetimes(),
)
KEYS = [
    "path", "host", "port", "public_url", "api_token", "secret_key", "dashboard_password",
    "batch_limit", "trusted_proxies", "token", "mode", "base_url", "webhook_secret", "bot_username", "bot_token",
    "app_token", "signing_secret", "admins", "report_to", "daily_summary", "weekly_digest",
    "timezone", "windows", "min_n", "alerts", "nps_at_most", "csat_at_most", "ces_at_most",
    "followup_overdue_after", "language", "quiet_hours", "min_days_between_surveys", "delay",
    "remind_after", "expire_after", "survey", "description", "sample", "max_per_day", "every",
    "audience", "properties", "title", "default_language", "intro", "questions", "thanks",
    "anonymous", "id", "type", "text", "optional", "when", "points", "low_label", "high_label",
    "choices", "max_length", "tags", "value", "label", "url", "events", "secret",
]  # fmt: skip
VALUE = st.recursive(
    SCALAR,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)


def section(*keys: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), VALUE, max_size=len(keys))


QUESTION = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["nps", "csat", "why", "q1", "", "a b"]) | VALUE,
        "type": st.sampled_from(["nps", "csat", "ces", "rating", "yes_no", "choice", "text", "x"]),
        "text": st.sampled_from(["How?", "{event_name}?", ""]) | VALUE,
    },
    optional={
        key: VALUE
        for key in (
            "optional",
            "when",
            "points",
            "low_label",
            "high_label",
            "choices",
            "max_length",
            "tags",
        )
    },
)
SURVEY = st.fixed_dictionaries(
    {},
    optional={
        "title": VALUE,
        "default_language": st.sampled_from(["en", "fi", "xx"]) | VALUE,
        "intro": VALUE,
        "questions": st.lists(QUESTION, max_size=4) | VALUE,
        "thanks": st.lists(
            st.fixed_dictionaries({"text": VALUE}, optional={"when": VALUE}), max_size=2
        )
        | VALUE,
        "anonymous": VALUE,
    },
)
NAME = st.sampled_from(["nps", "csat", "event", "mine", "order_delivered", "x y", ""])
CONFIG = st.fixed_dictionaries(
    {},
    optional={
        "storage": section("path"),
        "server": section("host", "port", "public_url", "api_token", "secret_key", "batch_limit",
                          "trusted_proxies"),
        "telegram": section("token", "mode", "base_url", "webhook_secret", "bot_username"),
        "slack": section("bot_token", "app_token", "signing_secret", "base_url", "admins"),
        "team": section("report_to", "daily_summary", "weekly_digest", "timezone", "windows", "min_n", "alerts"),
        "defaults": section("language", "timezone", "quiet_hours", "min_days_between_surveys", "delay"),
        "surveys": st.dictionaries(NAME, SURVEY, max_size=3) | VALUE,
        "touchpoints": st.dictionaries(
            NAME,
            section("survey", "delay", "remind_after", "expire_after", "quiet_hours", "sample",
                    "max_per_day", "every", "audience", "properties"),
            max_size=3,
        )
        | VALUE,
        "webhooks": st.lists(section("url", "events", "secret"), max_size=2) | VALUE,
        "unknown": VALUE,
    },
)  # fmt: skip


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Tables as [sections], lists of tables as [[arrays]], everything else inline."""
    lines: list[str] = []
    nested: list[tuple[str, Any]] = []
    for key, value in data.items():
        tables = isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        if (isinstance(value, dict) and value) or tables:
            nested.append((key, value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, value in nested:
        path = f"{prefix}{toml_key(key)}"
        if isinstance(value, dict):
            lines.append(f"\n[{path}]")
            lines.append(to_toml(value, f"{path}."))
        else:
            for item in value:
                lines.append(f"\n[[{path}]]")
                lines.append(to_toml(item, f"{path}."))
    return "\n".join(lines)


def check(text: str) -> None:
    try:
        config = parse_config(text, environ={"TOKEN": "123456:secret"})
    except ConfigError as error:
        assert error.lines, "a ConfigError names its problems"
        assert all(isinstance(line, str) and line for line in error.lines)
    else:
        assert isinstance(config, Config)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=CONFIG)
def test_random_config_tables_load_or_explain_themselves(data: dict[str, Any]) -> None:
    check(to_toml(data))


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400))
def test_random_text_is_not_valid_toml_or_is_explained(text: str) -> None:
    check(text)


@settings(max_examples=100, deadline=None)
@given(blob=st.binary(max_size=200))
def test_a_config_file_of_any_bytes_is_explained(tmp_path_factory: Any, blob: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("config")) / "palaute.toml"
    path.write_bytes(blob)
    try:
        load_config(path, environ={})
    except ConfigError as error:
        assert error.lines


def test_a_webhook_secret_that_cannot_sign_is_refused_at_load_without_echoing_it() -> None:
    secret = "whsec_not*base64!"
    text = '[[webhooks]]\nurl = "https://hooks.example/p"\nsecret = "${HOOK}"\n'
    try:
        parse_config(text, environ={"HOOK": secret})
    except ConfigError as error:
        assert any("webhooks[0].secret" in line and "base64" in line for line in error.lines)
        assert not any(secret in line for line in error.lines)
    else:
        raise AssertionError("an unusable webhook secret was accepted")
    parse_config(text, environ={"HOOK": "whsec_" + "c2VjcmV0LWtleQ=="})  # base64: fine
    parse_config(text, environ={"HOOK": "any other secret"})  # used as it is
