"""`palaute run`: the bot itself: channels, scheduler and HTTP server."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.commands.base import EXIT_FAILURE, AddConfig
from bot.config import Config
from bot.logs import configure_logging


def add_run_parser(commands: Any, add_config: AddConfig) -> None:
    run = commands.add_parser("run", help="run the bot: channels, scheduler and HTTP server")
    add_config(run)
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])


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
