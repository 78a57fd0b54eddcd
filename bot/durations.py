"""Durations ("90m", "2h", "3d") and clock times ("21:00") as written in the config."""

from __future__ import annotations

import re
from datetime import time, timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_CLOCK = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


def parse_duration(text: str) -> timedelta:
    """'90m' → 90 minutes; units s, m, h, d, w; '0' is no delay."""
    if text.strip() == "0":
        return timedelta(0)
    match = _DURATION.match(text)
    if not match:
        raise ValueError(
            f'"{text}" is not a duration: write a number and a unit, e.g. "90m", "2h", "3d"'
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_clock(text: str) -> time:
    match = _CLOCK.match(text)
    if not match:
        raise ValueError(f'"{text}" is not a clock time: write it as HH:MM, e.g. "21:00"')
    return time(int(match.group(1)), int(match.group(2)))
