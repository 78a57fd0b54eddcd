"""The run lease: one process at a time sends from a database.

Two `palaute run` on one file would both claim and recover the outbox and send duplicates. The
process that runs holds a row in `run_lease` and renews its heartbeat; another is refused while
the heartbeat is fresh. A crashed owner does not block a restart for long: its lease lapses
`LEASE_SECONDS` after its last heartbeat, and at once when it ran on this host and its process
is gone. A clean stop releases the lease.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.unit_of_work import DatabaseBackend

LEASE_SECONDS = 15.0
HEARTBEAT_SECONDS = 5.0
"""Three heartbeats fit in a lease: a busy moment or two does not lose it."""


@dataclass(frozen=True)
class LeaseHolder:
    pid: int
    host: str
    started_at: float
    heartbeat_at: float


class DatabaseInUse(RuntimeError):
    """Another process holds the lease; the message names the file and that process."""

    def __init__(self, path: str, holder: LeaseHolder, now: float) -> None:
        started = datetime.fromtimestamp(holder.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        super().__init__(
            f"the database {path} is in use by another palaute run (pid {holder.pid} on "
            f"{holder.host}, started {started} UTC, alive {max(0.0, now - holder.heartbeat_at):.0f} s"
            f" ago); stop it first, or if it crashed, start again in {LEASE_SECONDS:.0f} s"
        )
        self.holder = holder


def _process_gone(pid: int) -> bool:
    if pid == os.getpid():
        return True  # the holder had our pid on our host: an earlier life of this container
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # someone else's process: alive
    return False


class RunLease:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database
        self.token = secrets.token_hex(16)
        self.host = socket.gethostname()
        self.held = False

    async def acquire(self, *, now: float) -> None:
        """Take the lease, or raise `DatabaseInUse` naming who holds it."""
        async with self.database.transaction() as work:
            row = await work.fetch_one("SELECT * FROM run_lease WHERE id = 1")
            if row is not None and row["token"] != self.token:
                holder = LeaseHolder(
                    row["pid"], row["host"], row["started_at"], row["heartbeat_at"]
                )
                if self._held(holder, now):
                    raise DatabaseInUse(self.database.path, holder, now)
            await work.execute(
                "INSERT INTO run_lease (id, token, pid, host, started_at, heartbeat_at)"
                " VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET token = excluded.token,"
                " pid = excluded.pid, host = excluded.host, started_at = excluded.started_at,"
                " heartbeat_at = excluded.heartbeat_at",
                (self.token, os.getpid(), self.host, now, now),
            )
        self.held = True

    def _held(self, holder: LeaseHolder, now: float) -> bool:
        if now - holder.heartbeat_at >= LEASE_SECONDS:
            return False
        return not (holder.host == self.host and _process_gone(holder.pid))

    async def heartbeat(self, *, now: float) -> bool:
        """Renew the lease; False when it is no longer ours (it lapsed and another took it)."""
        renewed = await self.database.execute(
            "UPDATE run_lease SET heartbeat_at = ? WHERE id = 1 AND token = ?", (now, self.token)
        )
        self.held = bool(renewed)
        return self.held

    async def release(self) -> None:
        """Give the lease up at once (a clean stop): the next start need not wait."""
        if not self.held:
            return
        await self.database.execute(
            "DELETE FROM run_lease WHERE id = 1 AND token = ?", (self.token,)
        )
        self.held = False
