"""`palaute status`: invitations and outbox by state, and recent delivery failures."""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands.base import AddConfig
from bot.config import Config
from storage.store import Store


def add_status_parser(commands: Any, add_config: AddConfig) -> None:
    status = commands.add_parser(
        "status", help="invitations and outbox by state, and recent delivery failures"
    )
    add_config(status)


async def cmd_status(args: argparse.Namespace, config: Config) -> int:
    store = await Store.open(config.storage.location)
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
