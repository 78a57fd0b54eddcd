"""Configs for tests that run on the wall clock: the same result at any hour of the day.

palaute's built-in defaults hold pushed surveys back at night (quiet hours 21:00–08:00) and keep
a week between two surveys to one person. A test that triggers on a real clock would pass at
noon and fail at 22:00, so these tests turn both guards off; tests of the guards themselves set
their own [defaults] table and a fake clock.
"""

from __future__ import annotations

ANY_TIME_DEFAULTS = '[defaults]\nquiet_hours = "off"\nmin_days_between_surveys = 0\n'


def at_any_time(toml: str) -> str:
    """`toml` with the guards off, unless it has a [defaults] table of its own."""
    return toml if "[defaults]" in toml else f"{ANY_TIME_DEFAULTS}\n{toml}"
