"""Services are built complete in one place (bot/services.py): nothing in bot/ sets, or adds
to, a collaborator of another object after it was built."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTATORS = {"append", "extend", "insert", "add", "update", "setdefault"}
SERVICES = {
    "dispatcher", "surveys", "triggers", "invitations", "webhooks", "followups", "relay",
    "erasure", "incoming", "reporter",
}  # fmt: skip
"""The names bot/services.py gives the services (`Services`), wherever they are held."""


def _chain(node: ast.expr) -> list[str]:
    """`self.surveys.listeners[0]` → ["self", "surveys", "listeners"] (subscripts skipped)."""
    names: list[str] = []
    while True:
        if isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return names[::-1]
        else:
            return []


def reach_ins(source: str) -> list[tuple[int, str]]:
    """Writes to a service's attribute from outside it: `a.surveys.c = …`, `a.triggers.c[k] = …`,
    `a.surveys.c += …`, `a.dispatcher.c.append(…)` (a service's own `self.c = …` is its business)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATORS
        ):
            targets = [node.func.value]
        for target in targets:
            for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                chain = _chain(element)
                if len(chain) >= 3 and chain[-2] in SERVICES:
                    found.append((node.lineno, ".".join(chain)))
    return found


def test_the_check_sees_wiring_by_mutation() -> None:
    wired = (
        "self.surveys.pushing_channels = {'telegram'}\n"
        "self.relay.reply_channels = self.followups.reply_channels = set()\n"
        "self.surveys.listeners += [self.followups.on_answer]\n"
        "self.dispatcher.sent_hooks.append(self.followups.on_sent)\n"
        "app.triggers.resolvers['slack'] = resolve\n"
        "self.store = store\n"
        "self.hooks['x'] = hook\n"
        "self.store.answers.insert(connection, invitation)\n"
        "response.headers['Cache-Control'] = 'no-store'\n"
    )
    assert sorted(chain for _line, chain in reach_ins(wired)) == sorted(
        [
            "self.surveys.pushing_channels",
            "self.relay.reply_channels",
            "self.followups.reply_channels",
            "self.surveys.listeners",
            "self.dispatcher.sent_hooks",
            "app.triggers.resolvers",
        ]
    )


def test_no_module_of_bot_wires_another_objects_collaborators() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {chain}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        for line, chain in reach_ins(path.read_text())
    ]
    assert found == []
