"""`palaute report` shows each comment with the scores its customer gave."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.cli import main
from tests.test_dashboard import NOW
from tests.test_dashboard_browser import _respond


async def test_the_terminal_report_shows_the_score_beside_every_comment(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ago = NOW.timestamp() - time.time()
    # Answers of the last hour, so that the report's window (ending now) holds them.
    await _respond(
        db_path, "event", "market_day",
        {"before": 5, "during": 1, "after": 3, "change": "Too few toilets"},
        ago=ago + 600, properties={"event_name": "Kirppis"},
    )  # fmt: skip
    await _respond(db_path, "nps", "order_delivered", {"nps": 9, "why": "Fast"}, ago=ago + 900)
    config = tmp_path / "palaute.toml"
    config.write_text(f'[storage]\npath = "{db_path}"\n[team]\nmin_n = 5\n')
    assert await asyncio.to_thread(main, ["report", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "event [before 5 · during 1 · after 3]: Too few toilets" in out
    assert "nps [NPS 9]: Fast" in out
