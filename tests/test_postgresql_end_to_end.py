"""palaute on PostgreSQL end to end: a Telegram survey from trigger to scores."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from bot.config import Config
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.team.scores import rolling_scores
from storage.records import InvitationState
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.postgres_databases import new_database
from tests.telegram_helpers import (
    MovableClock,
    keyboard_rows,
    telegram_config,
    wait_for_text,
)

MARKET = """
[touchpoints.market_day]
survey = "nps"
delay = "2h"
"""


def _on_postgresql(config: Config, url: str) -> Config:
    return dataclasses.replace(config, storage=dataclasses.replace(config.storage, url=url))


async def test_a_telegram_survey_is_stored_and_scored_in_postgresql(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path, postgres_server: str
) -> None:
    fake = fake_telegram
    async with new_database(postgres_server) as url:
        clock = MovableClock()
        config = _on_postgresql(telegram_config(fake, db_path, MARKET), url)
        app = await app_factory(config, clock=clock)
        assert app.store.database.dialect.name == "postgresql"
        maija = fake.user(501, first_name="Maija", language_code="en")
        await app.triggers.trigger(TriggerRequest("market_day", ContactSpec("telegram", "501")))
        await app.invitations.tick()
        clock.advance(timedelta(hours=2).total_seconds())
        await app.invitations.tick()

        question = await wait_for_text(fake, maija, "How likely are you to recommend us")
        assert keyboard_rows(question)[0][:3] == ["0", "1", "2"]
        fake.push_callback(maija, question, question.callback_data_for("9"))
        why = await wait_for_text(fake, maija, "main reason for your score")
        fake.push_text(maija, "Fast checkout")
        await wait_for_text(fake, maija, "Thank you")
        assert why.text is not None and why.text.endswith("Your answer: Fast checkout")

        [invitation] = await app.store.invitations.listing()
        assert invitation.state is InvitationState.COMPLETED
        answers, _skipped = await app.store.answers.for_invitation(invitation.id)
        assert answers == {"nps": 9, "why": "Fast checkout"}
        [row] = await rolling_scores(
            app.store, app.config.surveys, now=clock.now() + 86400, window=timedelta(days=7)
        )
        assert (row.survey, row.n, row.nps, row.response_rate) == ("nps", 1, 100.0, 1.0)
        assert not db_path.exists()  # nothing went to a SQLite file
