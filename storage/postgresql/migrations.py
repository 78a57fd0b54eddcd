"""The numbered PostgreSQL migrations shipped with the package (numbered as SQLite's)."""

from __future__ import annotations

from importlib import resources


def postgresql_migrations() -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for entry in resources.files("storage.migrations.postgresql").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)
