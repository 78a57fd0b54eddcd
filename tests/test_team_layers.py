"""Team reporting depends one way: reports (scores, summaries, documents) at the bottom, the
alerts above them, follow-ups, the reply relay and webhooks on top; no import circles."""

from __future__ import annotations

import pytest

from tests.module_graph import import_graph, reachable

TEAM = (
    "bot.team.reports",
    "bot.team.alerts",
    "bot.team.followups",
    "bot.team.relay",
    "bot.team.webhooks",
)
LOWER_THAN = {
    # Each may not import (directly or through other modules) the ones listed.
    "bot.team.reports": (
        "bot.team.alerts",
        "bot.team.followups",
        "bot.team.relay",
        "bot.team.webhooks",
    ),
    "bot.team.alerts": ("bot.team.followups", "bot.team.relay", "bot.team.webhooks"),
    "bot.team.webhooks": ("bot.team.followups", "bot.team.relay"),
}


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
    assert (
        "bot.team.alerts" in graph["bot.team.followups"]
        and "bot.team.reports" in graph["bot.team.alerts"]
    )
