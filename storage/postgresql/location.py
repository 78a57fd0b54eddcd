"""Whether a storage location names PostgreSQL, without importing asyncpg (a SQLite install
never loads the driver)."""

from __future__ import annotations


def is_postgresql_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))
