"""docs/architecture.md names files and folders by path: each of them exists, so that the page
cannot drift from the tree unnoticed (a module moved, a test renamed)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
TOP = ("bot", "storage", "conversations", "tests", "bench", "docs")
PATH = re.compile(rf"(?<![\w/.-])((?:{'|'.join(TOP)})/[\w./<>-]*)|\bconfig\.example\.toml\b")


def named_paths(text: str) -> list[str]:
    """The paths in `text`, without a placeholder part (`bot/channels/<name>/`)."""
    found = (match.group(0).rstrip(".,:;)") for match in PATH.finditer(text))
    return sorted({path for path in found if "<" not in path})


def test_every_path_the_architecture_page_names_exists() -> None:
    paths = named_paths(DOC.read_text(encoding="utf-8"))
    assert len(paths) > 50
    assert [path for path in paths if not (ROOT / path).exists()] == []


def test_the_check_reads_paths_as_written_in_prose() -> None:
    prose = (
        "(bot/delivery/pacing.py: a burst), bot/channels/<name>/ and storage/migrations/. "
        "See config.example.toml, not http/server.py."
    )
    assert named_paths(prose) == [
        "bot/delivery/pacing.py",
        "config.example.toml",
        "storage/migrations/",
    ]
