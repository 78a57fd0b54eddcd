"""What an answer causes beyond the conversation is committed with it, and cannot lose it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.triggers import ContactSpec, TriggerRequest
from conversations.engine import Conversation, Step
from storage.records import Invitation
from storage.unit_of_work import UnitOfWork
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config
from tests.team_channel import RecordingChannel

TEAM = '[team]\nreport_to = ["telegram:-100777"]\n[telegram]\ntoken = "x"\n'


async def test_a_failing_listener_keeps_the_answer_and_the_alert(
    app_factory: AppFactory, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Helsinki")))
    channel = RecordingChannel("telegram")
    app = await app_factory(make_config(TEAM, db_path), clock=clock, channels={"telegram": channel})

    async def broken(
        connection: UnitOfWork,
        invitation: Invitation,
        conversation: Conversation,
        step: Step,
    ) -> None:
        await connection.execute("DELETE FROM answers")  # work that must be undone
        raise RuntimeError("listener bug")

    app.surveys.listeners.insert(0, broken)
    result = await app.triggers.trigger(TriggerRequest("nps", ContactSpec("telegram", "31")))
    await app.invitations.tick()
    outcome = await app.surveys.answer(result.invitation.id, "2", channel="telegram", address="31")
    assert outcome.step is not None and outcome.step.accepted
    assert await app.store.answers.for_invitation(result.invitation.id) == ({"nps": 2}, set())
    followup = await app.store.followups.for_invitation(result.invitation.id)
    assert followup is not None, "the alert listener after the broken one still ran"
    assert "an answer listener failed" in caplog.text
