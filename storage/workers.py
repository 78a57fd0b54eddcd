"""Several `palaute run` workers on one PostgreSQL database.

Each worker registers in `workers` with an id of its own and renews its heartbeat. A message
claimed from the outbox carries its worker's id (`outbox.claimed_by`), so when a worker dies only
what was in flight on it goes back to `pending` — once its heartbeat is `LAPSE_SECONDS` old, or
at once when it ran on this host and its process is gone — and the others send it: the
documented duplicate, bounded by the messages in flight on the dead worker. The live count sizes
each worker's share of a platform's bot-wide pace (bot.delivery.pacing).

SQLite keeps its one run (storage.lease.RunLease) and never uses this.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass

from storage.lease import _process_gone
from storage.unit_of_work import DatabaseBackend

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
LAPSE_SECONDS = 10.0
"""Five heartbeats: a busy moment or two does not make a live worker look dead."""


@dataclass(frozen=True)
class Worker:
    id: str
    pid: int
    host: str
    heartbeat_at: float


class WorkerRegistry:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.host = socket.gethostname()
        self.pid = os.getpid()

    async def join(self, *, now: float) -> int:
        """Register this worker, hand back what lapsed workers left in flight; returns how many
        workers are live (this one counted)."""
        await self.database.execute(
            "INSERT INTO workers (id, pid, host, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)",
            (self.id, self.pid, self.host, now, now),
        )
        await self.recover_lapsed(now=now)
        return await self.live(now=now)

    async def heartbeat(self, *, now: float) -> int:
        """Renew this worker's heartbeat; returns the number of live workers."""
        renewed = await self.database.execute(
            "UPDATE workers SET heartbeat_at = ? WHERE id = ?", (now, self.id)
        )
        if not renewed:
            # Another worker took this one for dead (a pause longer than LAPSE_SECONDS) and
            # resent its messages in flight; it carries on under the same id.
            log.warning("this worker was taken for dead by the others; registering again")
            await self.database.execute(
                "INSERT INTO workers (id, pid, host, started_at, heartbeat_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (self.id, self.pid, self.host, now, now),
            )
        return await self.live(now=now)

    async def live(self, *, now: float) -> int:
        workers = await self._others()
        return 1 + sum(1 for worker in workers if not self._lapsed(worker, now))

    async def recover_lapsed(self, *, now: float) -> int:
        """Drop the workers whose heartbeat lapsed; their messages in flight go back to
        `pending` (and those of no live worker: left by a run before this table). Returns how
        many messages went back."""
        lapsed = [worker for worker in await self._others() if self._lapsed(worker, now)]
        if lapsed:
            marks = ",".join("?" * len(lapsed))
            await self.database.execute(
                f"DELETE FROM workers WHERE id IN ({marks})", [w.id for w in lapsed]
            )
            for worker in lapsed:
                log.warning(
                    "worker %s (pid %d on %s) stopped renewing its heartbeat; its messages in"
                    " flight go to the others",
                    worker.id,
                    worker.pid,
                    worker.host,
                )
        recovered = await self.database.execute(
            "UPDATE outbox SET state = 'pending', claimed_by = NULL WHERE state = 'sending'"
            " AND (claimed_by IS NULL OR claimed_by NOT IN (SELECT id FROM workers))"
        )
        if recovered:
            log.warning(
                "%d message(s) were being sent by a worker that stopped; sending them again",
                recovered,
            )
        return recovered

    async def leave(self) -> None:
        """A clean stop: this worker's own unfinished claims went back already (the
        dispatcher's stop)."""
        await self.database.execute("DELETE FROM workers WHERE id = ?", (self.id,))

    async def _others(self) -> list[Worker]:
        rows = await self.database.fetch_all(
            "SELECT id, pid, host, heartbeat_at FROM workers WHERE id <> ?", (self.id,)
        )
        return [Worker(r["id"], r["pid"], r["host"], r["heartbeat_at"]) for r in rows]

    def _lapsed(self, worker: Worker, now: float) -> bool:
        if now - worker.heartbeat_at >= LAPSE_SECONDS:
            return True
        return worker.host == self.host and worker.pid != self.pid and _process_gone(worker.pid)
