"""Several workers on one PostgreSQL database: claims that skip each other's rows, and one
lease for the work that must run once, which moves on when its holder dies."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections.abc import AsyncIterator

import pytest_asyncio

from bot.channels.intake import DurableInbox, HandOver
from storage.inbox import InboxRepository
from storage.outbox import OutboxRepository
from storage.postgresql.database import PostgresDatabase
from storage.postgresql.lease import AdvisoryLease
from storage.settings import SettingsRepository
from storage.workers import LAPSE_SECONDS, WorkerRegistry
from tests.clock import FakeClock
from tests.palaute_process import ROOT

NOW = 1_790_000_000.0


@pytest_asyncio.fixture
async def workers(postgres_url: str) -> AsyncIterator[tuple[PostgresDatabase, PostgresDatabase]]:
    """Two workers' databases: two pools on one PostgreSQL database, as two processes have."""
    first = await PostgresDatabase.open(postgres_url)
    second = await PostgresDatabase.open(postgres_url)
    yield first, second
    await first.close()
    await second.close()


async def test_two_workers_never_claim_one_message(
    workers: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    first, second = workers
    async with first.transaction() as work:
        await work.execute_many(
            "INSERT INTO outbox (channel, address, kind, payload, not_before, created_at)"
            " VALUES ('telegram', ?, 'text', '{}', ?, ?)",
            [(str(chat), NOW, NOW) for chat in range(4)],
        )
    claim = (
        "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id IN ("
        "SELECT id FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 2"
        f"{first.dialect.claim_lock}) RETURNING id"
    )
    async with first.claiming() as mine:
        first_claim = {row["id"] for row in await mine.fetch_all(claim)}
        # The first worker has not committed: the second passes its rows over, not waits.
        async with asyncio.timeout(30):  # a guard against a hang, not a measure of speed
            async with second.claiming() as theirs:
                second_claim = {row["id"] for row in await theirs.fetch_all(claim)}
    assert len(first_claim) == len(second_claim) == 2
    assert not first_claim & second_claim
    states = await first.fetch_all("SELECT state, attempts FROM outbox ORDER BY id")
    assert [(row["state"], row["attempts"]) for row in states] == [("sending", 1)] * 4


async def test_one_lease_holder_at_a_time(
    workers: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    first, second = (AdvisoryLease(database) for database in workers)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await first.heartbeat() and not await second.heartbeat()
        await first.release()
        assert await second.try_acquire()
        assert not await first.try_acquire()
    finally:
        await first.release()
        await second.release()


async def test_a_holder_whose_session_the_server_ended_learns_it(
    workers: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    first, second = (AdvisoryLease(database) for database in workers)
    try:
        assert await first.try_acquire()
        pid = await workers[1].fetch_value(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        )
        assert await workers[1].fetch_value("SELECT pg_terminate_backend(?)", (pid,))
        assert await _eventually(second.try_acquire)
        assert not await first.heartbeat()
        assert not first.held
    finally:
        await first.release()
        await second.release()


HOLDER = textwrap.dedent("""
    import asyncio, sys
    from storage.postgresql.database import PostgresDatabase
    from storage.postgresql.lease import AdvisoryLease

    async def main() -> None:
        lease = AdvisoryLease(await PostgresDatabase.open(sys.argv[1]))
        print("held" if await lease.try_acquire() else "refused", flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
""")


async def test_the_lease_moves_on_when_its_holder_is_killed(
    workers: tuple[PostgresDatabase, PostgresDatabase], postgres_url: str
) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, postgres_url,
        stdout=asyncio.subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    lease = AdvisoryLease(workers[0])
    try:
        assert holder.stdout is not None
        async with asyncio.timeout(60):
            assert await holder.stdout.readline() == b"held\n"
        assert not await lease.try_acquire()
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
        assert await _eventually(lease.try_acquire)
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await lease.release()


async def _eventually(attempt: object) -> bool:
    """Try every 0.1 s for up to 30 s (the server ends a dead session's locks at once)."""
    assert callable(attempt)
    for _ in range(300):
        if await attempt():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_only_a_dead_workers_messages_in_flight_go_back(
    workers: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    first, second = (WorkerRegistry(database) for database in workers)
    assert await first.join(now=NOW) == 1
    assert await second.join(now=NOW) == 2
    async with workers[0].transaction() as work:
        await work.execute_many(
            "INSERT INTO outbox (channel, address, kind, payload, not_before, created_at)"
            " VALUES ('telegram', ?, 'text', '{}', ?, ?)",
            [(str(chat), NOW, NOW) for chat in range(2)],
        )
    [mine] = await OutboxRepository(workers[0]).claim(NOW, 1, set(), worker=first.id)
    [theirs] = await OutboxRepository(workers[1]).claim(NOW, 1, set(), worker=second.id)
    assert await second.recover_lapsed(now=NOW + 1) == 0  # the first one is alive
    # The first stops renewing its heartbeat: its message goes back, the second's stays.
    await second.heartbeat(now=NOW + LAPSE_SECONDS)
    assert await second.recover_lapsed(now=NOW + LAPSE_SECONDS) == 1
    states = await workers[1].fetch_all("SELECT id, state, claimed_by FROM outbox ORDER BY id")
    assert {row["id"]: (row["state"], row["claimed_by"]) for row in states} == {
        mine.id: ("pending", None),
        theirs.id: ("sending", second.id),
    }
    assert await second.live(now=NOW + LAPSE_SECONDS) == 1


async def test_a_worker_takes_over_only_a_dead_workers_unfinished_updates(
    workers: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    first, second = (WorkerRegistry(database) for database in workers)
    await first.join(now=NOW)
    await second.join(now=NOW)
    clock = FakeClock(NOW)
    inboxes = [
        DurableInbox("telegram", InboxRepository(database), clock, worker=worker.id)
        for database, worker in zip(workers, (first, second), strict=True)
    ]
    handled: tuple[list[str], list[str]] = ([], [])

    def handler(into: list[str]) -> HandOver:
        async def hand_over(key: str, _payload: str) -> None:
            into.append(key)

        return hand_over

    await inboxes[0].open(handler(handled[0]))
    await inboxes[0].accept([("101", "{}")])  # being handled by the first worker
    assert await inboxes[1].open(handler(handled[1])) == 0
    assert await inboxes[1].adopt() == 0
    assert handled == (["101"], [])
    await second.heartbeat(now=NOW + LAPSE_SECONDS)
    await second.recover_lapsed(now=NOW + LAPSE_SECONDS)  # the first died
    assert await inboxes[1].adopt() == 1
    assert await inboxes[1].adopt() == 0  # the second's own now
    assert handled == (["101"], ["101"])


async def test_workers_starting_at_once_share_one_link_secret(
    workers: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    """Two workers started together both asked for the secret their links are signed with:
    one of them failed to start on the settings row the other had just written."""
    first, second = (SettingsRepository(database) for database in workers)
    for attempt in range(20):
        key = f"link_secret_{attempt}"
        values = await asyncio.gather(
            first.get_or_create_secret(key), second.get_or_create_secret(key)
        )
        assert values[0] == values[1]
