"""Several `palaute run` workers on one PostgreSQL database, as real processes against the fake
Telegram: a blast shared by three workers survives one of them being SIGKILLed, and the work
that runs once (the daily summary, the invitation tick, Telegram's polling) moves on when the
lease holder dies."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest_asyncio

from bot.clock import SystemClock
from bot.config import parse_config
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.services import trigger_service
from bot.team.reports.jobs import SINCE_KEY
from storage.store import Store
from tests.any_time import at_any_time
from tests.fakes.telegram_api import FakeTelegram, RecordedCall, fake_telegram  # noqa: F401
from tests.palaute_process import TOKEN_VARIABLE, PalauteProcess, wait_for_http
from tests.postgres_databases import new_database

URL_VARIABLE = "PALAUTE_TEST_DATABASE_URL"
API_TOKEN_VARIABLE = "PALAUTE_TEST_API_TOKEN"
API_TOKEN = "fault-test-api-token"
"""What tests/palaute_process.py gives its children."""
SECRET_VARIABLE = "PALAUTE_TEST_WEBHOOK_SECRET"
SECRET = "several-workers-webhook-secret"
CONTACTS = 1000
FIRST_CHAT = 700_000
GREETED = 50
"""Chats that get a text queued before their survey: it must reach them first."""
GROUP = -1001234567890
GUARD = 180.0
"""Seconds before a wait gives up: a guard against a hang, not a measure of speed."""


def _config(
    folder: Path, fake: FakeTelegram, team: str, *, port: int = 0, webhook: bool = False
) -> Path:
    folder.mkdir()
    path = folder / "palaute.toml"
    server = (
        f'[server]\nhost = "127.0.0.1"\nport = {port}\napi_token = "${{{API_TOKEN_VARIABLE}}}"\n'
    )
    mode = 'mode = "polling"\n'
    if webhook:
        server += 'public_url = "https://palaute.example"\n'
        mode = f'mode = "webhook"\nwebhook_secret = "${{{SECRET_VARIABLE}}}"\n'
    path.write_text(
        at_any_time(
            f'[storage]\nurl = "${{{URL_VARIABLE}}}"\n\n{server}\n'
            f'[telegram]\ntoken = "${{{TOKEN_VARIABLE}}}"\nbase_url = "{fake.base_url}"\n'
            f"{mode}\n{team}"
        ),
        encoding="utf-8",
    )
    return path


NO_REPORTS = '[team]\ndaily_summary = "off"\nweekly_digest = false\n'


@pytest_asyncio.fixture
async def database(postgres_server: str) -> AsyncIterator[str]:
    async with new_database(postgres_server, migrated=True) as url:
        yield url


async def _workers(
    tmp_path: Path, fake: FakeTelegram, url: str, count: int, team: str
) -> list[PalauteProcess]:
    workers = [
        PalauteProcess(
            _config(tmp_path / f"worker{n}", fake, team), fake, environ={URL_VARIABLE: url}
        )
        for n in range(count)
    ]
    for worker in workers:
        await worker.start()
    return workers


async def _value(url: str, sql: str, *args: object) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


async def _until(
    what: str, check: object, workers: list[PalauteProcess], *, every: float = 0.25
) -> None:
    assert callable(check)
    deadline = time.monotonic() + GUARD
    while not await check():
        crashed = [w for w in workers if w.exited and w.process and w.process.returncode != -9]
        assert not crashed, f"a worker exited: {crashed[0].log()}"
        assert time.monotonic() < deadline, f"waited {GUARD:.0f} s for {what}; logs:\n" + (
            "\n".join(w.log()[-3000:] for w in workers)
        )
        await asyncio.sleep(every)


def _most_in_one_second(calls: list[RecordedCall]) -> int:
    times = sorted(call.timestamp for call in calls)
    most = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_three_workers_share_a_blast_and_survive_a_sigkill(
    tmp_path: Path, fake_telegram: FakeTelegram, database: str
) -> None:
    fake = fake_telegram
    chats = [FIRST_CHAT + n for n in range(CONTACTS)]
    for chat in chats:
        fake.user(chat)
    # Queued before the workers start (as `palaute trigger` does), so that the test's own
    # process, where the fake Telegram counts each request's arrival, is idle during the blast.
    store = await Store.open(database)
    try:
        config = parse_config(at_any_time(""), environ={})
        async with store.database.transaction() as work:
            for chat in chats[:GREETED]:
                await store.outbox.enqueue(
                    work,
                    channel="telegram",
                    address=str(chat),
                    kind="text",
                    payload={"text": "Hello from the shop"},
                    now=time.time(),
                )
        triggers = trigger_service(store, config, SystemClock(), channels=["telegram"])
        for chat in chats:
            await triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", str(chat))))
    finally:
        await store.close()
    # They join one by one while the first is sending: each slows down to its share.
    workers = await _workers(tmp_path, fake, database, 3, NO_REPORTS)
    try:

        def prompts() -> list[int]:
            return [m.chat_id for m in fake.sent_messages() if m.text and "Hello" not in m.text]

        async def a_third_sent() -> bool:
            return len(prompts()) >= CONTACTS // 3

        await _until("a third of the blast", a_third_sent, workers, every=0.1)
        victim = workers[1]
        assert victim.process is not None
        # Frozen first, so that what it has in flight can be read, then killed.
        victim.process.send_signal(signal.SIGSTOP)
        in_flight = await _in_flight_of(database, victim.process.pid)
        victim.kill()
        await victim.wait()
        killed_at = time.monotonic()  # the fake's clock (RecordedCall.timestamp)
        sent_at_kill = len(prompts())
        assert sent_at_kill < CONTACTS, "the kill should land mid-blast"

        # One connection, polled twice a second: the fake counts arrivals in this process, and
        # a busy test loop would bunch them.
        watcher = await asyncpg.connect(database)
        try:

            async def all_sent() -> bool:
                if len(set(prompts())) < CONTACTS:
                    return False
                waiting = await watcher.fetchval(
                    "SELECT COUNT(*) FROM outbox WHERE state <> 'sent'"
                )
                return bool(waiting == 0)

            await _until("every invitation", all_sent, workers, every=0.5)
        finally:
            await watcher.close()
        for worker in (workers[0], workers[2]):
            assert await worker.terminate() == 0, worker.log()
    finally:
        for worker in workers:
            await worker.ensure_stopped()

    per_chat = Counter(prompts())
    assert set(per_chat) == set(chats), "every invitation was delivered"
    sent_twice = {chat for chat, n in per_chat.items() if n > 1}
    greeted_twice = {
        chat
        for chat, n in Counter(
            m.chat_id for m in fake.sent_messages() if m.text == "Hello from the shop"
        ).items()
        if n > 1
    }
    assert sent_twice | greeted_twice <= in_flight, (
        f"duplicates only of what the killed worker had in flight: {sent_twice | greeted_twice}"
        f" not all in {in_flight}"
    )
    for chat in chats[:GREETED]:
        texts = [m.text or "" for m in fake.sent_messages(chat)]
        assert texts[0] == "Hello from the shop" and "Hello" not in texts[-1], texts
    sends = [c for c in fake.calls_to("sendMessage") if c.ok]
    refused = [c for c in fake.calls if c.fault and c.fault.startswith("rate_limit")]
    first_send = sends[0].timestamp
    assert not refused, (
        f"Telegram refused {len(refused)} for the pace ({Counter(c.fault for c in refused)}),"
        f" at {[round(c.timestamp - first_send, 2) for c in refused]} s; the kill at"
        f" {killed_at - first_send:.2f} s"
    )
    # Telegram's 30 messages a second for a bot (PTB's FloodLimit.MESSAGES_PER_SECOND).
    assert _most_in_one_second(sends) <= 30
    print(
        f"killed after {sent_at_kill} of {CONTACTS}; {len(in_flight)} in flight on it;"
        f" {len(sent_twice | greeted_twice)} sent twice"
    )


async def _in_flight_of(url: str, pid: int) -> set[int]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT address FROM outbox WHERE state = 'sending' AND claimed_by ="
            " (SELECT id FROM workers WHERE pid = $1)",
            pid,
        )
    finally:
        await connection.close()
    return {int(row["address"]) for row in rows}


def _holder_of(workers: list[PalauteProcess]) -> PalauteProcess:
    holders = [w for w in workers if not w.exited and "holds the work lease" in w.log()]
    assert len(holders) == 1, [w.log()[-2000:] for w in workers]
    return holders[0]


async def test_the_daily_summary_is_posted_once_when_the_lease_holder_dies(
    tmp_path: Path, fake_telegram: FakeTelegram, database: str
) -> None:
    fake = fake_telegram
    now = datetime.now(UTC)
    due = (now - timedelta(minutes=5)).strftime("%H:%M")  # due at start, on any day and hour
    team = (
        f'[team]\ntimezone = "UTC"\nreport_to = ["telegram:{GROUP}"]\n'
        f'daily_summary = "{due}"\nweekly_digest = false\n'
    )
    store = await Store.open(database)
    try:
        # Installed two days ago: today's summary is due, not one from before palaute ran.
        await store.settings.get_or_set(SINCE_KEY, repr(now.timestamp() - 2 * 86400))
    finally:
        await store.close()
    customer = fake.user(800_001)
    workers = await _workers(tmp_path, fake, database, 2, team)
    try:

        async def summary_posted() -> bool:
            return any("Feedback summary" in (m.text or "") for m in fake.sent_messages(GROUP))

        await _until("the daily summary", summary_posted, workers)
        first = _holder_of(workers)
        first.kill()
        await first.wait()
        survivor = next(w for w in workers if w is not first)

        async def taken_over() -> bool:
            return "holds the work lease" in survivor.log()

        await _until("another worker to take the lease", taken_over, workers)
        # The new holder runs the periodic work: an invitation queued from outside (no worker
        # is told) goes out with its tick, and its customer's answer comes in by its polling.
        store = await Store.open(database)
        try:
            config = parse_config(at_any_time(""), environ={})
            triggers = trigger_service(store, config, SystemClock(), channels=["telegram"])
            await triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", "800001")))
        finally:
            await store.close()

        async def asked() -> bool:
            return bool(fake.sent_messages(customer.id))

        await _until("the survey, sent by the new lease holder's tick", asked, workers)
        question = fake.sent_messages(customer.id)[-1]
        fake.push_callback(customer, question, question.callback_data_for("5"))

        async def answered() -> bool:
            return await _value(database, "SELECT COUNT(*) FROM answers") == 1

        await _until("the answer, taken by the new holder's polling", answered, workers)
        assert await survivor.terminate() == 0, survivor.log()
    finally:
        for worker in workers:
            await worker.ensure_stopped()
    # The summary is its chart, then its text: each once.
    summaries = fake.sent_messages(GROUP)
    assert [bool(m.photo) for m in summaries] == [True, False], [m.text for m in summaries]
    assert "Feedback summary" in (summaries[1].text or "")
    assert await _value(database, "SELECT COUNT(*) FROM team_reports") == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_retry_landing_on_another_worker_is_stored_once(
    tmp_path: Path, fake_telegram: FakeTelegram, database: str
) -> None:
    """Behind a load balancer a retry may reach another worker: a trigger with the same
    Idempotency-Key, and a Telegram webhook update delivered to two workers at once."""
    fake = fake_telegram
    customer = fake.user(900_001)
    ports = [_free_port(), _free_port()]
    workers = [
        PalauteProcess(
            _config(tmp_path / f"worker{n}", fake, NO_REPORTS, port=port, webhook=True),
            fake,
            environ={URL_VARIABLE: database, SECRET_VARIABLE: SECRET},
        )
        for n, port in enumerate(ports)
    ]
    try:
        for worker in workers:
            await worker.start()
        for port in ports:
            await wait_for_http(port, GUARD)
        body = {"touchpoint": "csat", "contact": {"telegram": str(customer.id)}}
        headers = {"Authorization": f"Bearer {API_TOKEN}", "Idempotency-Key": "order-7"}
        answers: list[tuple[int, dict[str, object]]] = []
        async with aiohttp.ClientSession() as http:
            for port in ports:
                url = f"http://127.0.0.1:{port}/api/v1/touchpoints"
                async with http.post(url, json=body, headers=headers) as response:
                    answers.append((response.status, await response.json()))
        assert [status for status, _ in answers] == [202, 200], answers
        assert answers[1][1]["duplicate"] is True

        async def asked() -> bool:
            return bool(fake.sent_messages(customer.id))

        await _until("the survey", asked, workers)
        question = fake.sent_messages(customer.id)[0]
        update = fake.push_callback(customer, question, question.callback_data_for("5"))
        async with aiohttp.ClientSession() as http:

            async def deliver(port: int) -> int:
                async with http.post(
                    f"http://127.0.0.1:{port}/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                ) as response:
                    return response.status

            assert await asyncio.gather(*(deliver(port) for port in ports)) == [200, 200]

        async def handled() -> bool:
            done = await _value(
                database,
                "SELECT COUNT(*) FROM inbox WHERE external_id = $1 AND processed_at IS NOT NULL",
                str(update["update_id"]),
            )
            waiting = await _value(database, "SELECT COUNT(*) FROM outbox WHERE state <> 'sent'")
            return done == 1 and waiting == 0 and len(fake.sent_messages(customer.id)) >= 2

        await _until("the answer handled and its next question sent", handled, workers)
        for worker in workers:
            assert await worker.terminate() == 0, worker.log()
    finally:
        for worker in workers:
            await worker.ensure_stopped()
    assert await _value(database, "SELECT COUNT(*) FROM invitations") == 1
    assert await _value(database, "SELECT COUNT(*) FROM answers") == 1
    # The question, then the next one (the "why?") once; the tapped question edited in place.
    assert len(fake.sent_messages(customer.id)) == 2, [
        m.text for m in fake.sent_messages(customer.id)
    ]
