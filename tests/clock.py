"""A clock the tests move by hand."""

from __future__ import annotations

from datetime import datetime


class FakeClock:
    def __init__(self, start: datetime | float) -> None:
        self.current = start.timestamp() if isinstance(start, datetime) else float(start)

    def now(self) -> float:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += seconds

    def set(self, moment: datetime) -> None:
        self.current = moment.timestamp()
