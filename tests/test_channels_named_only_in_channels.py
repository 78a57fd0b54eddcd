"""Outside bot/channels/, bot/ decides nothing by a channel's name: it asks the registry.

A text literal that is a channel's name ("telegram", "slack") in core code means behaviour
chosen per channel, which belongs in the channel's `ChannelSpec`. Docstrings and comments may
name channels; only code counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

from bot.channels import registry

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
CHANNEL_NAMES = frozenset({"telegram", "slack", "whatsapp", "web", *registry.names()})
ALLOWED = {
    "bot/commands/link.py": "--join and --ref make Telegram deep links (see its CHAT)",
    "bot/logs.py": "python-telegram-bot's logger is called 'telegram'",
}


def names_of_channels(source: str) -> list[int]:
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.lower() in CHANNEL_NAMES
        and id(node) not in docstrings
    ]


def test_core_code_names_no_channel() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(BOT.rglob("*.py"))
        if not path.is_relative_to(BOT / "channels") and str(path.relative_to(ROOT)) not in ALLOWED
        for line in names_of_channels(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_check_sees_a_channel_chosen_by_name() -> None:
    source = '"""Names telegram in prose."""\nrate = {"telegram": 0.7}["slack"]\n'
    assert names_of_channels(source) == [2, 2]
