"""`palaute demo-data`: believable data through the repositories, and the reports work on it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo import fill_demo
from bot.team.scores import rolling_trends
from conversations.builtin import builtin_surveys
from storage.store import Store

NOW = 1_790_000_000.0


async def test_demo_data_fills_every_report(store: Store, tmp_path: Path) -> None:
    surveys = builtin_surveys()
    stats = await fill_demo(store, surveys, now=NOW, days=60, contacts=120, seed=7)
    assert stats.contacts == 120 and stats.invitations > 200
    assert 0.4 < stats.responses / stats.invitations < 0.85
    rows = {
        r.survey: r
        for r in await rolling_trends(store, surveys, now=NOW, window=timedelta(days=30), min_n=10)
    }
    assert {"nps", "csat", "ces", "event"} <= set(rows)
    for row in rows.values():
        assert row.current.response_rate is not None and 0.3 < row.current.response_rate < 0.95
        assert row.previous.n > 0
    comments = await store.reports.comments(NOW - 30 * 86400, NOW, limit=200)
    assert len(comments) > 20 and len({c.text for c in comments}) > 10
    stores = await rolling_trends(
        store,
        surveys,
        now=NOW,
        window=timedelta(days=60),
        min_n=10,
        by="property:store",
        survey_id="nps",
    )
    nps = {r.group: r.current.nps for r in stores}
    assert nps["Kamppi"] is not None and nps["Itis"] is not None and nps["Kamppi"] > nps["Itis"]
    unresolved = await store.followups.count_unresolved()
    assert 0 < unresolved < stats.followups  # some still open, most closed
    # The same seed writes the same data (into a SQLite file, whichever backend `store` is).
    other = await Store.open(tmp_path / "again.db")
    try:
        again = await fill_demo(other, surveys, now=NOW, days=60, contacts=120, seed=7)
        assert again == stats
    finally:
        await other.close()


async def test_the_command_refuses_a_database_with_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "palaute.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "demo.db"}"\n')
    argv = ["demo-data", "--config", str(config), "--days", "20", "--contacts", "40", "--seed", "2"]
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("Wrote 40 contacts") and "Today's team summary would read" in out
    assert await asyncio.to_thread(main, argv) == 1
    assert "already has" in capsys.readouterr().err
    assert await asyncio.to_thread(main, [*argv, "--force"]) == 0
