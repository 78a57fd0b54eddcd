"""Windows that mean what their titles say: whole local days, the ISO week, as of the report time.

Summaries are built from a real SQLite file at exact local moments in Europe/Helsinki, on both
sides of the DST changes, and read as the team reads them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.team.reports.format import format_value
from bot.team.reports.jobs import scheduled_at
from bot.team.reports.summary import DAILY, WEEKLY, ReportPeriod, SummaryBuilder
from bot.team.scores import rolling_trends
from conversations.builtin import builtin_surveys
from storage.invitations import NewInvitation
from storage.records import InvitationState
from storage.store import Store
from tests.conftest import make_config
from tests.team_channel import TEAM_TOML

HELSINKI = ZoneInfo("Europe/Helsinki")
NINE = datetime.min.time().replace(hour=9)


def local(*parts: int) -> float:
    return datetime(*parts, tzinfo=HELSINKI).timestamp()  # type: ignore[misc]


async def _response(
    store: Store,
    survey_id: str,
    answers: dict[str, object],
    *,
    at: float,
    sent_at: float | None = None,
) -> None:
    """An invitation delivered at `sent_at` (default `at`) and answered at `at`."""
    survey = builtin_surveys()[survey_id]
    sent = at if sent_at is None else sent_at
    async with store.database.transaction() as connection:
        contact = await store.contacts.ensure(
            connection, channel="telegram", address=f"{survey_id}{at}", now=sent
        )
        invitation_id = await store.invitations.insert(
            connection,
            NewInvitation("visit", survey_id, contact, "telegram", sent, {}, InvitationState.SENT,
                          None, sent, None, None),
            now=sent,
        )  # fmt: skip
        await store.invitations.stamp_sent(connection, invitation_id, now=sent)
        if answers:
            await store.invitations.transition(
                connection, invitation_id, InvitationState.ANSWERING, now=at
            )
            invitation = await store.invitations.get(invitation_id)
            assert invitation is not None
            for question_id, value in answers.items():
                await store.answers.insert(
                    connection,
                    invitation,
                    "telegram",
                    survey.question(question_id),
                    value,  # type: ignore[arg-type]
                    now=at,
                )


def _builder(store: Store, db_path: Path, extra: str = "") -> SummaryBuilder:
    return SummaryBuilder(store, make_config(TEAM_TOML + extra, db_path))


def _period(kind: str, day: date) -> ReportPeriod:
    key = f"{day.isocalendar().year}-W{day.isocalendar().week:02d}" if kind == WEEKLY else str(day)
    return ReportPeriod(kind, key, day, scheduled_at(day, NINE, HELSINKI).timestamp())


async def test_the_weekly_digest_covers_the_iso_week_of_its_title(
    store: Store, db_path: Path
) -> None:
    # Monday 23.11. 08:00 belongs to week 48; Monday 30.11. 07:00 and 08:00 to week 49.
    for minute in range(6):
        await _response(store, "nps", {"nps": 10}, at=local(2026, 11, 23, 8, minute))
    await _response(
        store, "nps", {"nps": 9, "why": "quick delivery"}, at=local(2026, 11, 29, 23, 30)
    )
    await _response(store, "nps", {"nps": 0, "why": "from week 49"}, at=local(2026, 11, 30, 7, 0))
    await _response(store, "nps", {"nps": 1}, at=local(2026, 11, 30, 8, 0))
    await _response(store, "nps", {"nps": 2}, at=local(2026, 11, 30, 8, 30))
    builder = _builder(store, db_path, "weekly_digest = true\n")
    monday = date(2026, 11, 30)
    document, _ = await builder.build(
        _period(WEEKLY, monday), now=local(2026, 11, 30, 9, 0), late=False, chart=False
    )
    text = (
        document.title
        + "\n"
        + "\n".join(
            f"{line.label or ''} {line.text}"
            for section in document.sections
            for line in section.lines
        )
    )
    assert "week 48" in document.title
    assert "answers 7," in text  # six on Monday morning and one on Sunday night
    assert "NPS +100" in text and "(n = 7)" in text
    assert "quick delivery" in text and "from week 49" not in text


async def test_a_late_summary_counts_what_was_answered_by_its_time(
    store: Store, db_path: Path
) -> None:
    # 20 sent on Monday 10:00; 10 answered that day, 10 on Tuesday at 13:00. Tuesday's 09:00
    # summary, posted late at 14:00, says what was true at its time: 10 of 20 answered.
    for i in range(20):
        answered_at = local(2026, 5, 4, 12, i) if i < 10 else local(2026, 5, 5, 13, i)
        await _response(store, "nps", {"nps": 9}, at=answered_at, sent_at=local(2026, 5, 4, 10, 0))
    builder = _builder(store, db_path)
    document, _ = await builder.build(
        _period(DAILY, date(2026, 5, 5)), now=local(2026, 5, 5, 14, 0), late=True, chart=False
    )
    week = next(
        line.text for s in document.sections for line in s.lines if line.label == "last 7 days"
    )
    assert "(n = 10)" in week and "50% answered" in week


@pytest.mark.parametrize(
    "summary_day",
    [date(2026, 3, 30), date(2026, 3, 31), date(2026, 10, 26), date(2026, 10, 27)],
    ids=["after-spring-change", "spring+1", "after-autumn-change", "autumn+1"],
)
async def test_summary_text_and_chart_tell_the_same_last_seven_days(
    store: Store, db_path: Path, summary_day: date
) -> None:
    # Answers at the edges of local days, every day for three weeks: the hour after midnight,
    # the hour before, and the morning of the summary itself.
    first = summary_day - timedelta(days=21)
    for offset in range(22):
        day = first + timedelta(days=offset)
        score = 10 if offset % 3 else 2
        await _response(store, "nps", {"nps": score}, at=local(day.year, day.month, day.day, 0, 20))
        await _response(store, "nps", {"nps": 6}, at=local(day.year, day.month, day.day, 23, 40))
        await _response(store, "nps", {"nps": 10}, at=local(day.year, day.month, day.day, 8, 0))
    builder = _builder(store, db_path)
    period = _period(DAILY, summary_day)
    document, _ = await builder.build(period, now=period.scheduled_at, late=False, chart=False)
    week = next(
        line.text for s in document.sections for line in s.lines if line.label == "last 7 days"
    )
    yesterday = summary_day - timedelta(days=1)
    [series] = await builder.chart_data(yesterday, ["nps"], days=30, smooth=7)
    assert series.days[-1] == yesterday
    shown = series.current[-1]
    assert f"NPS {format_value('nps', shown)} " in week
    assert f"(n = {sum(series.counts[-7:])})" in week  # three answers a day, seven days
    assert sum(series.counts[-7:]) == 21

    # The same days in `palaute report` and the dashboard, which ask rolling_trends at any hour.
    for hour in (0, 9, 23):
        [row] = await rolling_trends(
            store,
            builder.config.surveys,
            now=local(summary_day.year, summary_day.month, summary_day.day, hour, 30),
            window=timedelta(days=7),
            min_n=5,
            timezone="Europe/Helsinki",
        )
        assert row.current.n == 21 and row.current.nps == pytest.approx(shown)
        assert row.period is not None and row.period.last_day == yesterday


def test_a_window_of_days_is_whole_local_days_across_dst() -> None:
    from bot.team.scores import window_periods

    now = datetime(2026, 3, 30, 6, 0, tzinfo=UTC).timestamp()  # Monday 09:00 EEST
    period, before = window_periods(now, timedelta(days=7), "Europe/Helsinki")
    assert period.start == local(2026, 3, 23, 0, 0) and period.end == local(2026, 3, 30, 0, 0)
    assert period.end - period.start == 7 * 86400 - 3600  # the spring night is an hour short
    assert before.end == period.start and (period.first_day, period.last_day) == (
        date(2026, 3, 23),
        date(2026, 3, 29),
    )


async def test_live_views_end_their_windows_with_today_and_chart_the_same_days(
    store: Store, db_path: Path
) -> None:
    from bot.team.scores import live_as_of

    # Autumn: the week holds the 25-hour Sunday 25.10.
    today = date(2026, 10, 27)
    for offset in range(10):
        day = today - timedelta(days=offset)
        await _response(
            store, "nps", {"nps": 10 if offset % 2 else 4}, at=local(2026, 10, day.day, 0, 10)
        )
    now = local(2026, 10, 27, 15, 0)
    builder = _builder(store, db_path)
    [row] = await rolling_trends(
        store,
        builder.config.surveys,
        now=live_as_of(now, "Europe/Helsinki"),
        window=timedelta(days=7),
        min_n=5,
        timezone="Europe/Helsinki",
    )
    assert row.period is not None and (row.period.first_day, row.period.last_day) == (
        date(2026, 10, 21),
        today,
    )
    [series] = await builder.chart_data(today, ["nps"], days=30, smooth=7)
    assert row.current.n == sum(series.counts[-7:]) == 7
    assert row.current.nps == pytest.approx(series.current[-1])
