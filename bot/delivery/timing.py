"""Timing rules: when a survey for a touchpoint is due, and whether it may be sent at all."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import QuietHours


def in_quiet_hours(local: time, quiet: QuietHours) -> bool:
    if quiet.start <= quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def outside_quiet_hours(moment: datetime, quiet: QuietHours | None, timezone: str) -> datetime:
    """`moment`, or the end of the quiet period it falls in, in the recipient's time zone."""
    if quiet is None:
        return moment
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    if not in_quiet_hours(local.time(), quiet):
        return moment
    end_day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        end_day += timedelta(days=1)
    wake = datetime.combine(end_day, quiet.end, tzinfo=zone)
    # A wall-clock time inside a DST gap normalizes forward through UTC.
    return wake.astimezone(UTC)


def local_day_bounds(moment: datetime, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    day = moment.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
