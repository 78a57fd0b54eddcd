"""Team reporting depends one way: reports (scores, summaries, documents) at the bottom, the
alerts above them, follow-ups, the reply relay and webhooks on top; no import circles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEAM = ("bot.team.reports", "bot.team.alerts", "bot.team.followups", "bot.team.relay", "bot.team.webhooks")
LOWER_THAN = {
    # Each may not import (directly or through other modules) the ones listed.
    "bot.team.reports": ("bot.team.alerts", "bot.team.followups", "bot.team.relay", "bot.team.webhooks"),
    "bot.team.alerts": ("bot.team.followups", "bot.team.relay", "bot.team.webhooks"),
    "bot.team.webhooks": ("bot.team.followups", "bot.team.relay"),
}


def _node(module: str) -> str:
    """A module, with the reports package as one node."""
    return "bot.team.reports" if module.startswith("bot.team.reports.") else module


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every bot.* module `tree` imports when it runs, in functions too (they run later, but
    still form a circle), leaving out `if TYPE_CHECKING:` blocks."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                anchor = parts if is_package else parts[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted((ROOT / "bot").rglob("*.py"))
    modules = {}
    for path in paths:
        parts = path.relative_to(ROOT).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = (path, is_package)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = {
            _node(target)
            for target in _imports(tree, name, is_package)
            if target in modules and target != "bot"
        }
        graph.setdefault(_node(name), set()).update(targets - {_node(name)})
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for target in graph.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def test_no_team_module_is_in_an_import_circle() -> None:
    graph = import_graph()
    circles = [node for node in TEAM if node in reachable(graph, node)]
    assert circles == [], f"in an import circle: {circles}"


@pytest.mark.parametrize("lower", list(LOWER_THAN))
def test_team_reporting_depends_one_way(lower: str) -> None:
    graph = import_graph()
    above = [m for m in LOWER_THAN[lower] if m in reachable(graph, lower)]
    assert above == [], f"{lower} reaches {above}"


def test_the_graph_sees_the_imports_it_checks() -> None:
    graph = import_graph()
    assert "bot.team.alerts" in graph["bot.team.followups"] and "bot.team.reports" in graph["bot.team.alerts"]
