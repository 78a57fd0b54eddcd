"""`palaute run --config FILE` as a real child process, talking to a FakeTelegram in the test.

The fault tests SIGKILL and SIGTERM it; everything it logs goes to a file the test can read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp

from tests.any_time import at_any_time
from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
TOKEN_VARIABLE = "PALAUTE_TEST_TELEGRAM_TOKEN"


def write_config(folder: Path, fake: FakeTelegram, toml: str = "") -> Path:
    """A config file: the database in `folder`, Telegram (polling) at the fake, no reports."""
    path = folder / "palaute.toml"
    path.write_text(
        at_any_time(
            f'[storage]\npath = "{folder / "palaute.db"}"\n\n'
            '[server]\nhost = "127.0.0.1"\nport = 0\napi_token = "${PALAUTE_TEST_API_TOKEN}"\n\n'
            f'[telegram]\ntoken = "${{{TOKEN_VARIABLE}}}"\nbase_url = "{fake.base_url}"\n'
            'mode = "polling"\n\n[team]\ndaily_summary = "off"\nweekly_digest = false\n\n' + toml
        ),
        encoding="utf-8",
    )
    return path


def palaute_command() -> list[str]:
    script = Path(sys.executable).with_name("palaute")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]


class PalauteProcess:
    def __init__(
        self,
        config: Path,
        fake: FakeTelegram,
        *,
        log_level: str = "INFO",
        environ: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.fake = fake
        self.log_level = log_level
        self.environ = environ or {}
        self.log_path = config.with_name("palaute.log")
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            TOKEN_VARIABLE: self.fake.token,
            "PALAUTE_TEST_API_TOKEN": "fault-test-api-token",
            "PTB_TIMEDELTA": "true",
            **self.environ,
        }
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *palaute_command(), "run", "--config", str(self.config),
                "--log-level", self.log_level,
                cwd=ROOT, env=env, stdout=log, stderr=log,
            )  # fmt: skip

    async def wait_polling(self, timeout: float = 20.0) -> None:
        """Until palaute's getUpdates long poll is waiting at the fake (it is up)."""
        await self.fake.wait_for(
            lambda: self.fake.long_polls_waiting > 0 or self.exited,
            timeout,
            message=lambda: f"palaute to poll Telegram; its log:\n{self.log()}",
        )
        assert not self.exited, f"palaute exited: {self.log()}"

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and the exit code (SIGKILL after `timeout`, then the test fails on it)."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(
                f"palaute did not stop in {timeout}s; log:\n{self.log()}"
            ) from None

    async def wait(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    async def ensure_stopped(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            with contextlib.suppress(ProcessLookupError):
                await self.process.wait()

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def query(db_path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """A read of the database file as another process sees it."""
    with contextlib.closing(sqlite3.connect(db_path)) as connection:
        return connection.execute(sql, params).fetchall()


def integrity(db_path: Path) -> str:
    return str(query(db_path, "PRAGMA integrity_check")[0][0])


async def wait_for_http(port: int, timeout: float = 30.0) -> None:
    """Until palaute's HTTP server on `port` answers its health check."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if loop.time() > deadline:
                raise TimeoutError(f"palaute did not answer on port {port}")
            await asyncio.sleep(0.05)
