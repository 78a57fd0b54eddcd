"""The database misbehaves: locked by another process, disk full, read-only, unusable at start.

palaute says what is wrong, keeps running (or does not start, with a one-line reason), loses
no answer that Telegram handed over, and leaves a database that passes integrity_check.
"""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

import storage.database
from bot.app import PalauteApp
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.palaute_process import ROOT, integrity, palaute_command
from tests.telegram_helpers import telegram_config, wait_for_text

API_TOKEN = "test-api-token"  # tests.conftest.make_config's


@contextlib.asynccontextmanager
async def locked_by_another_process(db_path: Path, seconds: float) -> AsyncIterator[None]:
    """Another program holds the database's write lock for `seconds` (from entering)."""
    script = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "c.execute('COMMIT')\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, str(db_path), str(seconds),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    assert (await process.stdout.readline()).strip() == b"locked"
    try:
        yield
    finally:
        await process.wait()


async def _post_touchpoint(
    app: PalauteApp, chat: int, touchpoint: str = "csat", properties: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    body = {"touchpoint": touchpoint, "contact": {"telegram": chat}, "properties": properties or {}}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{app.http.port}/api/v1/touchpoints",
            json=body,
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as response,
    ):
        return response.status, await response.json()


async def _health_seconds(app: PalauteApp) -> float:
    """How long /healthz takes: the event loop is not blocked while the database waits."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{app.http.port}/healthz") as response,
    ):
        assert response.status == 200
    return loop.time() - started


async def test_a_briefly_locked_database_only_delays_a_touchpoint(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path))
    user = fake.user(860_001)
    loop = asyncio.get_running_loop()
    async with locked_by_another_process(db_path, 1.0):
        started = loop.time()
        posted = asyncio.create_task(_post_touchpoint(app, user.id))
        await asyncio.sleep(0.2)
        assert await _health_seconds(app) < 0.5  # palaute waits without blocking
        assert not posted.done()
        status, body = await posted
    assert status == 202, body
    assert loop.time() - started >= 0.7
    await wait_for_text(fake, user, "How satisfied were you with our service?")
    assert integrity(db_path) == "ok"


async def test_a_lock_held_too_long_is_reported_and_palaute_carries_on(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(storage.database, "BUSY_TIMEOUT_MS", 300)
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path))
    user = fake.user(860_002)
    fake.push_text(user, "/start")
    await wait_for_text(fake, user, "Hi!")
    async with locked_by_another_process(db_path, 2.0):
        status, body = await _post_touchpoint(app, user.id)
        assert status == 503
        assert (
            body["error"] == f"the database {db_path} is locked by another process: try again later"
        )
        fake.push_text(user, "/help")  # an update arrives while palaute cannot store it
        await asyncio.sleep(0.6)
        assert await _health_seconds(app) < 0.5
    assert "a touchpoint could not be stored: the database" in caplog.text
    # The lock is gone: the update Telegram still held is handled, new touchpoints work.
    await fake.wait_for(lambda: len(fake.sent_messages(user.id)) >= 2, 10)
    status, body = await _post_touchpoint(app, user.id)
    assert status == 202, body
    await wait_for_text(fake, user, "How satisfied were you with our service?")
    assert integrity(db_path) == "ok"


NOTES = """
[surveys.notes]
title = "Notes"
[[surveys.notes.questions]]
id = "note"
type = "text"
text = "Tell us everything."
max_length = 4000
[[surveys.notes.thanks]]
text = "Thank you for your notes!"
"""
LONG = "Jonot olivat pitkät ja ämpärit loppuivat. " * 90
"""A long answer: stored, it needs new database pages (SQLite spills it to overflow pages)."""


def _limit_palaute_writes(app: PalauteApp, pragma: str) -> None:
    """Fault injection on palaute's own write connection (these pragmas are per connection)."""
    app.store.database._writer._conn.execute(pragma)


def _disk_full(app: PalauteApp) -> None:
    """The database may not grow: every write that needs a new page fails as on a full disk."""
    pages = app.store.database._writer._conn.execute("PRAGMA page_count").fetchone()[0]
    _limit_palaute_writes(app, f"PRAGMA max_page_count = {pages}")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "lift", "described"),
    [
        (
            _disk_full,
            lambda app: _limit_palaute_writes(app, "PRAGMA max_page_count = 1073741823"),
            "the disk holding {db} is full",
        ),
        (
            lambda app: _limit_palaute_writes(app, "PRAGMA query_only = ON"),
            lambda app: _limit_palaute_writes(app, "PRAGMA query_only = OFF"),
            "the database {db} is read-only",
        ),
    ],
    ids=["disk-full", "read-only"],
)
async def test_a_database_that_cannot_be_written_loses_no_answer(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
    fault: Callable[[PalauteApp], None],
    lift: Callable[[PalauteApp], None],
    described: str,
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path, NOTES))
    user = fake.user(860_003)
    status, _body = await _post_touchpoint(app, user.id, "notes")
    assert status == 202
    await wait_for_text(fake, user, "Tell us everything.")

    fault(app)
    fake.push_text(user, LONG)  # the customer answers while palaute cannot store it
    status, body = await _post_touchpoint(app, 860_004, "notes", properties={"order": LONG * 3})
    message = described.format(db=db_path)
    assert (status, body.get("error")) == (503, f"{message}: try again later")
    await asyncio.sleep(1.5)
    assert await _health_seconds(app) < 0.5  # still running
    assert message in caplog.text
    assert fake.pending_updates, "an update palaute could not store stays with Telegram"
    assert fake.sent_messages(user.id)[-1].text == "Tell us everything."

    lift(app)
    # The poller backs off while it cannot store (up to 30 s), then fetches the update again.
    await fake.wait_for(
        lambda: fake.sent_messages(user.id)[-1].text == "Thank you for your notes!", 40
    )
    [invitation] = await app.store.invitations.listing()
    answers, _skipped = await app.store.answers.for_invitation(invitation.id)
    assert answers == {"note": LONG.strip()}
    assert integrity(db_path) == "ok"


async def _run_palaute(config_text: str, folder: Path) -> tuple[int, str]:
    config = folder / "palaute.toml"
    config.write_text(config_text, encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        *palaute_command(), "run", "--config", str(config),
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("palaute started on a database it cannot use") from None
    return process.returncode or 0, out.decode()


async def test_palaute_does_not_start_on_a_database_it_cannot_use(tmp_path: Path) -> None:
    missing = tmp_path / "no such folder" / "palaute.db"
    code, out = await _run_palaute(f'[storage]\npath = "{missing}"\n[server]\nport = 0\n', tmp_path)
    assert code == 1, out
    assert f"palaute: cannot open the database {missing}" in out
    assert "Traceback" not in out

    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"this is no SQLite database, just bytes " * 200)
    code, out = await _run_palaute(f'[storage]\npath = "{damaged}"\n[server]\nport = 0\n', tmp_path)
    assert code == 1, out
    assert f"palaute: {damaged} is not a palaute database or is damaged" in out
    assert "Traceback" not in out
    assert damaged.read_bytes() == b"this is no SQLite database, just bytes " * 200
