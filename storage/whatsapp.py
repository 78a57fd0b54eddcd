"""WhatsApp's chat state: the customer-service window, held questions, message statuses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.unit_of_work import DatabaseBackend

_STATUS_ORDER = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}
"""Status callbacks can arrive out of order; a later stage is never overwritten by an earlier."""


@dataclass(frozen=True)
class MessageStatus:
    wamid: str
    address: str
    kind: str
    status: str | None
    error_code: int | None
    error: str | None


class WhatsAppRepository:
    def __init__(self, database: DatabaseBackend) -> None:
        self.database = database

    async def customer_wrote(self, address: str, *, at: float) -> None:
        await self.database.execute(
            "INSERT INTO whatsapp_chats (address, last_inbound_at) VALUES (?, ?)"
            " ON CONFLICT (address) DO UPDATE SET last_inbound_at = CASE"
            " WHEN whatsapp_chats.last_inbound_at > excluded.last_inbound_at"
            " THEN whatsapp_chats.last_inbound_at ELSE excluded.last_inbound_at END",
            (address, at),
        )

    async def last_inbound(self, address: str) -> float | None:
        row = await self.database.fetch_one(
            "SELECT last_inbound_at FROM whatsapp_chats WHERE address = ?", (address,)
        )
        return None if row is None else row["last_inbound_at"]

    async def language_of(self, address: str) -> str | None:
        """The language palaute last spoke with this WhatsApp number in (WhatsApp's webhooks do
        not say which language a customer uses): the contact's own, else their latest survey's."""
        row = await self.database.fetch_one(
            "SELECT COALESCE(c.language, (SELECT i.language FROM invitations i"
            " WHERE i.contact_id = c.id AND i.language IS NOT NULL ORDER BY i.id DESC LIMIT 1))"
            " AS language FROM contacts c WHERE c.channel = 'whatsapp' AND c.address = ?",
            (address,),
        )
        return None if row is None else row["language"]

    async def hold(self, address: str, prompt_json: str, *, now: float) -> None:
        await self.database.execute(
            "INSERT INTO whatsapp_chats (address, held_prompt, held_since) VALUES (?, ?, ?)"
            " ON CONFLICT (address) DO UPDATE SET held_prompt = excluded.held_prompt,"
            " held_since = excluded.held_since",
            (address, prompt_json, now),
        )

    async def held(self, address: str) -> str | None:
        row = await self.database.fetch_one(
            "SELECT held_prompt FROM whatsapp_chats WHERE address = ?", (address,)
        )
        return None if row is None else row["held_prompt"]

    async def release(self, address: str, prompt_json: str) -> None:
        """The held question went out: forget it (unless another one took its place)."""
        await self.database.execute(
            "UPDATE whatsapp_chats SET held_prompt = NULL, held_since = NULL"
            " WHERE address = ? AND held_prompt = ?",
            (address, prompt_json),
        )

    async def record_sent(
        self,
        wamid: str,
        address: str,
        kind: str,
        *,
        now: float,
        copy_of: str | None = None,
        choices: Sequence[str] = (),
    ) -> None:
        """`choices`: the ids of the reply buttons or list rows the message carries."""
        await self.database.execute(
            "INSERT INTO whatsapp_messages (wamid, address, kind, sent_at, copy_of, choices)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (wamid) DO NOTHING",
            (wamid, address, kind, now, copy_of, json.dumps(list(choices), ensure_ascii=False)),
        )

    async def offers(self, wamid: str, address: str, choice: str) -> bool:
        """Whether message `wamid`, sent by palaute to `address`, carried the button or list
        row `choice`. A message palaute did not send offers nothing; one sent before palaute
        kept its choices (choices NULL) is not checked here: the answer's own validation
        applies, as for an old Telegram message."""
        row = await self.database.fetch_one(
            "SELECT choices FROM whatsapp_messages WHERE wamid = ? AND address = ?",
            (wamid, address),
        )
        if row is None:
            return False
        if row["choices"] is None:
            return True
        return choice in json.loads(row["choices"])

    # ------------------------------------------------------------------ webhook events

    async def event_handled(self, event_key: str) -> bool:
        row = await self.database.fetch_one(
            "SELECT 1 FROM whatsapp_events WHERE event_key = ?", (event_key,)
        )
        return row is not None

    async def record_event(
        self, event_key: str, call_key: str, *, now: float, error: str | None = None
    ) -> None:
        await self.database.execute(
            "INSERT INTO whatsapp_events (event_key, call_key, handled_at, error)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (event_key) DO NOTHING",
            (event_key, call_key, now, error),
        )

    async def prune_events(self, older_than: float) -> int:
        async with self.database.transaction() as work:
            return await work.execute(
                "DELETE FROM whatsapp_events WHERE handled_at < ?", (older_than,)
            )

    # ------------------------------------------------------------------ held team alerts

    async def hold_alert(self, address: str, alert: dict[str, Any], *, now: float) -> None:
        """Add an alert to those waiting for the team member's reply to the alert template."""
        async with self.database.transaction() as work:
            row = await work.fetch_one(
                "SELECT held_alerts FROM whatsapp_chats WHERE address = ?", (address,)
            )
            alerts = (
                json.loads(row["held_alerts"]) if row is not None and row["held_alerts"] else []
            )
            alerts = [held for held in alerts if held.get("ref") != alert.get("ref")] + [alert]
            await work.execute(
                "INSERT INTO whatsapp_chats (address, held_alerts) VALUES (?, ?)"
                " ON CONFLICT (address) DO UPDATE SET held_alerts = excluded.held_alerts",
                (address, json.dumps(alerts, ensure_ascii=False)),
            )

    async def held_alerts(self, address: str) -> list[dict[str, Any]]:
        row = await self.database.fetch_one(
            "SELECT held_alerts FROM whatsapp_chats WHERE address = ?", (address,)
        )
        if row is None or not row["held_alerts"]:
            return []
        alerts: list[dict[str, Any]] = json.loads(row["held_alerts"])
        return alerts

    async def release_alert(self, address: str, ref: str) -> None:
        """The held alert `ref` went out: forget it."""
        async with self.database.transaction() as work:
            row = await work.fetch_one(
                "SELECT held_alerts FROM whatsapp_chats WHERE address = ?", (address,)
            )
            if row is None or not row["held_alerts"]:
                return
            alerts = [held for held in json.loads(row["held_alerts"]) if held.get("ref") != ref]
            await work.execute(
                "UPDATE whatsapp_chats SET held_alerts = ? WHERE address = ?",
                (json.dumps(alerts, ensure_ascii=False) if alerts else None, address),
            )

    async def original_of(self, wamid: str) -> str:
        """The first message of which `wamid` is an updated copy, else `wamid` itself."""
        row = await self.database.fetch_one(
            "SELECT copy_of FROM whatsapp_messages WHERE wamid = ?", (wamid,)
        )
        return row["copy_of"] if row is not None and row["copy_of"] else wamid

    async def record_status(
        self,
        wamid: str,
        status: str,
        *,
        at: float,
        error_code: int | None = None,
        error: str | None = None,
    ) -> MessageStatus | None:
        """The message's status, moved forward only; None for a message palaute did not send."""
        async with self.database.transaction() as work:
            row = await work.fetch_one(
                "SELECT status FROM whatsapp_messages WHERE wamid = ?", (wamid,)
            )
            if row is None:
                return None
            if _STATUS_ORDER.get(status, 0) > _STATUS_ORDER.get(row[0] or "", 0):
                await work.execute(
                    "UPDATE whatsapp_messages SET status = ?, status_at = ?, error_code = ?,"
                    " error = ? WHERE wamid = ?",
                    (status, at, error_code, error, wamid),
                )
        return await self.message(wamid)

    async def message(self, wamid: str) -> MessageStatus | None:
        row = await self.database.fetch_one(
            "SELECT wamid, address, kind, status, error_code, error FROM whatsapp_messages"
            " WHERE wamid = ?",
            (wamid,),
        )
        if row is None:
            return None
        return MessageStatus(
            row["wamid"], row["address"], row["kind"], row["status"], row["error_code"],
            row["error"],
        )  # fmt: skip
