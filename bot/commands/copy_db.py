"""`palaute copy-db`: move a team from its SQLite file to PostgreSQL, counts verified."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.commands.base import AddConfig
from bot.config import Config
from storage.backends import describe_location
from storage.postgresql.location import is_postgresql_url


def add_copy_db_parser(commands: Any, add_config: AddConfig) -> None:
    copy = commands.add_parser(
        "copy-db",
        help="copy every answer, contact and invitation from a SQLite file to PostgreSQL",
        description="Copy every table of a SQLite palaute database into an empty PostgreSQL "
        "database (migrated first), in one transaction, and verify each table's count. Stop "
        "`palaute run` on the file first.",
    )
    add_config(copy)
    copy.add_argument("--from", dest="source", required=True, help="the SQLite file")
    copy.add_argument(
        "--to",
        dest="target",
        help="a postgresql:// URL (default: [storage] url; a URL here shows its password to "
        "other users of this machine in the process list)",
    )


async def cmd_copy_db(args: argparse.Namespace, config: Config) -> int:
    # Here, not at the top: asyncpg loads only for the command that needs it.
    from storage.copy import copy_sqlite_to_postgresql
    from storage.postgresql.database import PostgresDatabase

    url = args.target or config.storage.url
    if not url or not is_postgresql_url(url):
        print(
            "palaute copy-db: error: --to must be a postgresql:// URL (or set [storage] url)",
            file=sys.stderr,
        )
        return 2
    target = await PostgresDatabase.open(url)
    try:
        copied = await copy_sqlite_to_postgresql(args.source, target)
    finally:
        await target.close()
    for table in copied:
        print(f"  {table.table}: {table.rows}")
    total = sum(table.rows for table in copied)
    print(
        f"Copied {total} rows in {len(copied)} tables from {describe_location(args.source)} to "
        f"{describe_location(url)}; every count verified."
    )
    return 0
