"""The `palaute` command."""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import SystemClock
from bot.config import Config, ConfigError, load_config
from bot.demo_command import add_demo_parser, cmd_demo_data
from bot.durations import format_duration, parse_duration
from bot.export_command import add_export_parser, cmd_export
from bot.import_command import add_import_parser, cmd_import
from bot.link_command import add_link_parser, cmd_link
from bot.logs import configure_logging
from bot.progress import progress_bar
from bot.property_args import parse_properties
from bot.user_command import add_user_parser, cmd_user
from conversations.questions import Question, QuestionKind
from storage.database import StorageError
from storage.store import Store

ALREADY_ASKED = "already asked"
EXIT_CONFIG = 2
EXIT_FAILURE = 1

Command = Callable[[argparse.Namespace, Config], Coroutine[Any, Any, int]]


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config file (default: ./palaute.toml if it exists, else built-in defaults)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="palaute",
        description="Collect customer feedback (NPS, CSAT, CES) in Telegram, Slack and web links.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="run the bot: channels, scheduler and HTTP server")
    _add_config(run)
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    check = commands.add_parser("check", help="validate the config and summarise it")
    _add_config(check)

    trigger = commands.add_parser(
        "trigger",
        help="record a touchpoint and schedule its survey",
        description="Record that a touchpoint happened for one contact, an audience or a CSV of contacts.",
    )
    _add_config(trigger)
    trigger.add_argument(
        "touchpoint",
        help="touchpoint name from the config, or a built-in survey (nps, csat, ces, event)",
    )
    who = trigger.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--contact",
        metavar="CHANNEL:ID",
        help="telegram:123456789, slack:U0123ABC, web:anna@example.com or ref:crm-42",
    )
    who.add_argument(
        "--audience", metavar="NAME", help="everyone in an audience (e.g. an event's attendees)"
    )
    who.add_argument(
        "--csv",
        metavar="FILE",
        type=Path,
        help="a CSV with a `contact` column; other columns become properties",
    )
    trigger.add_argument(
        "--property",
        "-p",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a touchpoint property (repeatable)",
    )
    trigger.add_argument(
        "--dry-run", action="store_true", help="show who would get what and when; store nothing"
    )
    trigger.add_argument(
        "--again",
        action="store_true",
        help="also ask contacts who already answered (or are answering) this touchpoint with "
        "the same properties; without it they are skipped",
    )
    trigger.add_argument(
        "--print-links", action="store_true", help="print each invitation's personal web link"
    )

    report = commands.add_parser("report", help="print rolling scores")
    _add_config(report)
    report.add_argument("--format", choices=["text", "json", "csv"], default="text")
    report.add_argument(
        "--window",
        action="append",
        help='how far back, e.g. "7d", "30d"; repeatable (default: [team] windows)',
    )
    report.add_argument(
        "--through",
        choices=["today", "yesterday"],
        default="today",
        help="the last local day of each window: today so far (default), or yesterday as in "
        "the daily summary",
    )
    report.add_argument("--by", help="break down by touchpoint, channel or property:NAME")
    report.add_argument("--survey", help="only this survey")
    report.add_argument(
        "--comments", type=int, default=5, metavar="N", help="newest comments to show (default 5)"
    )

    add_export_parser(commands, _add_config)

    forget = commands.add_parser("forget", help="delete a contact and everything they answered")
    _add_config(forget)
    forget.add_argument(
        "contact",
        metavar="CONTACT",
        help="telegram:123456789, slack:U0123ABC, web:anna@example.com or ref:crm-42",
    )

    status = commands.add_parser(
        "status", help="invitations and outbox by state, and recent delivery failures"
    )
    _add_config(status)
    add_link_parser(commands, _add_config)
    add_demo_parser(commands, _add_config)
    add_import_parser(commands, _add_config)
    add_user_parser(commands, _add_config)
    return parser


async def _open_store(config: Config) -> Store:
    return await Store.open(config.storage.path)


async def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from bot.app import PalauteApp, StartupError
    from bot.logs import scrub

    configure_logging(args.log_level, config.secrets())
    app = PalauteApp(config)
    try:
        await app.run_until_signal()
    except StartupError as error:
        # Platform errors may quote what was sent, the token included.
        print(f"palaute: {scrub(str(error), config.secrets())}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


async def cmd_check(args: argparse.Namespace, config: Config) -> int:
    out = sys.stdout
    source = str(config.source) if config.source else "built-in defaults (no config file)"
    print(f"Config: {source}: OK", file=out)
    print(f"Database: {config.storage.path}", file=out)
    print(
        f"HTTP server: {config.server.host}:{config.server.port} ({config.server.base_url})",
        file=out,
    )
    channels = ["web"]
    if config.telegram:
        channels.append(f"telegram ({config.telegram.mode})")
    if config.slack:
        channels.append(f"slack ({config.slack.mode} mode)")
    print(f"Channels: {', '.join(channels)}", file=out)
    if config.telegram:
        pace = config.telegram.pace
        print(
            f"Telegram pace: {pace.messages_per_second:g} messages/s overall,"
            f" {pace.messages_per_second_per_chat:g}/s per chat after {pace.per_chat_burst}"
            f" at once, {pace.messages_per_minute_per_group:g}/min per group",
            file=out,
        )
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
    targets = ", ".join(config.team.report_to) or "nowhere (set [team] report_to)"
    summary = (
        f"daily at {config.team.daily_summary:%H:%M} {config.team.timezone}"
        if config.team.daily_summary
        else "no daily summary"
    )
    print(f"Reports: {targets}; {summary}", file=out)
    for warning in config.missing_secrets:
        print(f"Warning: {warning} (palaute run refuses to start without it)", file=out)
    return 0


def _describe_alert(config: Config, question: Question) -> str:
    from bot.alerts import alert_threshold

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


def _properties(pairs: Sequence[str]) -> dict[str, str]:
    try:
        return parse_properties(pairs)
    except ValueError as error:
        raise SystemExit(f"palaute trigger: error: {error}") from None


async def cmd_trigger(args: argparse.Namespace, config: Config) -> int:
    from bot.tokens import TokenSigner
    from bot.triggers import ContactSpec, TriggerError, TriggerRequest, TriggerService
    from bot.web_links import LinkBuilder

    properties = _properties(args.property)
    store = await _open_store(config)
    try:
        service = TriggerService(store, config, SystemClock())
        secret = config.server.secret_key or await store.settings.get_or_create_secret(
            "link_secret"
        )
        links = LinkBuilder(config.server.base_url, TokenSigner(secret))
        requests: list[TriggerRequest] = []
        try:
            if args.contact:
                requests.append(
                    TriggerRequest(
                        args.touchpoint,
                        ContactSpec.parse(args.contact, "--contact"),
                        properties,
                        again=args.again,
                    )
                )
            elif args.audience:
                members = await store.audiences.members(args.audience)
                if not members:
                    print(
                        f"palaute trigger: audience {args.audience!r} has no members",
                        file=sys.stderr,
                    )
                    return EXIT_FAILURE
                for member in members:
                    spec = (
                        ContactSpec(member.channel, member.address)
                        if member.channel
                        else ContactSpec(ref=member.ref)
                    )
                    requests.append(
                        TriggerRequest(args.touchpoint, spec, properties, again=args.again)
                    )
            else:
                requests.extend(_csv_requests(args.csv, args.touchpoint, properties, args.again))
            for request in requests:
                service.validate(request)
        except TriggerError as error:
            print(f"palaute trigger: error: {error}", file=sys.stderr)
            return EXIT_CONFIG
        zone = ZoneInfo(config.defaults.timezone)
        counts: dict[str, int] = {}
        with progress_bar(len(requests), "Scheduling surveys") as bar:
            for request in requests:
                result = await (
                    service.preview(request) if args.dry_run else service.trigger(request)
                )
                invitation = result.invitation
                if result.already_asked:
                    counts[ALREADY_ASKED] = counts.get(ALREADY_ASKED, 0) + 1
                    line = (
                        f"{result.contact_label}: skipped, already {invitation.state.value}"
                        f" (invitation {invitation.id})"
                    )
                else:
                    state = invitation.state.value
                    counts[state] = counts.get(state, 0) + 1
                    due = datetime.fromtimestamp(invitation.due_at, zone).strftime(
                        "%Y-%m-%d %H:%M %Z"
                    )
                    line = f"{result.contact_label}: {invitation.survey_id} {state}"
                    line += f" ({invitation.reason})" if invitation.reason else f", due {due}"
                    if args.print_links and invitation.token and not args.dry_run:
                        line += f" {links.invitation_url(invitation)}"
                if not bar.drawn:
                    print(line)
                bar.advance(1)
        verb = "would be" if args.dry_run else "were"
        skipped = counts.pop(ALREADY_ASKED, 0)
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        print(f"{len(requests) - skipped} touchpoint(s) {verb} recorded: {summary or 'none'}")
        if skipped:
            print(
                f"{skipped} skipped: already answered or answering this touchpoint with the"
                " same properties (--again asks them anyway)"
            )
        return 0
    finally:
        await store.close()


def _csv_requests(
    path: Path, touchpoint: str, properties: dict[str, str], again: bool
) -> list[Any]:
    from bot.triggers import ContactSpec, TriggerError, TriggerRequest

    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise TriggerError("--csv", f"cannot read {path}: {error.strerror}") from None
    requests = []
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "contact" not in reader.fieldnames:
            raise TriggerError("--csv", f"{path} needs a header row with a `contact` column")
        for line_number, row in enumerate(reader, start=2):
            contact = (row.pop("contact") or "").strip()
            try:
                spec = ContactSpec.parse(contact, f"{path}:{line_number}: contact")
            except TriggerError:
                raise
            extra = {k: v for k, v in row.items() if k and v not in (None, "")}
            requests.append(TriggerRequest(touchpoint, spec, {**properties, **extra}, again=again))
    return requests


async def cmd_report(args: argparse.Namespace, config: Config) -> int:
    from datetime import timedelta

    from bot.reports import terminal
    from bot.scores import live_as_of, rolling_trends, window_periods

    try:
        windows = (
            [parse_duration(w) for w in args.window]
            if args.window
            else [timedelta(days=d) for d in config.team.windows]
        )
    except ValueError as error:
        print(f"palaute report: error: --window: {error}", file=sys.stderr)
        return EXIT_CONFIG
    if any(w.total_seconds() <= 0 for w in windows):
        print("palaute report: error: --window: must be longer than 0", file=sys.stderr)
        return EXIT_CONFIG
    if args.survey and args.survey not in config.surveys:
        known = ", ".join(sorted(config.surveys))
        print(
            f'palaute report: error: --survey: unknown survey "{args.survey}" (known: {known})',
            file=sys.stderr,
        )
        return EXIT_CONFIG
    zone = ZoneInfo(config.team.timezone)
    now = SystemClock().now()
    as_of = live_as_of(now, config.team.timezone) if args.through == "today" else now
    store = await _open_store(config)
    try:
        try:
            reports = [
                terminal.WindowReport(
                    window,
                    await rolling_trends(
                        store,
                        config.surveys,
                        now=as_of,
                        window=window,
                        min_n=config.team.min_n,
                        by=args.by,
                        survey_id=args.survey,
                        timezone=config.team.timezone,
                    ),
                )
                for window in windows
            ]
        except ValueError as error:
            print(f"palaute report: error: --by: {error}", file=sys.stderr)
            return EXIT_CONFIG
        longest, _ = window_periods(as_of, max(windows), config.team.timezone)
        comments = (
            await store.reports.comments(
                longest.start, now + 1, survey_id=args.survey, limit=args.comments
            )
            if args.comments > 0
            else []
        )
        failures = await store.outbox.failures(limit=5)
    finally:
        await store.close()
    if args.format == "json":
        terminal.write_json(
            reports,
            comments,
            by=args.by,
            min_n=config.team.min_n,
            generated_at=datetime.fromtimestamp(now, zone),
            out=sys.stdout,
        )
        return 0
    if args.format == "csv":
        terminal.write_csv(reports, sys.stdout)
        return 0
    terminal.write_text(reports, comments, by=args.by, timezone=zone, out=sys.stdout)
    if failures:
        print(f"\n{len(failures)} recent delivery failure(s); see `palaute status`.")
    return 0


async def cmd_forget(args: argparse.Namespace, config: Config) -> int:
    from bot.erasure import ErasureService
    from bot.triggers import ContactSpec, TriggerError

    try:
        spec = ContactSpec.parse(args.contact, "CONTACT")
    except TriggerError as error:
        print(f"palaute forget: error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    store = await _open_store(config)
    try:
        # The running palaute sends the edits and events queued here (its outbox is shared).
        service = ErasureService(store, config, SystemClock(), wake=lambda: None)
        result = await service.forget(channel=spec.channel, address=spec.address, ref=spec.ref)
    finally:
        await store.close()
    erased = result.erased
    if not erased.contacts:
        print(f"No contact {spec.label} in {config.storage.path}.")
        return EXIT_FAILURE
    print(
        f"Deleted {spec.label} and everything they answered: {len(erased.invitation_ids)}"
        f" survey(s), {erased.outbox_rows} queued or sent message(s), {erased.inbox_rows}"
        " received update(s)."
    )
    if result.team_edits:
        print(f"{result.team_edits} team message(s) about them will be edited to say so.")
    if result.webhook_events:
        print(f"{result.webhook_events} webhook(s) will get a contact.erased event.")
    if erased.suppressed:
        print(
            "They had opted out: that is kept (as a keyed hash), so they are never surveyed again."
        )
    if not result.checkpointed:
        print(
            "palaute forget: warning: the write-ahead log could not be emptied now; the deleted"
            " rows leave it at the next checkpoint.",
            file=sys.stderr,
        )
    return 0


async def cmd_status(args: argparse.Namespace, config: Config) -> int:
    store = await _open_store(config)
    try:
        invitations = await store.invitations.counts_by_state()
        outbox = await store.outbox.counts()
        failures = await store.outbox.failures()
        failed_invitations = await store.invitations.failures()
        failed_updates = await store.inbox.failures()
    finally:
        await store.close()
    print(
        "Invitations: " + (", ".join(f"{n} {s}" for s, n in sorted(invitations.items())) or "none")
    )
    for invitation_id, touchpoint, reason in failed_invitations:
        print(f"  failed invitation #{invitation_id} ({touchpoint}): {reason}")
    print("Outbox: " + (", ".join(f"{n} {s}" for s, n in sorted(outbox.items())) or "empty"))
    for message_id, channel, address, kind, error in failures:
        print(f"  failed #{message_id} {kind} to {channel}:{address}: {error}")
    for channel, external_id, error in failed_updates:
        print(f"  {channel} update {external_id} came to nothing: {error}")
    return 0


COMMANDS: dict[str, Command] = {
    "run": cmd_run,
    "check": cmd_check,
    "trigger": cmd_trigger,
    "report": cmd_report,
    "export": cmd_export,
    "forget": cmd_forget,
    "status": cmd_status,
    "link": cmd_link,
    "demo-data": cmd_demo_data,
    "import": cmd_import,
    "user": cmd_user,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # `check` describes a config even where its secrets are not in this environment.
        config = load_config(args.config, secrets_required=args.command != "check")
    except ConfigError as error:
        for line in error.lines:
            print(line, file=sys.stderr)
        problems = len(error.lines)
        print(
            f"palaute: the config has {problems} problem{'s' if problems != 1 else ''}; nothing was started.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if args.command != "run":
        logging.basicConfig(level=logging.WARNING)
    try:
        return asyncio.run(COMMANDS[args.command](args, config))
    except StorageError as error:
        print(f"palaute: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`palaute export | head`): stop quietly, as the Python docs
        # advise, pointing stdout at devnull so that the interpreter's final flush cannot fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE


if __name__ == "__main__":
    raise SystemExit(main())
