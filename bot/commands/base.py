"""What every `palaute` command shares: the --config option, its signature and exit codes."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from typing import Any

from bot.config import Config

EXIT_FAILURE = 1
EXIT_CONFIG = 2

AddConfig = Callable[[argparse.ArgumentParser], None]
Command = Callable[[argparse.Namespace, Config], Coroutine[Any, Any, int]]
AddParser = Callable[[Any, AddConfig], None]


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config file (default: ./palaute.toml if it exists, else built-in defaults)",
    )
