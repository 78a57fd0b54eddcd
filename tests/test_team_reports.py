"""Daily summaries and weekly digests with a controlled clock: on time across DST, once, late."""

from __future__ import annotations

import base64
import io
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from bot.app import PalauteApp
from bot.dispatcher import team_message_from_payload
from bot.reports.jobs import latest_due, summary_trigger
from bot.reports.render import Line, Section, TeamDocument, to_blocks, to_html, to_text
from storage.store import Store
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config
from tests.report_data import generate
from tests.team_channel import TEAM_TOML, eventually, team_channels

HELSINKI = ZoneInfo("Europe/Helsinki")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_the_cron_trigger_fires_at_local_nine_on_both_sides_of_dst() -> None:
    trigger = summary_trigger(time(9, 0), "Europe/Helsinki")
    spring = trigger.get_next_fire_time(None, utc(2026, 3, 28, 8, 0))
    assert spring is not None and spring.astimezone(UTC) == utc(2026, 3, 29, 6, 0)  # EEST
    before = trigger.get_next_fire_time(None, utc(2026, 3, 27, 8, 0))
    assert before is not None and before.astimezone(UTC) == utc(2026, 3, 28, 7, 0)  # EET
    autumn = trigger.get_next_fire_time(None, utc(2026, 10, 24, 7, 0))
    assert autumn is not None and autumn.astimezone(UTC) == utc(2026, 10, 25, 7, 0)  # EET again
    assert latest_due(utc(2026, 3, 29, 5, 59), time(9), HELSINKI, weekly=False) == date(2026, 3, 28)
    assert latest_due(utc(2026, 3, 29, 6, 0), time(9), HELSINKI, weekly=False) == date(2026, 3, 29)
    assert latest_due(utc(2026, 3, 30, 6, 0), time(9), HELSINKI, weekly=True) == date(2026, 3, 30)
    assert latest_due(utc(2026, 3, 30, 5, 0), time(9), HELSINKI, weekly=True) == date(2026, 3, 23)


async def _reports(store: Store) -> list[tuple[str, str, int]]:
    rows = await store.database.fetch_all(
        "SELECT kind, period, late FROM team_reports ORDER BY posted_at, kind"
    )
    return [(r["kind"], r["period"], r["late"]) for r in rows]


async def test_summary_at_local_nine_across_the_spring_dst_change(
    app_factory: AppFactory, db_path: Path
) -> None:
    clock = FakeClock(utc(2026, 3, 27, 12, 0))
    channels, slack, telegram = team_channels()
    app = await app_factory(
        make_config(TEAM_TOML, db_path), clock=clock, channels=channels, http=False
    )
    assert await app.reporter.run_due() == []  # the 27th's 09:00 was before palaute ran
    clock.set(utc(2026, 3, 28, 6, 59))  # 08:59 EET
    assert await app.reporter.run_due() == []
    clock.set(utc(2026, 3, 28, 7, 0))  # 09:00 EET
    assert [p.period for p in await app.reporter.run_due()] == ["2026-03-28"]
    clock.set(utc(2026, 3, 29, 5, 59))  # 08:59 EEST, the morning the clocks went forward
    assert await app.reporter.run_due() == []
    clock.set(utc(2026, 3, 29, 6, 0))  # 09:00 EEST
    assert [p.period for p in await app.reporter.run_due()] == ["2026-03-29"]
    assert await _reports(app.store) == [("daily", "2026-03-28", 0), ("daily", "2026-03-29", 0)]
    await eventually(lambda: len(slack.team) == 2 and len(telegram.team) == 2)
    assert [s.address for s in slack.team] == ["CTEAM", "CTEAM"]
    assert [s.address for s in telegram.team] == ["-1001", "-1001"]
    assert "late" not in slack.team[0].message.text.lower()
    assert "Feedback summary, 2026-03-28" in slack.team[0].message.text


async def test_summary_at_local_nine_when_clocks_go_back(
    app_factory: AppFactory, db_path: Path
) -> None:
    clock = FakeClock(utc(2026, 10, 24, 12, 0))
    channels, _slack, _telegram = team_channels()
    app = await app_factory(
        make_config(TEAM_TOML, db_path), clock=clock, channels=channels, http=False
    )
    clock.set(utc(2026, 10, 25, 6, 30))  # 08:30 EET (it would be 09:30 in summer time)
    assert await app.reporter.run_due() == []
    clock.set(utc(2026, 10, 25, 7, 0))
    assert [p.period for p in await app.reporter.run_due()] == ["2026-10-25"]


async def test_no_summary_is_posted_twice_even_across_restarts(
    app_factory: AppFactory, db_path: Path
) -> None:
    clock = FakeClock(utc(2026, 5, 5, 5, 0))  # a Tuesday, 08:00 EEST
    config = make_config(TEAM_TOML, db_path)
    channels, slack, _telegram = team_channels()
    first = PalauteApp(config, clock=clock, channels=channels, http=False)
    await first.start()
    clock.set(utc(2026, 5, 5, 6, 0, 5))
    assert len(await first.reporter.run_due()) == 1
    assert await first.reporter.run_due() == []  # a second wake-up the same morning
    await eventually(lambda: len(slack.team) == 1)
    await first.stop()
    channels, slack, _telegram = team_channels()
    second = await app_factory(config, clock=clock, channels=channels, http=False)
    assert await second.reporter.run_due() == []
    assert await _reports(second.store) == [("daily", "2026-05-05", 0)]
    rows = await second.store.database.fetch_all(
        "SELECT COUNT(*) AS n FROM outbox WHERE kind = 'team'"
    )
    assert rows[0]["n"] == 2  # one per report_to target, once


async def test_a_missed_summary_is_posted_late_when_palaute_comes_back(
    app_factory: AppFactory, db_path: Path
) -> None:
    clock = FakeClock(utc(2026, 5, 5, 5, 0))  # 08:00 local: palaute runs, then goes down
    config = make_config(TEAM_TOML, db_path)
    channels, _slack, _telegram = team_channels()
    first = PalauteApp(config, clock=clock, channels=channels, http=False)
    await first.start()
    await first.stop()
    clock.set(utc(2026, 5, 5, 11, 2))  # back at 14:02
    channels, slack, telegram = team_channels()
    await app_factory(config, clock=clock, channels=channels, http=False)
    await eventually(lambda: len(slack.team) == 1 and len(telegram.team) == 1)
    message = slack.team[0].message
    assert "Posted late, at 14:02: palaute was not running at 09:00." in message.text
    assert message.blocks is not None and message.blocks[1]["type"] == "context"
    assert "<i>Posted late" in (telegram.team[0].message.html or "")


async def test_weekly_digest_on_mondays_with_a_chart_attached(
    app_factory: AppFactory, db_path: Path
) -> None:
    monday_nine = utc(2026, 6, 1, 6, 0)  # Monday 09:00 EEST
    store = await Store.open(db_path)
    await generate(store, seed=11, now=monday_nine.timestamp(), count=400, days=65)
    await store.settings.get_or_set("team_reports_since", "0")
    await store.close()
    clock = FakeClock(monday_nine)
    channels, slack, telegram = team_channels()
    app = await app_factory(
        make_config(TEAM_TOML, db_path), clock=clock, channels=channels, http=False
    )
    await eventually(lambda: len(slack.team) == 2 and len(telegram.team) == 2)
    assert await _reports(app.store) == [("daily", "2026-06-01", 0), ("weekly", "2026-W23", 0)]
    daily, weekly = (s.message for s in slack.team)
    assert weekly.text.startswith("Weekly feedback digest, week 22")
    for message in (daily, weekly):
        assert message.attachment is not None and message.attachment.mime_type == "image/png"
        image = Image.open(io.BytesIO(message.attachment.content))
        assert image.format == "PNG" and 800 <= image.width <= 1200 and 400 <= image.height <= 2000
        image.verify()
    assert "Net Promoter Score" in daily.text and "Last 30 days" not in daily.text
    assert "last 7 days: NPS" in daily.text and "last 30 days: NPS" in daily.text
    assert "Per question, last 30 days: before" in daily.text  # the event survey's parts
    assert "Yesterday:" in daily.text and "Comments yesterday" in daily.text
    assert "visit: " in weekly.text and "order: " in weekly.text  # by touchpoint


def test_documents_escape_customer_text_for_every_format() -> None:
    document = TeamDocument(
        "Summary <1>",
        (Section("Comments & more", (Line("<b>bold</b> & *stars*", label="NPS 3", quote=True),)),),
        note="late",
    )
    assert "<b>bold</b>" in to_text(document)
    html = to_html(document)
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; *stars*" in html and html.startswith(
        "<b>Summary &lt;1&gt;</b>"
    )
    blocks = to_blocks(document)
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Summary <1>"}}
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; *stars*" in blocks[2]["text"]["text"]
    long = TeamDocument("x", (Section(None, tuple(Line("y" * 500) for _ in range(30))),))
    assert len(to_html(long)) <= 4000 and to_html(long).endswith("…")
    assert all(len(b["text"]["text"]) <= 3000 for b in to_blocks(long) if b["type"] == "section")


def test_the_chart_travels_in_the_payload_as_base64() -> None:
    message = team_message_from_payload(
        {"text": "t", "image_png": base64.b64encode(b"\x89PNG...").decode(), "image_name": "a.png"}
    )
    assert message.attachment is not None
    assert (message.attachment.filename, message.attachment.content) == ("a.png", b"\x89PNG...")


async def test_a_report_time_in_the_dst_gap_is_still_posted(
    app_factory: AppFactory, db_path: Path
) -> None:
    toml = TEAM_TOML.replace('daily_summary = "09:00"', 'daily_summary = "03:30"')
    clock = FakeClock(utc(2026, 3, 28, 12, 0))
    channels, _slack, _telegram = team_channels()
    app = await app_factory(make_config(toml, db_path), clock=clock, channels=channels, http=False)
    assert {job.id for job in app.scheduler.get_jobs()} >= {"team_reports", "team_reports_check"}
    clock.set(utc(2026, 3, 29, 1, 29))  # 03:29 EET; 03:30 does not exist that night
    assert await app.reporter.run_due() == []
    clock.set(utc(2026, 3, 29, 1, 45))  # 04:45 EEST, woken by the periodic check
    assert [p.period for p in await app.reporter.run_due()] == ["2026-03-29"]
