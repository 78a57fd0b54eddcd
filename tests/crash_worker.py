"""A palaute process for the crash test: its one chat platform is an HTTP recorder in the test.

Run as `python -m tests.crash_worker DB_PATH_OR_URL RECORDER_URL`; the test SIGKILLs it mid-batch.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

import aiohttp

from bot.app import PalauteApp
from bot.channels.base import Button, Channel, Limits, OutgoingPrompt, temporary_failure
from tests.conftest import make_config


class HttpRecorderChannel(Channel):
    """Posts every message to the recorder, as a chat platform's API would receive it."""

    name = "telegram"
    limits = Limits(per_second=200, burst=20, per_chat_per_second=1, per_chat_burst=3)

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self.session:
            await self.session.close()

    async def _post(self, address: str, text: str) -> str:
        assert self.session is not None
        try:
            async with self.session.post(
                self.url, json={"chat": address, "text": text}
            ) as response:
                return str((await response.json())["message_id"])
        except aiohttp.ClientError as error:
            raise temporary_failure(str(error)) from error

    async def send_prompt(self, address: str, prompt: OutgoingPrompt) -> str:
        return await self._post(address, prompt.text)

    async def send_text(
        self, address: str, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> str:
        return await self._post(address, text)

    async def edit(self, address: str, message_ref: str, text: str) -> None:
        await self._post(address, f"edit:{text}")


async def main(location: str, url: str) -> None:
    """`location`: a SQLite file, or a postgresql:// URL."""
    config = make_config("", Path(location))
    if location.startswith("postgresql://"):
        config = make_config("", Path("unused.db"))
        config = dataclasses.replace(
            config, storage=dataclasses.replace(config.storage, url=location)
        )
    app = PalauteApp(config, channels={"telegram": HttpRecorderChannel(url)})
    await app.run_until_signal()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
