"""`palaute check`: validate the config and summarise what it sets up."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.channels import registry
from bot.commands.base import EXIT_FAILURE, AddConfig
from bot.config import Config
from bot.durations import format_duration
from conversations.questions import Question, QuestionKind
from storage.backends import describe_location, open_database
from storage.database import StorageError, migrations
from storage.postgresql.migrations import postgresql_migrations


def add_check_parser(commands: Any, add_config: AddConfig) -> None:
    check = commands.add_parser("check", help="validate the config and summarise it")
    add_config(check)


async def cmd_check(args: argparse.Namespace, config: Config) -> int:
    out = sys.stdout
    source = str(config.source) if config.source else "built-in defaults (no config file)"
    print(f"Config: {source}: OK", file=out)
    database, reachable = await _describe_database(config)
    print(f"Database: {database}", file=out)
    print(
        f"HTTP server: {config.server.host}:{config.server.port} ({config.server.base_url})",
        file=out,
    )
    channels: list[str] = []
    details: list[str] = []
    for name in config.channels:
        section = registry.spec(name).section
        settings = config.channel_settings.get(name)
        label = section.label(settings) if section and settings is not None else ""
        channels.append(f"{name} ({label})" if label else name)
        if section and settings is not None:
            details += section.details(settings)
    print(f"Channels: {', '.join(channels)}", file=out)
    for line in details:
        print(line, file=out)
    print("Surveys:", file=out)
    for survey in config.surveys.values():
        print(f"  {survey.id} ({', '.join(survey.languages)}):", file=out)
        for question in survey.questions:
            extra = f" when {question.when.source}" if question.when else ""
            extra += _describe_alert(config, question)
            optional = " (optional)" if question.optional else ""
            title = question.text.get(survey.default_language) or next(iter(question.text.values()))
            print(
                f"    - {question.id} [{question.kind.value}]{optional}{extra}: {title}", file=out
            )
    print(f"Timing: {_describe_timing(config)}", file=out)
    print("Touchpoints:", file=out)
    if not config.touchpoints:
        print(
            "  (none configured: trigger a built-in survey by its name, e.g. `palaute trigger nps`)",
            file=out,
        )
    for touchpoint in config.touchpoints.values():
        parts = [f"survey {touchpoint.survey}", f"delay {format_duration(touchpoint.delay)}"]
        parts.append(
            f"reminder after {format_duration(touchpoint.remind_after)}"
            if touchpoint.remind_after
            else "no reminder"
        )
        parts.append(
            f"expires after {format_duration(touchpoint.expire_after)}"
            if touchpoint.expire_after
            else "never expires"
        )
        if touchpoint.quiet_hours:
            parts.append(
                f"quiet {touchpoint.quiet_hours.start:%H:%M}–{touchpoint.quiet_hours.end:%H:%M}"
            )
        if touchpoint.sample < 1:
            parts.append(f"sample {touchpoint.sample:g}")
        if touchpoint.max_per_day:
            parts.append(f"max {touchpoint.max_per_day}/day")
        if touchpoint.every:
            parts.append(
                f"every {format_duration(touchpoint.every)} to {touchpoint.audience or 'all'}"
            )
        print(f"  {touchpoint.id}: {', '.join(parts)}", file=out)
    fixed = {t.id: dict(t.properties) for t in config.touchpoints.values()}
    for name in config.channels:
        section = registry.spec(name).section
        settings = config.channel_settings.get(name)
        if section and section.touchpoint_notes and settings is not None:
            for line in section.touchpoint_notes(settings, fixed):
                print(line, file=out)
    targets = ", ".join(config.team.report_to) or "nowhere (set [team] report_to)"
    summary = (
        f"daily at {config.team.daily_summary:%H:%M} {config.team.timezone}"
        if config.team.daily_summary
        else "no daily summary"
    )
    print(f"Reports: {targets}; {summary}", file=out)
    for warning in config.missing_secrets:
        print(f"Warning: {warning} (palaute run refuses to start without it)", file=out)
    return 0 if reachable else EXIT_FAILURE


async def _describe_database(config: Config) -> tuple[str, bool]:
    """Which backend is in use and whether palaute can open it; False when it cannot."""
    storage = config.storage
    unset = [w for w in config.missing_secrets if w.startswith("storage.url:")]
    if unset:
        return f"PostgreSQL ({unset[0]} here, so it was not tried)", True
    where = describe_location(storage.location)
    if storage.url is None and not Path(storage.path).exists():
        return f"{where} (not made yet: `palaute migrate` or `palaute run` makes it)", True
    try:
        database = await open_database(storage.location, migrate=False)
    except StorageError as error:
        return f"{where}: cannot open it: {error}", False
    try:
        version = await database.schema_version()
    except StorageError as error:
        return f"{where}: cannot read it: {error}", False
    finally:
        await database.close()
    newest = postgresql_migrations()[-1][0] if storage.url else migrations()[-1][0]
    if version < newest:
        state = f"schema version {version} of {newest} (`palaute migrate` brings it up to date)"
    elif version > newest:
        state = f"schema version {version}, newer than this palaute knows ({newest})"
    else:
        state = f"schema version {version}, up to date"
    opened = "connected" if storage.url else "opened"
    return f"{where}: {opened}, {state}", version <= newest


def _describe_alert(config: Config, question: Question) -> str:
    from bot.team.detractors import alert_threshold

    if question.kind is QuestionKind.YES_NO:
        return (
            ""
            if question.alert_on is None
            else f", alerts on {'yes' if question.alert_on else 'no'}"
        )
    if not question.is_scale:
        return ""
    limit = alert_threshold(config.team.alerts, question)
    return "" if limit is None else f", alerts at {limit} or less"


def _describe_timing(config: Config) -> str:
    """The guards every touchpoint without its own settings gets, as `check` shows them."""
    defaults = config.defaults
    quiet = (
        f"quiet hours {defaults.quiet_hours.start:%H:%M}–{defaults.quiet_hours.end:%H:%M}"
        f" in the customer's time zone (else {defaults.timezone})"
        if defaults.quiet_hours
        else "no quiet hours"
    )
    fatigue = (
        f"at least {defaults.min_days_between_surveys} days between surveys to one person"
        if defaults.min_days_between_surveys
        else "no limit on how often one person is surveyed"
    )
    return f"{quiet}; {fatigue} (set in [defaults]; open web links answer at once)"
