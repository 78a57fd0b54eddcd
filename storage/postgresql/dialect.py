"""PostgreSQL's forms of the SQL fragments that differ from SQLite's."""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z0-9_]+")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _checked(name: str, what: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"{what} {name!r} must be letters, digits and _")
    return name


class PostgresDialect:
    """Each fragment names each of its arguments once: one may be a `?`, numbered in order."""

    name = "postgresql"

    tables_sql = (
        "SELECT table_name AS name FROM information_schema.tables"
        " WHERE table_schema = current_schema()"
    )

    claim_lock = " FOR UPDATE SKIP LOCKED"
    """Rows another worker is claiming are passed over, not waited for."""

    bulk_write_setup: tuple[str, ...] = ()

    def day_of(self, unix_seconds_sql: str, utc_offset_seconds_sql: str) -> str:
        # The casts type a bare `?` too (PostgreSQL cannot choose `unknown + unknown`).
        seconds = (
            f"CAST({unix_seconds_sql} AS DOUBLE PRECISION)"
            f" + CAST({utc_offset_seconds_sql} AS DOUBLE PRECISION)"
        )
        return f"to_char(to_timestamp({seconds}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    def json_text(self, json_sql: str, key: str, *nested: str) -> str:
        path = ",".join(_checked(k, "JSON key") for k in (key, *nested))
        return f"(CAST({json_sql} AS jsonb) #>> '{{{path}}}')"

    def json_each(self, json_sql: str, alias: str) -> str:
        # The _text form: a string value as it is (not quoted JSON), as SQLite's json_each.
        return f"jsonb_each_text(CAST({json_sql} AS jsonb)) AS {_checked(alias, 'alias')}"

    def string_agg(
        self, expression_sql: str, separator: str, order_by_sql: str | None = None
    ) -> str:
        order = f" ORDER BY {order_by_sql}" if order_by_sql else ""
        return f"string_agg(CAST({expression_sql} AS TEXT), {_literal(separator)}{order})"

    def least(self, first_sql: str, second_sql: str) -> str:
        # LEAST skips a NULL where SQLite's MIN(a, b) gives NULL: palaute passes no NULL here.
        return f"LEAST({first_sql}, {second_sql})"

    def contains(self, text_sql: str, part_sql: str) -> str:
        return f"strpos({text_sql}, {part_sql}) > 0"

    def integer_part(self, number_sql: str) -> str:
        # FLOOR first: a CAST to an integer rounds here (SQLite's truncates).
        return f"CAST(FLOOR({number_sql}) AS BIGINT)"
