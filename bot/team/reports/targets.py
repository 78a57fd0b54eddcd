"""Where team messages go: `[team] report_to`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.config import TeamConfig


class WithTeam(Protocol):
    """Any config holding the `[team]` section (the whole `Config`, or a service's part)."""

    @property
    def team(self) -> TeamConfig: ...


def report_targets(config: WithTeam) -> list[tuple[str, str]]:
    """`[team] report_to` as (channel, address) pairs: "slack:C0123" → ("slack", "C0123")."""
    targets = []
    for target in config.team.report_to:
        channel, _, address = target.partition(":")
        targets.append((channel, address))
    return targets
