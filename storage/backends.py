"""Which database a location names: a `postgresql://` URL is PostgreSQL, anything else the path
of a SQLite file (the embedded default)."""

from __future__ import annotations

from storage.database import Database
from storage.postgresql.location import is_postgresql_url
from storage.unit_of_work import DatabaseBackend


def backend_name(location: str) -> str:
    return "postgresql" if is_postgresql_url(location) else "sqlite"


def describe_location(location: str) -> str:
    """For people: which backend, and where (a URL without its password)."""
    if is_postgresql_url(location):
        from storage.postgresql.errors import target_of  # asyncpg only when PostgreSQL is named

        return f"PostgreSQL at {target_of(location).label}"
    return f"SQLite file {location}"


async def open_database(location: str, *, migrate: bool = True) -> DatabaseBackend:
    if is_postgresql_url(location):
        from storage.postgresql.database import PostgresDatabase

        return await PostgresDatabase.open(location, migrate=migrate)
    return await Database.open(location, migrate=migrate)
