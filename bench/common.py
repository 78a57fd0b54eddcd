"""What every benchmark shares: the fake Telegram (indexed for 10,000 chats), the bot process
under test, a palaute config, results files and statistics.

The fake and the simulated customers run in the benchmark's own process; the bot (palaute, or
the hand-rolled python-telegram-bot baseline) runs in a child process, so that on a 2-core
machine each side has a core and every message crosses real loopback HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import resource
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.telegram_api import FakeMessage, FakeTelegram, JSONDict

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
API_TOKEN = "bench-api-token"
BOT_TOKEN = "987654:BENCH-TOKEN"


# ------------------------------------------------------------------------------ the fake


class BenchTelegram(FakeTelegram):
    """The tests' FakeTelegram, unchanged in behaviour, with two additions for big runs:

    * messages are indexed by (chat, message_id), because the fake's own lookup walks every
      message ever sent, which would make the fake, not the bot, the bottleneck at 10,000 chats;
    * `on_message(message, arrived)` is called for every message the bot sends, which is how the
      simulated customers see their next question.
    """

    def __init__(self) -> None:
        super().__init__(token=BOT_TOKEN, bot_username="palaute_bench_bot")
        self._by_ref: dict[tuple[int, int], FakeMessage] = {}
        self.on_message: Callable[[FakeMessage, float], None] | None = None
        self.client_ports: set[int] = set()
        """The bot's TCP connections, by their local port."""

    def _new_message(self, chat: JSONDict, sender: JSONDict, **fields: Any) -> FakeMessage:
        message = super()._new_message(chat, sender, **fields)
        self._by_ref[(message.chat_id, message.message_id)] = message
        return message

    def _find_message(self, chat_id: int, message_id: int) -> FakeMessage | None:
        message = self._by_ref.get((chat_id, message_id))
        return None if message is None or message.deleted else message

    def _known_chat(self, chat_id: int) -> bool:
        return chat_id in self.users or chat_id in self._message_ids

    async def _send_message(self, request: Any) -> JSONDict:
        result = await super()._send_message(request)
        if self.on_message is not None:
            message = self._by_ref[(int(result["chat"]["id"]), int(result["message_id"]))]
            self.on_message(message, time.monotonic())
        return result

    async def _handle_api(self, request: Any) -> Any:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            self.client_ports.add(peer[1])
        return await super()._handle_api(request)

    def calls_by_method(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for call in self.calls:
            counts[call.method] = counts.get(call.method, 0) + 1
        return counts


# ------------------------------------------------------------------------------ processes


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) // 1024
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_mb": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


@dataclass
class ProcessStats:
    cpu_seconds: float
    peak_rss_mb: float
    rss_mb: float


def process_stats(pid: int) -> ProcessStats:
    """CPU time and memory of a running child, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    status = {
        line.split(":", 1)[0]: line.split(":", 1)[1].strip()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    }
    peak = int(status.get("VmHWM", "0 kB").split()[0]) / 1024
    rss = int(status.get("VmRSS", "0 kB").split()[0]) / 1024
    return ProcessStats(cpu, peak, rss)


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class BotProcess:
    """The bot under test as a child process (`python -m <module> <args>`)."""

    def __init__(
        self, module: str, args: Sequence[str], log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.module = module
        self.args = list(args)
        self.log_path = log_path
        self.env = env or {}
        self.process: asyncio.subprocess.Process | None = None
        self.final: ProcessStats | None = None

    async def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_TELEGRAM_TOKEN": BOT_TOKEN, **self.env}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", self.module, *self.args,
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        profile_dir = os.environ.get("BENCH_PROFILE_DIR")
        if profile_dir:  # py-spy (pip install py-spy) samples the bot until it exits
            spy = Path(sys.executable).with_name("py-spy")
            out = Path(profile_dir, f"{self.module}-{self.process.pid}.txt")
            await asyncio.create_subprocess_exec(
                str(spy), "record", "-p", str(self.process.pid), "-f", "raw", "-r", "250", "--threads",
                "-o", str(out), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stats(self) -> ProcessStats:
        return process_stats(self.pid)

    async def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; the stats are read just before the process goes."""
        assert self.process is not None
        if self.process.returncode is not None:
            return self.process.returncode
        with contextlib.suppress(OSError):
            self.final = self.stats()
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


# ------------------------------------------------------------------------------ palaute


SURVEYS_TOML = """
[defaults]
language = "en"
quiet_hours = "off"                  # a benchmark runs at any hour
min_days_between_surveys = 0

[surveys.storm]
title = "Answer storm"
[[surveys.storm.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us to a friend or colleague?"
low_label = "not at all likely"
high_label = "extremely likely"
[[surveys.storm.questions]]
id = "why"
type = "text"
text = "What is the main reason for your score?"
[[surveys.storm.questions]]
id = "csat"
type = "csat"
text = "How satisfied were you with our service?"
low_label = "very dissatisfied"
high_label = "very satisfied"
[[surveys.storm.thanks]]
text = "Thank you for your feedback!"

[touchpoints.storm]
survey = "storm"
expire_after = "1d"

[touchpoints.gala]
survey = "event"
expire_after = "1d"
properties = { event_name = "the gala" }

[touchpoints.visit]
survey = "csat"
expire_after = "1d"
"""


DATABASE_URL_VARIABLE = "BENCH_DATABASE_URL"
"""The variable the config reads a PostgreSQL URL from (set it in the bot's environment)."""


def palaute_config(
    workdir: Path, fake: FakeTelegram, port: int, *, extra: str = "", postgresql: bool = False
) -> Path:
    """A config file for `palaute run`: the database in `workdir` (or, with `postgresql`, at the
    URL in the bot's BENCH_DATABASE_URL), Telegram at the fake."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "palaute.toml"
    storage = (
        f'url = "${{{DATABASE_URL_VARIABLE}}}"'
        if postgresql
        else f'path = "{workdir / "palaute.db"}"'
    )
    path.write_text(
        f"[storage]\n{storage}\n\n"
        f'[server]\nhost = "127.0.0.1"\nport = {port}\napi_token = "{API_TOKEN}"\n'
        f"batch_limit = 1000\n\n"
        f'[telegram]\ntoken = "${{BENCH_TELEGRAM_TOKEN}}"\nbase_url = "{fake.base_url}"\n'
        f'mode = "polling"\n\n[team]\ndaily_summary = "off"\nweekly_digest = false\n'
        + SURVEYS_TOML
        + extra,
        encoding="utf-8",
    )
    return path


def palaute_process(
    config: Path, workdir: Path, *, limits: str, database_url: str | None = None, name: str = "bot"
) -> BotProcess:
    return BotProcess(
        "bench.palaute_bot",
        ["--config", str(config), "--limits", limits],
        workdir / f"{name}.log",
        {DATABASE_URL_VARIABLE: database_url} if database_url else None,
    )


async def empty_postgresql(url: str) -> None:
    """Empty the PostgreSQL database at `url` (every table, palaute's or not), so that each run
    starts from a fresh schema as each SQLite run starts from a new file."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


async def wait_until(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    interval: float = 0.01,
    give_up: bool = False,
) -> None:
    """Wait for `check()`; past `timeout`, raise, or with `give_up` just stop waiting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            if give_up:
                print(f"  gave up after {timeout:.0f} s waiting for {what}", file=sys.stderr)
                return
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


async def trigger(
    port: int, touchpoint: str, chat_ids: Sequence[int], *, batch: int = 1000
) -> float:
    """Record `touchpoint` for every chat through the trigger API; returns the seconds it took."""
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for first in range(0, len(chat_ids), batch):
            body = [
                {"touchpoint": touchpoint, "contact": {"telegram": chat}}
                for chat in chat_ids[first : first + batch]
            ]
            async with session.post(
                f"http://127.0.0.1:{port}/api/v1/touchpoints", json=body
            ) as response:
                if response.status >= 300:
                    raise RuntimeError(f"trigger API: {response.status} {await response.text()}")
    return time.monotonic() - started


# ------------------------------------------------------------------------------ results


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {
        "benchmark": name,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        **data,
    }
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
