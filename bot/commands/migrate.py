"""`palaute migrate`: bring the database's schema up to this palaute's (SQLite or PostgreSQL).

`palaute run` migrates at start as well; this is for a deployment step before the workers
start, and to see which version a database is at.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands.base import AddConfig
from bot.config import Config
from storage.backends import describe_location, open_database


def add_migrate_parser(commands: Any, add_config: AddConfig) -> None:
    migrate = commands.add_parser(
        "migrate", help="bring the database's schema up to date (SQLite or PostgreSQL)"
    )
    add_config(migrate)


async def cmd_migrate(args: argparse.Namespace, config: Config) -> int:
    location = config.storage.location
    database = await open_database(location, migrate=False)
    try:
        before = await database.schema_version()
    finally:
        await database.close()
    database = await open_database(location)  # migrates, each failure a clear StorageError
    try:
        after = await database.schema_version()
    finally:
        await database.close()
    where = describe_location(location)
    if after == before:
        print(f"{where}: schema version {after}, up to date")
    else:
        print(f"{where}: schema version {before} → {after}")
    return 0
