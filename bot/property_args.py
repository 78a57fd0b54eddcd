"""`--property KEY=VALUE` arguments of the command line."""

from __future__ import annotations

from collections.abc import Sequence


def parse_properties(pairs: Sequence[str]) -> dict[str, str]:
    """Raises ValueError naming the first argument that is not KEY=VALUE."""
    properties: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--property {pair!r} must be KEY=VALUE")
        properties[key.strip()] = value
    return properties
