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

from storage.postgresql.database import PostgresDatabase
from storage.postgresql.lease import AdvisoryLease
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
