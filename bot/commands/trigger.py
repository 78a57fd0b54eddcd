"""`palaute trigger`: record a touchpoint for one contact, an audience or a CSV of contacts."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import SystemClock
from bot.commands.base import EXIT_CONFIG, EXIT_FAILURE, AddConfig
from bot.commands.progress import progress_bar
from bot.config import Config
from bot.property_args import parse_properties
from storage.store import Store

ALREADY_ASKED = "already asked"


def add_trigger_parser(commands: Any, add_config: AddConfig) -> None:
    trigger = commands.add_parser(
        "trigger",
        help="record a touchpoint and schedule its survey",
        description="Record that a touchpoint happened for one contact, an audience or a CSV of contacts.",
    )
    add_config(trigger)
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


def _properties(pairs: Sequence[str]) -> dict[str, str]:
    try:
        return parse_properties(pairs)
    except ValueError as error:
        raise SystemExit(f"palaute trigger: error: {error}") from None


async def cmd_trigger(args: argparse.Namespace, config: Config) -> int:
    from bot.channels.web.links import LinkBuilder
    from bot.delivery.triggers import ContactSpec, TriggerError, TriggerRequest
    from bot.services import trigger_service
    from bot.tokens import TokenSigner

    properties = _properties(args.property)
    store = await Store.open(config.storage.location)
    try:
        service = trigger_service(store, config, SystemClock())
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
    from bot.delivery.triggers import ContactSpec, TriggerError, TriggerRequest

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
