"""bot/ works through storage's unit of work: it never imports a database driver."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
DRIVERS = {"aiosqlite", "sqlite3", "asyncpg"}


def driver_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a database driver in `source`, at any depth."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        found += [(node.lineno, m) for m in modules if m.partition(".")[0] in DRIVERS]
    return found


def test_the_check_finds_a_driver_imported_anywhere_in_a_module() -> None:
    source = (
        "import os\nimport aiosqlite\nfrom sqlite3 import Row\ndef f():\n    import asyncpg.pool\n"
    )
    assert driver_imports(source) == [(2, "aiosqlite"), (3, "sqlite3"), (5, "asyncpg.pool")]
    assert driver_imports("from storage.unit_of_work import UnitOfWork\n") == []


def test_no_module_under_bot_imports_a_database_driver() -> None:
    modules = sorted(BOT.rglob("*.py"))
    assert len(modules) > 20, "the walk found bot/'s modules"
    offenders = [
        f"{path.relative_to(BOT.parent)}:{line}: imports {module}"
        for path in modules
        for line, module in driver_imports(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
