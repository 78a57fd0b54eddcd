"""`palaute link`: the open survey link of a touchpoint, or a chat check-in link, with a QR code.

Only the link goes to standard output, so that `URL=$(palaute link nps)` works in scripts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.channels import registry
from bot.clock import SystemClock
from bot.config import Config
from bot.property_args import parse_properties
from bot.tokens import TokenKind, TokenSigner, encode_id
from storage.store import Store

if TYPE_CHECKING:
    from bot.delivery.triggers import TriggerService

EXIT_USAGE = 2
# Named here, not read from the registry: `--join` and `--ref` make Telegram deep links
# (t.me/<bot>?start=<signed token>, bot/channels/telegram/links.py), whose tokens only the
# Telegram adapter redeems; the flags, their help and errors are about Telegram, and a channel
# with chat links of its own would get flags of its own. Survey links are the web channel's.
CHAT = "telegram"
"""The channel whose links open a chat (`--join`, `--ref`, `--channel telegram`)."""
NO_CHAT_LINKS = "set [telegram] bot_username in the config to make Telegram links"


class LinkError(ValueError):
    pass


def add_link_parser(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    add_config: Callable[[argparse.ArgumentParser], None],
) -> None:
    link = commands.add_parser(
        "link",
        help="print a survey link to share, and write its QR code",
        description="Print the open survey link of a touchpoint (everyone who opens it answers "
        "once), or with --join a chat link that checks people in to an audience.",
    )
    add_config(link)
    link.add_argument(
        "touchpoint", nargs="?", help="touchpoint or built-in survey (nps, csat, ces, event)"
    )
    link.add_argument(
        "--audience", metavar="NAME", help="who answers at the link joins this audience"
    )
    link.add_argument(
        "--property", "-p", metavar="KEY=VALUE", action="append", default=[],
        help="a touchpoint property carried in the link, e.g. event_name=Kirppis (repeatable)",
    )  # fmt: skip
    link.add_argument(
        "--join", metavar="AUDIENCE",
        help="instead of a survey: a check-in link that adds whoever opens it to AUDIENCE",
    )  # fmt: skip
    link.add_argument(
        "--ref", metavar="EXTERNAL_ID",
        help="instead of a survey: a personal Telegram link (for an order confirmation) that ties"
        " the customer with this external id to their chat",
    )  # fmt: skip
    link.add_argument(
        "--channel", choices=["web", "telegram"],
        help="where the link opens: web (survey default) or telegram (needed for --join)",
    )  # fmt: skip
    link.add_argument(
        "--qr", metavar="FILE", type=Path, help="also write a QR code: FILE.png or FILE.svg"
    )


async def build_link(args: argparse.Namespace, config: Config) -> str:
    store = await Store.open(config.storage.location)
    try:
        # Sign with the key the server uses: from the config, else the one kept in its database.
        secret = config.server.secret_key or await store.settings.get_or_create_secret(
            "link_secret"
        )
        if args.ref:
            return await _ref_link(args, config, store, TokenSigner(secret))
        # Here, not at the top: `palaute <any command>` imports this module to build its parser.
        from bot.services import trigger_service

        triggers = trigger_service(store, config, SystemClock())
        return _build(args, config, TokenSigner(secret), triggers)
    finally:
        await store.close()


def _build(
    args: argparse.Namespace, config: Config, signer: TokenSigner, triggers: TriggerService
) -> str:
    from bot.channels.web.links import LinkBuilder
    from bot.delivery.triggers import ContactSpec, TriggerError, TriggerRequest

    links = LinkBuilder(config.server.base_url, signer)
    channel = args.channel or (CHAT if args.join else "web")
    if args.join:
        if args.touchpoint or args.property or args.audience:
            raise LinkError(
                "--join makes a check-in link: give no touchpoint, --property or --audience"
            )
        if channel != CHAT:
            raise LinkError("a --join link opens a chat: use --channel telegram")
        return _chat_link(config, signer, TokenKind.JOIN, args.join, "--join")
    if not args.touchpoint:
        raise LinkError("name a touchpoint (e.g. nps), or use --join AUDIENCE")
    try:
        properties = parse_properties(args.property)
    except ValueError as error:
        raise LinkError(str(error)) from None
    try:
        triggers.validate(TriggerRequest(args.touchpoint, ContactSpec("web", "-"), properties))
    except TriggerError as error:
        hint = (
            " (add it with --property KEY=VALUE)" if error.field.startswith("properties.") else ""
        )
        raise LinkError(f"{error.message}{hint}") from None
    if channel == CHAT:
        if properties or args.audience:
            raise LinkError(
                "a Telegram link cannot carry --property or --audience; use --channel web"
            )
        return _chat_link(config, signer, TokenKind.OPEN_SURVEY, args.touchpoint, "touchpoint")
    _check_name(args.touchpoint, "touchpoint")
    return links.open_survey_url(args.touchpoint, properties, args.audience)


async def _ref_link(
    args: argparse.Namespace, config: Config, store: Store, signer: TokenSigner
) -> str:
    if args.touchpoint or args.join or args.property or args.audience or args.channel == "web":
        raise LinkError(
            "--ref makes a personal Telegram link: give no touchpoint, --join, --property or --audience"
        )
    if _start_link(config, "-") is None:
        raise LinkError(NO_CHAT_LINKS)
    async with store.database.transaction() as connection:
        contact_id = await store.contacts.ensure(connection, ref=args.ref, now=SystemClock().now())
    link = _start_link(config, signer.sign(TokenKind.LINK_REF, encode_id(contact_id)))
    assert link is not None
    return link


def _check_name(name: str, what: str) -> None:
    if not (name.replace("_", "").isalnum() and name.isascii() and len(name) <= 40):
        raise LinkError(f"{what} {name!r}: links take names of at most 40 letters, digits and _")


def _start_link(config: Config, payload: str) -> str | None:
    """The chat channel's link carrying `payload`, from the config alone (no bot running)."""
    spec = registry.spec(CHAT)
    settings = config.channel_settings.get(CHAT)
    if spec.start_link is None or settings is None:
        return None
    return spec.start_link(settings, payload)


def _chat_link(config: Config, signer: TokenSigner, kind: TokenKind, value: str, what: str) -> str:
    if _start_link(config, "-") is None:
        raise LinkError(NO_CHAT_LINKS)
    _check_name(value, what)
    link = _start_link(config, signer.sign(kind, value))
    assert link is not None
    return link


async def cmd_link(args: argparse.Namespace, config: Config) -> int:
    from bot.qr import QrError, write_qr

    try:
        url = await build_link(args, config)
        if args.qr:
            write_qr(url, args.qr)
    except (LinkError, QrError) as error:
        print(f"palaute link: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(url)
    if args.qr:
        print(f"QR code written to {args.qr}", file=sys.stderr)
    if url.startswith(config.server.base_url) and not config.server.public_url:
        print(
            f"note: [server] public_url is not set, so this link only works on this machine"
            f" ({config.server.base_url})",
            file=sys.stderr,
        )
    return 0
