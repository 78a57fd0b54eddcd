"""One database, one owner: two ticks never queue one invitation twice, and a second
`palaute run` on the same file is refused (a lease in the database, kept alive by a heartbeat)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from bot.clock import SystemClock
from bot.scheduling import InvitationScheduler
from bot.surveys import SurveyService
from bot.triggers import ContactSpec, TriggerRequest, TriggerService
from storage.store import Store
from tests.conftest import make_config
from tests.palaute_process import query


def _scheduler(store: Store, db_path: Path) -> InvitationScheduler:
    config = make_config("", db_path)
    clock = SystemClock()
    surveys = SurveyService(store, config, clock, lambda: None)
    surveys.pushing_channels = {"telegram"}
    triggers = TriggerService(store, config, clock)
    return InvitationScheduler(store, config, clock, surveys, triggers, lambda: None)


async def test_two_ticks_on_one_database_queue_each_invitation_once(db_path: Path) -> None:
    first, second = await Store.open(db_path), await Store.open(db_path)
    try:
        triggers = TriggerService(first, make_config("", db_path), SystemClock())
        for n in range(150):
            await triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", str(7000 + n))))
        one, other = _scheduler(first, db_path), _scheduler(second, db_path)
        started = await asyncio.gather(one.tick(), other.tick(), one.tick(), other.tick())
    finally:
        await first.close()
        await second.close()
    queued = Counter(
        row[0] for row in query(db_path, "SELECT invitation_id FROM outbox WHERE kind = 'prompt'")
    )
    twice = {invitation: n for invitation, n in queued.items() if n > 1}
    assert not twice, f"{len(twice)} of 150 invitations were queued more than once"
    assert len(queued) == 150
    assert sum(started) == 150, f"the ticks reported {started} started"
