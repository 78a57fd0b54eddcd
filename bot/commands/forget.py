"""`palaute forget`: delete a contact and everything they answered."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.clock import SystemClock
from bot.commands.base import EXIT_CONFIG, EXIT_FAILURE, AddConfig
from bot.config import Config
from storage.store import Store


def add_forget_parser(commands: Any, add_config: AddConfig) -> None:
    forget = commands.add_parser("forget", help="delete a contact and everything they answered")
    add_config(forget)
    forget.add_argument(
        "contact",
        metavar="CONTACT",
        help="telegram:123456789, slack:U0123ABC, web:anna@example.com or ref:crm-42",
    )


async def cmd_forget(args: argparse.Namespace, config: Config) -> int:
    from bot.delivery.triggers import ContactSpec, TriggerError
    from bot.services import erasure_service

    try:
        spec = ContactSpec.parse(args.contact, "CONTACT")
    except TriggerError as error:
        print(f"palaute forget: error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    store = await Store.open(config.storage.location)
    try:
        # The running palaute sends the edits and events queued here (its outbox is shared).
        service = erasure_service(store, config, SystemClock(), wake=lambda: None)
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
