"""`palaute user`: the team's named dashboard accounts (add, list, remove, password).

A password is asked twice on the terminal without echo, or read as one line from standard
input with --password-stdin (for scripts); only its scrypt hash is stored (bot.passwords).
Errors are one line on standard error: exit 1 when the account is unknown or taken, 2 for
input that cannot be used (a bad name, a short password, two passwords that differ).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import unicodedata
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import SystemClock
from bot.config import Config
from bot.passwords import PasswordError, check_new_password, hash_password
from storage.dashboard_accounts import SHARED_NAME, Role
from storage.store import Store

EXIT_FAILURE = 1
EXIT_USAGE = 2
MAX_NAME_LENGTH = 64


class UserError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def add_user_parser(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    add_config: Callable[[argparse.ArgumentParser], None],
) -> None:
    user = commands.add_parser(
        "user",
        help="manage the team's dashboard accounts",
        description="Named dashboard accounts, each with its own password and a role: an admin "
        "can take and resolve follow-ups on the dashboard, a viewer can only look. Once an "
        "account exists, server.dashboard_password no longer signs in.",
    )
    actions = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add an account (asks for its password)")
    add_config(add)
    add.add_argument("name", help="the name shown on follow-ups the account takes, e.g. Maija")
    add.add_argument(
        "--role", choices=[role.value for role in Role], default=Role.VIEWER.value,
        help="admin: may take and resolve follow-ups; viewer (default): may only look",
    )  # fmt: skip
    _add_password_stdin(add)
    listing = actions.add_parser("list", help="list the accounts")
    add_config(listing)
    remove = actions.add_parser("remove", help="remove an account and end its sessions")
    add_config(remove)
    remove.add_argument("name")
    password = actions.add_parser(
        "password", help="set a new password for an account (ends its sessions)"
    )
    add_config(password)
    password.add_argument("name")
    _add_password_stdin(password)


def _add_password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin", action="store_true",
        help="read the password as one line from standard input instead of asking twice",
    )  # fmt: skip


def _checked_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise UserError("the name is empty", EXIT_USAGE)
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"the name is too long: at most {MAX_NAME_LENGTH} characters", EXIT_USAGE)
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise UserError("the name has control characters", EXIT_USAGE)
    if name.casefold() == SHARED_NAME:
        raise UserError(
            f'"{SHARED_NAME}" is kept for the shared dashboard password: choose another name',
            EXIT_USAGE,
        )
    return name


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        if not sys.stdin.isatty():
            raise UserError(
                "no terminal to ask for the password on: pipe it in with --password-stdin",
                EXIT_USAGE,
            )
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise UserError("the two passwords differ; nothing was changed", EXIT_USAGE)
    try:
        check_new_password(password)
    except PasswordError as error:
        raise UserError(str(error), EXIT_USAGE) from error
    return password


def _when(timestamp: float | None, zone: ZoneInfo) -> str:
    if timestamp is None:
        return "never"
    return datetime.fromtimestamp(timestamp, zone).strftime("%Y-%m-%d %H:%M")


async def _run(args: argparse.Namespace, config: Config, store: Store) -> str:
    accounts = store.dashboard_accounts
    action = args.user_command
    if action == "list":
        found = await accounts.all()
        if not found:
            return "No accounts: the dashboard signs in with server.dashboard_password."
        zone = ZoneInfo(config.team.timezone)
        rows = [("NAME", "ROLE", "CREATED", "LAST SIGN-IN")] + [
            (a.name, a.role.value, _when(a.created_at, zone), _when(a.last_sign_in_at, zone))
            for a in found
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[3]
            for row in rows
        )
    name = _checked_name(args.name)
    if action == "remove":
        if not await accounts.remove(name):
            raise UserError(f'no account named "{name}"', EXIT_FAILURE)
        return f'Removed "{name}"; their dashboard sessions have ended.'
    if action == "add" and await accounts.get(name) is not None:
        # Before the password is asked: no typing it twice to learn the name is taken.
        raise UserError(f'an account named "{name}" exists already', EXIT_FAILURE)
    if action == "password" and await accounts.get(name) is None:
        raise UserError(f'no account named "{name}"', EXIT_FAILURE)
    password = _read_password(args.password_stdin)
    password_hash = await asyncio.to_thread(hash_password, password)
    if action == "add":
        role = Role(args.role)
        if not await accounts.add(name, role, password_hash, now=SystemClock().now()):
            raise UserError(f'an account named "{name}" exists already', EXIT_FAILURE)
        return f'Added {role.value} "{name}".'
    if not await accounts.set_password(name, password_hash):
        raise UserError(f'no account named "{name}"', EXIT_FAILURE)
    return f'New password set for "{name}"; their dashboard sessions have ended.'


async def cmd_user(args: argparse.Namespace, config: Config) -> int:
    store = await Store.open(config.storage.location)
    try:
        print(await _run(args, config, store))
    except UserError as error:
        print(f"palaute user {args.user_command}: error: {error}", file=sys.stderr)
        return error.code
    finally:
        await store.close()
    return 0
