"""The lease for work that must run once (scheduler ticks, daily summaries, Telegram polling)
when several workers share one PostgreSQL database: a session advisory lock.

One worker's own connection holds the lock; the others try again at each heartbeat. The server
lets the lock go when that session ends: at once when the worker's process dies (its socket
closes), and within about `KEEPALIVE_SECONDS` when its machine or network goes away (TCP
keepalives on the session). A holder whose session is gone learns it at its next heartbeat.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from storage.database import StorageError
from storage.postgresql.database import PostgresDatabase
from storage.postgresql.unit_of_work import DRIVER_ERRORS

log = logging.getLogger(__name__)

LEASE_KEY = 0x70616C76
"""The advisory lock key of the periodic-work lease ("palv"); migrations use another."""
HEARTBEAT_TIMEOUT_SECONDS = 5.0
KEEPALIVE = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
}
KEEPALIVE_SECONDS = 5 + 2 * 3


class AdvisoryLease:
    def __init__(self, database: PostgresDatabase, key: int = LEASE_KEY) -> None:
        self.database = database
        self.key = key
        self._session: asyncpg.Connection | None = None
        self.held = False

    async def try_acquire(self) -> bool:
        """Take the lease if no other worker holds it; True when this one holds it now."""
        if self.held:
            if await self._alive():
                return True
            await self._drop_session()
        if self._session is None or self._session.is_closed():
            self._session = await self.database.session(**KEEPALIVE)
        try:
            # Asked only while not held: a session lock taken twice would need two unlocks.
            taken = await asyncio.wait_for(
                self._session.fetchval("SELECT pg_try_advisory_lock($1)", self.key),
                HEARTBEAT_TIMEOUT_SECONDS,
            )
        except (*DRIVER_ERRORS, TimeoutError) as error:
            await self._drop_session()
            raise StorageError(
                f"could not ask {self.database.path} for the work lease ({type(error).__name__})"
            ) from None
        self.held = bool(taken)
        return self.held

    async def heartbeat(self) -> bool:
        """Whether this worker holds the lease now (its session alive); takes it when free."""
        try:
            return await self.try_acquire()
        except StorageError as error:
            log.warning("the work lease: %s", error)
            self.held = False
            return False

    async def _alive(self) -> bool:
        assert self._session is not None
        try:
            await asyncio.wait_for(self._session.fetchval("SELECT 1"), HEARTBEAT_TIMEOUT_SECONDS)
        except (*DRIVER_ERRORS, TimeoutError):
            log.warning("lost the work lease in %s (its session ended)", self.database.path)
            self.held = False
            return False
        return True

    async def release(self) -> None:
        """Give the lease up at once (a clean stop): another worker takes it at its next try."""
        self.held = False
        await self._drop_session()  # the session's end lets go of its locks

    async def _drop_session(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.is_closed():
            try:
                await asyncio.wait_for(session.close(), HEARTBEAT_TIMEOUT_SECONDS)
            except (*DRIVER_ERRORS, TimeoutError):
                session.terminate()
