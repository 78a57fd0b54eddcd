"""Find the line of a TOML key path, so that config errors can say where to look.

tomllib does not report positions; this scanner follows table headers, array-of-tables
counters and `key =` lines, which covers how people write config files.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*([A-Za-z0-9_\-."']+)\s*=""")


def _split(dotted: str) -> list[str]:
    return [part.strip().strip('"').strip("'") for part in dotted.split(".")]


def key_lines(text: str) -> dict[str, int]:
    """Key path ("surveys.nps.questions[0].when") → 1-based line number."""
    lines: dict[str, int] = {}
    counters: dict[str, int] = {}
    table: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            parts = _split(header.group(2))
            prefix = _resolve(parts, counters)
            if header.group(1) == "[[":
                plain = ".".join(prefix)
                counters[plain] = counters.get(plain, -1) + 1
                prefix[-1] = f"{prefix[-1]}[{counters[plain]}]"
            table = prefix
            lines.setdefault(".".join(table), number)
            continue
        key = _KEY.match(line)
        if key:
            path = ".".join([*table, *_split(key.group(1))])
            lines.setdefault(path, number)
    return lines


def _resolve(parts: list[str], counters: dict[str, int]) -> list[str]:
    """Turn [surveys, x, questions] into [surveys, x, questions[N]] where an outer array is open."""
    resolved: list[str] = []
    for part in parts:
        plain = ".".join([*(p.split("[")[0] for p in resolved), part])
        index = counters.get(plain)
        resolved.append(f"{part}[{index}]" if index is not None and part != parts[-1] else part)
    return resolved


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of `path`, or of its nearest ancestor that has one."""
    candidate = path
    while candidate:
        if candidate in lines:
            return lines[candidate]
        cut = max(candidate.rfind("."), candidate.rfind("["))
        candidate = candidate[:cut] if cut > 0 else ""
    return None
