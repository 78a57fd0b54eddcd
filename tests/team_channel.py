"""An in-memory channel for reporting tests: records team messages, edits and prompts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from bot.channels.base import Button, Channel, Limits, OutgoingPrompt
from bot.team.document import TeamDocument


@dataclass
class Sent:
    address: str
    ref: str
    message: TeamDocument


class RecordingChannel(Channel):
    limits = Limits(per_second=1000, burst=1000, per_chat_per_second=1000, per_chat_burst=1000)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.team: list[Sent] = []
        self.team_edits: list[Sent] = []
        self.prompts: list[tuple[str, OutgoingPrompt]] = []
        self.texts: list[tuple[str, str]] = []
        self.edits: list[tuple[str, str, str]] = []
        self._counter = 0
        self.gate: asyncio.Event | None = None
        """While set and not yet released, team messages wait (a slow platform)."""

    def _ref(self, address: str) -> str:
        self._counter += 1
        return f"{address}:{self._counter}"

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

    async def send_prompt(self, address: str, prompt: OutgoingPrompt) -> str:
        self.prompts.append((address, prompt))
        return self._ref(address)

    async def send_text(
        self, address: str, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> str:
        self.texts.append((address, text))
        return self._ref(address)

    async def edit(self, address: str, message_ref: str, text: str) -> None:
        self.edits.append((address, message_ref, text))

    async def send_team(self, address: str, message: TeamDocument) -> str:
        if self.gate is not None:
            await self.gate.wait()
        ref = self._ref(address)
        self.team.append(Sent(address, ref, message))
        return ref

    async def edit_team(self, address: str, message_ref: str, message: TeamDocument) -> None:
        self.team_edits.append(Sent(address, message_ref, message))


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until the dispatcher (a background task) has done what `check` looks for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the dispatcher")
        await asyncio.sleep(0.01)


TEAM_TOML = """
[slack]
bot_token = "xoxb-test"
app_token = "xapp-test"
[telegram]
token = "123:test"
[team]
report_to = ["slack:CTEAM", "telegram:-1001"]
daily_summary = "09:00"
timezone = "Europe/Helsinki"
min_n = 5
"""


def team_channels() -> tuple[dict[str, Channel], RecordingChannel, RecordingChannel]:
    """Recording Slack and Telegram channels (the app builds the web channel itself)."""
    slack = RecordingChannel("slack")
    telegram = RecordingChannel("telegram")
    return {"slack": slack, "telegram": telegram}, slack, telegram
