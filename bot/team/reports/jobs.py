"""Posting the daily summary and the weekly digest: on time, once, and late rather than never.

APScheduler's cron trigger only wakes `run_due`; what is due is decided from the clock and the
`team_reports` table, so a restart, a second wake-up or a missed morning all come out right:
each period is recorded in the same transaction that queues its posts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.channels.base import Attachment
from bot.clock import Clock
from bot.team.reports.summary import DAILY, WEEKLY, ReportPeriod, SummaryBuilder
from bot.team.reports.targets import report_targets
from storage.outbox import PRIORITY_INVITATION, OutboxRepository
from storage.settings import SettingsRepository
from storage.team_reports import TeamReportRepository
from storage.unit_of_work import DatabaseBackend

if TYPE_CHECKING:
    from bot.config import TeamConfig

log = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=10)
"""Posted later than this after its time, a summary says it is late."""
CATCH_UP = timedelta(days=1)
"""A missed report older than this is skipped: a newer one says more."""
SINCE_KEY = "team_reports_since"
"""When reports were first enabled: a new install does not post a report due before it."""


def scheduled_at(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The report time on a local day; a time in a DST gap moves forward through UTC."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def latest_due(now: datetime, at: time, zone: ZoneInfo, *, weekly: bool) -> date:
    """The latest local day (a Monday when `weekly`) whose report time is not in the future."""
    day = now.astimezone(zone).date()
    if scheduled_at(day, at, zone) > now:
        day -= timedelta(days=1)
    if weekly:
        day -= timedelta(days=day.weekday())
    return day


def period_key(kind: str, day: date) -> str:
    if kind == WEEKLY:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def summary_trigger(at: time, timezone: str) -> CronTrigger:
    return CronTrigger(hour=at.hour, minute=at.minute, timezone=ZoneInfo(timezone))


@dataclass(frozen=True)
class ReportStorage:
    """What `TeamReporter` reads and writes (the report's figures come from its `builder`); a
    period is recorded with its posts in one `database` transaction."""

    database: DatabaseBackend
    team_reports: TeamReportRepository
    outbox: OutboxRepository
    settings: SettingsRepository


@dataclass(frozen=True)
class ReportSettings:
    """The config `TeamReporter` reads: `[team]` (when, where, which reports)."""

    team: TeamConfig


class TeamReporter:
    def __init__(
        self,
        store: ReportStorage,
        config: ReportSettings,
        clock: Clock,
        wake: Callable[[], None],
        *,
        builder: SummaryBuilder,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.wake = wake
        self.zone = ZoneInfo(config.team.timezone)
        self.builder = builder

    @property
    def enabled(self) -> bool:
        return bool(self.config.team.report_to) and self.config.team.daily_summary is not None

    def start(self, scheduler: AsyncIOScheduler) -> None:
        at = self.config.team.daily_summary
        if not self.enabled or at is None:
            return
        scheduler.add_job(
            self.run_due,
            summary_trigger(at, self.config.team.timezone),
            id="team_reports",
            max_instances=1,
            coalesce=True,
        )
        # A safety net: a report time in a DST gap never fires as cron, a suspended machine
        # misses it; posting is idempotent, so a check now and then costs one query.
        scheduler.add_job(
            self.run_due,
            "interval",
            minutes=15,
            id="team_reports_check",
            max_instances=1,
            coalesce=True,
        )

    def due_periods(self, now: float, since: float = 0.0) -> list[ReportPeriod]:
        """The latest daily (and weekly) period due at `now`, unless older than `since`."""
        at = self.config.team.daily_summary
        if at is None:
            return []
        moment = datetime.fromtimestamp(now, ZoneInfo("UTC"))
        kinds = [DAILY, WEEKLY] if self.config.team.weekly_digest else [DAILY]
        periods = []
        for kind in kinds:
            day = latest_due(moment, at, self.zone, weekly=kind == WEEKLY)
            due = scheduled_at(day, at, self.zone).timestamp()
            if due >= since and now - due <= CATCH_UP.total_seconds():
                periods.append(ReportPeriod(kind, period_key(kind, day), day, due))
        return periods

    async def run_due(self) -> list[ReportPeriod]:
        """Post whatever is due and not posted yet; returns what was posted."""
        if not self.enabled:
            return []
        now = self.clock.now()
        since = float(await self.store.settings.get_or_set(SINCE_KEY, repr(now)))
        posted = []
        for period in self.due_periods(now, since):
            if await self.store.team_reports.get(period.kind, period.period) is not None:
                continue
            try:
                if await self.post(period):
                    posted.append(period)
            except Exception:
                log.exception("the %s report for %s failed", period.kind, period.period)
        return posted

    async def post(self, period: ReportPeriod) -> bool:
        now = self.clock.now()
        late = now - period.scheduled_at > LATE_AFTER.total_seconds()
        document, image = await self.builder.build(period, now=now, late=late)
        if image is not None:
            document = replace(
                document, attachment=Attachment(f"palaute-{period.period}.png", image)
            )
        payload = document.to_payload()
        async with self.store.database.transaction() as connection:
            if not await self.store.team_reports.record(
                connection, period.kind, period.period, now=now, late=late
            ):
                return False
            for channel, address in report_targets(self.config):
                await self.store.outbox.enqueue(
                    connection,
                    channel=channel,
                    address=address,
                    kind="team",
                    payload=payload,
                    priority=PRIORITY_INVITATION,
                    now=now,
                )
        log.info("%s report %s queued%s", period.kind, period.period, " (late)" if late else "")
        self.wake()
        return True
