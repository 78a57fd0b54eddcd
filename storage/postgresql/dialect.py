"""PostgreSQL's forms of the SQL fragments that differ from SQLite's."""

from __future__ import annotations


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class PostgresDialect:
    name = "postgresql"

    def day_of(self, unix_seconds_sql: str, utc_offset_seconds_sql: str) -> str:
        # The casts type a bare `?` too (PostgreSQL cannot choose `unknown + unknown`).
        seconds = (
            f"CAST({unix_seconds_sql} AS DOUBLE PRECISION)"
            f" + CAST({utc_offset_seconds_sql} AS DOUBLE PRECISION)"
        )
        return f"to_char(to_timestamp({seconds}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    def json_text(self, json_sql: str, key: str) -> str:
        return f"(CAST({json_sql} AS jsonb) ->> {_literal(key)})"

    def string_agg(self, expression_sql: str, separator: str) -> str:
        return f"string_agg(CAST({expression_sql} AS TEXT), {_literal(separator)})"
