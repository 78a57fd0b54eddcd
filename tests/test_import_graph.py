"""The shape of bot/: only the entry points see the app, and channels do not know each other.

Read from the source with ast (every import counts: inside functions and `if TYPE_CHECKING:`
too), so that an adapter cannot reach back into the app, nor one channel into another.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.module_graph import circles, import_graph

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
CHANNELS = BOT / "channels"
ENTRY_POINTS = ("bot/cli.py", "bot/commands/")
"""`palaute` and its commands: they build the app; nothing else under bot/ may import it."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> Iterator[str]:
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), path.name)


def imports_in(source: str, module: str, file_name: str) -> Iterator[str]:
    """Every module `source` imports, relative imports resolved, `from a import b` as `a.b`."""
    package = module.split(".")
    if file_name != "__init__.py":
        package.pop()
    for node in ast.walk(ast.parse(source, file_name)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def bot_modules() -> list[Path]:
    return sorted(BOT.rglob("*.py"))


def imports(module: str, target: str) -> bool:
    return module == target or module.startswith(target + ".")


def test_only_the_entry_points_import_the_app() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in bot_modules()
        if not str(path.relative_to(ROOT)).startswith(ENTRY_POINTS)
        and path != BOT / "app.py"
        and any(imports(module, "bot.app") for module in imported_modules(path))
    ]
    assert offenders == []


def channel_packages() -> list[str]:
    return sorted(p.name for p in CHANNELS.iterdir() if (p / "__init__.py").is_file())


def test_channel_packages_do_not_import_each_other() -> None:
    packages = channel_packages()
    assert {"telegram", "slack", "web"} <= set(packages)
    crossings = [
        f"{path.relative_to(ROOT)} imports {module}"
        for package in packages
        for path in sorted((CHANNELS / package).rglob("*.py"))
        for module in imported_modules(path)
        for other in packages
        if other != package and imports(module, f"bot.channels.{other}")
    ]
    assert crossings == []


def test_the_checks_see_imports_of_every_form() -> None:
    """The walker is what the two tests above stand on: it must find each way of importing."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot.app import PalauteApp\n"
        "def later():\n    from ..telegram import spec\n"
        "import bot.channels.slack.blocks as blocks\n"
    )
    found = set(imports_in(source, "bot.channels.web.probe", "probe.py"))
    assert {"bot.app", "bot.channels.telegram", "bot.channels.slack.blocks"} <= found
    assert "bot.channels.intake.DurableInbox" in set(
        imported_modules(CHANNELS / "slack" / "inbox.py")
    )


def test_the_import_graph_of_bot_has_no_circle() -> None:
    """Config reads the channel registry; the adapters use what config serves: a spec names
    its adapter (`imported(...)`) so that no circle closes through them."""
    assert circles(import_graph()) == []


def test_a_circle_is_seen() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
