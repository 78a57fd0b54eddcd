"""Where team messages go: `[team] report_to`."""

from __future__ import annotations

from bot.config import Config


def report_targets(config: Config) -> list[tuple[str, str]]:
    """`[team] report_to` as (channel, address) pairs: "slack:C0123" → ("slack", "C0123")."""
    targets = []
    for target in config.team.report_to:
        channel, _, address = target.partition(":")
        targets.append((channel, address))
    return targets
