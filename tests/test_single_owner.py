"""One database, one owner: two ticks never queue one invitation twice, and a second
`palaute run` on the same file is refused (a lease in the database, kept alive by a heartbeat)."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.delivery.scheduling import InvitationScheduler
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.services import build_services, trigger_service
from bot.tokens import TokenSigner
from storage.lease import LEASE_SECONDS, DatabaseInUse, RunLease
from storage.store import Store
from tests.conftest import make_config
from tests.database_rows import rows
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.palaute_process import (
    ROOT,
    TOKEN_VARIABLE,
    PalauteProcess,
    palaute_command,
    query,
    write_config,
)
from tests.team_channel import RecordingChannel


def _scheduler(store: Store, db_path: Path | str) -> InvitationScheduler:
    channels = {"telegram": RecordingChannel("telegram")}  # never started: only the tick runs
    services = build_services(
        store,
        make_config("", db_path),
        SystemClock(),
        channels,
        TokenSigner("test-secret"),
        on_invitation_created=lambda: None,
    )
    return services.invitations


async def test_two_ticks_on_one_database_queue_each_invitation_once(
    database_location: str,
) -> None:
    """Two processes' stores on one database (two connections on SQLite, two pools on
    PostgreSQL), ticking at once."""
    first, second = await Store.open(database_location), await Store.open(database_location)
    try:
        triggers = trigger_service(
            first, make_config("", database_location), SystemClock(), channels=["telegram"]
        )
        for n in range(150):
            await triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", str(7000 + n))))
        one, other = _scheduler(first, database_location), _scheduler(second, database_location)
        started = await asyncio.gather(one.tick(), other.tick(), one.tick(), other.tick())
        queued = Counter(
            row[0]
            for row in await rows(first, "SELECT invitation_id FROM outbox WHERE kind = 'prompt'")
        )
    finally:
        await first.close()
        await second.close()
    twice = {invitation: n for invitation, n in queued.items() if n > 1}
    assert not twice, f"{len(twice)} of 150 invitations were queued more than once"
    assert len(queued) == 150
    assert sum(started) == 150, f"the ticks reported {started} started"


async def test_a_lease_lapses_when_its_holder_stops_its_heartbeat(store: Store) -> None:
    elsewhere = RunLease(store.database)
    elsewhere.host = "the-other-server"  # its process cannot be looked up from here
    await elsewhere.acquire(now=1000.0)
    assert await elsewhere.heartbeat(now=1005.0)
    here = RunLease(store.database)
    with pytest.raises(DatabaseInUse) as refused:
        await here.acquire(now=1005.0 + LEASE_SECONDS - 1)
    assert store.database.path in str(refused.value)
    assert f"pid {os.getpid()} on the-other-server" in str(refused.value)
    await here.acquire(now=1005.0 + LEASE_SECONDS)  # no heartbeat for LEASE_SECONDS
    assert not await elsewhere.heartbeat(now=1021.0), "the old holder must learn it lost it"
    await here.release()
    await elsewhere.acquire(now=1022.0)  # released: free at once


async def _run_second(config: Path, fake: FakeTelegram) -> tuple[int, list[str]]:
    """`palaute run` while another holds the database: its exit code and what it printed."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        TOKEN_VARIABLE: fake.token,
        "PALAUTE_TEST_API_TOKEN": "fault-test-api-token",
    }
    process = await asyncio.create_subprocess_exec(
        *palaute_command(), "run", "--config", str(config), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("the second palaute run did not exit") from None
    lines = [line for line in output.decode().splitlines() if line.strip()]
    return process.returncode or 0, lines


@pytest.mark.slow
async def test_a_second_palaute_run_on_one_database_is_refused_until_the_first_is_gone(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake = fake_telegram
    config = write_config(tmp_path, fake)
    db_path = tmp_path / "palaute.db"
    first = PalauteProcess(config, fake)
    restarted = PalauteProcess(config, fake)
    try:
        await first.start()
        await first.wait_polling()
        assert first.process is not None

        code, lines = await _run_second(config, fake)
        assert code == 1, lines
        assert len(lines) == 1, lines
        assert str(db_path) in lines[0] and f"pid {first.process.pid}" in lines[0], lines
        assert not first.exited, "the first one keeps running"

        first.kill()  # a crash: no clean release of the lease
        await first.wait()
        await restarted.start()
        assert restarted.process is not None
        new_pid = restarted.process.pid
        await fake.wait_for(
            lambda: (
                restarted.exited
                or (
                    query(db_path, "SELECT pid FROM run_lease") == [(new_pid,)]
                    and restarted.log().count("Scheduler started") == 2
                )
            ),
            LEASE_SECONDS + 10,
            message=lambda: f"the restarted palaute to run; its log:\n{restarted.log()}",
        )
        assert not restarted.exited, restarted.log()
        assert await restarted.terminate() == 0
        assert query(db_path, "SELECT COUNT(*) FROM run_lease") == [(0,)], "released at a stop"
    finally:
        await first.ensure_stopped()
        await restarted.ensure_stopped()
