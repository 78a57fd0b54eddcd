"""The SQL fragments only SQLite spells this way: every one palaute's repositories use."""

from __future__ import annotations

import re

IMPORT_CACHE_KIB = 128 * 1024

_KEY = re.compile(r"[A-Za-z0-9_]+")


def json_path(keys: tuple[str, ...]) -> str:
    """`$.a.b` for keys that are safe to put into SQL, or a ValueError naming the bad one."""
    for key in keys:
        if not _KEY.fullmatch(key):
            raise ValueError(f"JSON key {key!r} must be letters, digits and _")
    return "$." + ".".join(keys)


def quoted(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


class SqliteDialect:
    name = "sqlite"

    tables_sql = (
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%'"
        " ESCAPE '\\'"
    )

    claim_lock = ""

    bulk_write_setup: tuple[str, ...] = (f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}",)
    """A bigger page cache for the writes of a big import (SQLite's default is 2 MB); it
    stays for the connection's life, as it did before."""

    def day_of(self, unix_seconds_sql: str, utc_offset_seconds_sql: str) -> str:
        return f"date({unix_seconds_sql} + {utc_offset_seconds_sql}, 'unixepoch')"

    def json_text(self, json_sql: str, key: str, *nested: str) -> str:
        return f"CAST(json_extract({json_sql}, '{json_path((key, *nested))}') AS TEXT)"

    def json_each(self, json_sql: str, alias: str) -> str:
        if not _KEY.fullmatch(alias):
            raise ValueError(f"alias {alias!r} must be letters, digits and _")
        return f"json_each({json_sql}) AS {alias}"

    def string_agg(
        self, expression_sql: str, separator: str, order_by_sql: str | None = None
    ) -> str:
        # SQLite 3.40 has no ORDER BY inside an aggregate: the caller's subquery orders.
        return f"group_concat({expression_sql}, {quoted(separator)})"

    def least(self, first_sql: str, second_sql: str) -> str:
        return f"MIN({first_sql}, {second_sql})"

    def contains(self, text_sql: str, part_sql: str) -> str:
        return f"instr({text_sql}, {part_sql}) > 0"

    def integer_part(self, number_sql: str) -> str:
        return f"CAST({number_sql} AS INTEGER)"


SQLITE = SqliteDialect()
