"""From touchpoint to sent survey: timing rules, the trigger API, and the durable outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from bot.app import PalauteApp
from bot.channels.base import Button, Channel, Limits, OutgoingPrompt, temporary_failure
from bot.delivery.triggers import ContactSpec, TriggerRequest
from storage.records import InvitationState
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config

HELSINKI = ZoneInfo("Europe/Helsinki")
TOUCHPOINTS = """
[defaults]
quiet_hours = ["21:00", "08:00"]
min_days_between_surveys = 14
timezone = "Europe/Helsinki"

[touchpoints.delivered]
survey = "nps"
delay = "30m"
remind_after = "1d"
expire_after = "3d"

[touchpoints.capped]
survey = "csat"
max_per_day = 1

[touchpoints.sampled]
survey = "csat"
sample = 0.25
"""


class RecordingChannel(Channel):
    """An in-memory chat platform: records what each chat was sent, can fail on demand."""

    name = "telegram"
    limits = Limits(per_second=1000, burst=1000, per_chat_per_second=1000, per_chat_burst=1000)

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []
        self.failures_left = 0

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send_prompt(self, address: str, prompt: OutgoingPrompt) -> str:
        if self.failures_left:
            self.failures_left -= 1
            raise temporary_failure("platform answered 502", retry_after=0.01)
        self.sent.append((address, prompt.text))
        return f"{address}:{len(self.sent)}"

    async def send_text(
        self, address: str, text: str, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> str:
        self.sent.append((address, text))
        return f"{address}:{len(self.sent)}"

    async def edit(self, address: str, message_ref: str, text: str) -> None:
        self.sent.append((address, f"edit {message_ref}: {text}"))


async def _start(
    app_factory: AppFactory, db_path: Path, clock: FakeClock
) -> tuple[PalauteApp, RecordingChannel]:
    channel = RecordingChannel()
    app = await app_factory(
        make_config(TOUCHPOINTS, db_path), clock=clock, channels={"telegram": channel}
    )
    return app, channel


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=HELSINKI)  # type: ignore[misc]


async def test_delay_then_quiet_hours_across_midnight(
    app_factory: AppFactory, db_path: Path
) -> None:
    clock = FakeClock(local(2026, 11, 23, 20, 45))
    app, channel = await _start(app_factory, db_path, clock)
    result = await app.triggers.trigger(TriggerRequest("delivered", ContactSpec("telegram", "1")))
    # 20:45 + 30 min = 21:15, inside quiet hours: waits until 08:00 the next morning.
    assert datetime.fromtimestamp(result.invitation.due_at, HELSINKI) == local(2026, 11, 24, 8, 0)
    assert await app.invitations.tick() == 0
    clock.set(local(2026, 11, 24, 8, 0))
    await app.invitations.tick()  # the scheduler's own tick may get there first
    await _until(lambda: channel.sent)
    assert channel.sent[0] == (
        "1",
        "How likely are you to recommend us to a friend or colleague?\n(0 = not at all likely, 10 = extremely likely)",
    )


async def test_quiet_hours_follow_the_recipients_time_zone(
    app_factory: AppFactory, db_path: Path
) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 19, 0, tzinfo=UTC))  # 21:00 in Helsinki
    app, _channel = await _start(app_factory, db_path, clock)
    async with app.store.database.transaction() as connection:
        contact = await app.store.contacts.ensure(
            connection, channel="telegram", address="2", now=clock.now()
        )
        await connection.execute(
            "UPDATE contacts SET timezone = 'Europe/London' WHERE id = ?", (contact,)
        )
    result = await app.triggers.trigger(TriggerRequest("delivered", ContactSpec("telegram", "2")))
    # 19:30 in London is not quiet: due 30 minutes after the touchpoint.
    assert result.invitation.due_at == clock.now() + 1800


async def test_fatigue_opt_out_sampling_and_daily_cap(
    app_factory: AppFactory, db_path: Path
) -> None:
    clock = FakeClock(local(2026, 11, 23, 12, 0))
    app, _channel = await _start(app_factory, db_path, clock)
    first = await app.triggers.trigger(TriggerRequest("delivered", ContactSpec("telegram", "3")))
    second = await app.triggers.trigger(TriggerRequest("capped", ContactSpec("telegram", "3")))
    assert first.invitation.state is InvitationState.SCHEDULED
    assert second.invitation.state is InvitationState.SUPPRESSED
    assert (
        second.invitation.reason
        == "another survey is due within 14 days (min_days_between_surveys)"
    )
    assert (
        await app.triggers.trigger(TriggerRequest("capped", ContactSpec("telegram", "4")))
    ).invitation.state is InvitationState.SCHEDULED
    capped = await app.triggers.trigger(TriggerRequest("capped", ContactSpec("telegram", "5")))
    assert (capped.invitation.state, capped.invitation.reason) == (
        InvitationState.SUPPRESSED,
        "max_per_day = 1 reached",
    )
    contact = await app.store.contacts.find("telegram", "6")
    assert contact is None
    await app.triggers.trigger(TriggerRequest("capped", ContactSpec("telegram", "6")))
    contact = await app.store.contacts.find("telegram", "6")
    assert contact is not None
    await app.store.contacts.set_opted_out(contact.id, True, now=clock.now(), reason="sent /stop")
    clock.advance(15 * 86400)
    stopped = await app.triggers.trigger(TriggerRequest("delivered", ContactSpec("telegram", "6")))
    assert stopped.invitation.reason == "the contact opted out of surveys"
    states = []
    for n in range(200):
        result = await app.triggers.trigger(
            TriggerRequest("sampled", ContactSpec("telegram", str(1000 + n)))
        )
        states.append(result.invitation.state)
    sampled = states.count(InvitationState.SCHEDULED)
    assert 20 <= sampled <= 80, sampled


async def test_reminder_then_expiry(app_factory: AppFactory, db_path: Path) -> None:
    clock = FakeClock(local(2026, 11, 23, 10, 0))
    app, channel = await _start(app_factory, db_path, clock)
    result = await app.triggers.trigger(
        TriggerRequest("delivered", ContactSpec("telegram", "7"), occurred_at=clock.now() - 1800)
    )
    await app.invitations.tick()
    await _until(lambda: len(channel.sent) == 1)
    clock.advance(86400)
    await app.invitations.tick()
    await _until(lambda: len(channel.sent) == 2)
    clock.advance(86400)
    await app.invitations.tick()
    assert len(channel.sent) == 2, "one reminder only"
    clock.advance(86400)
    await app.invitations.tick()
    invitation = await app.store.invitations.get(result.invitation.id)
    assert invitation is not None and invitation.state is InvitationState.EXPIRED
    outcome = await app.surveys.answer(invitation.id, "9", channel="telegram", address="7")
    assert outcome.closed
    await _until(
        lambda: channel.sent[-1] == ("7", "Thank you, but this survey has already closed.")
    )
    assert await app.store.answers.for_invitation(invitation.id) == ({}, set())


async def test_unreachable_ref_is_kept_and_reported(app_factory: AppFactory, db_path: Path) -> None:
    clock = FakeClock(local(2026, 11, 23, 10, 0))
    app, _channel = await _start(app_factory, db_path, clock)
    result = await app.triggers.trigger(TriggerRequest("csat", ContactSpec(ref="crm-42")))
    await app.invitations.tick()
    invitation = await app.store.invitations.get(result.invitation.id)
    assert invitation is not None and invitation.state is InvitationState.UNREACHABLE
    assert invitation.reason == "no chat identity is linked to ref:crm-42"


async def test_temporary_failures_are_retried_in_order(
    app_factory: AppFactory, db_path: Path
) -> None:
    clock = FakeClock(local(2026, 11, 23, 10, 0))
    app, channel = await _start(app_factory, db_path, clock)
    channel.failures_left = 2
    invitation = (
        await app.triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", "8")))
    ).invitation
    await app.invitations.tick()
    await app.surveys.send_text("telegram", "8", "later message")
    for _ in range(50):
        clock.advance(1)
        app.dispatcher.wake()
        await asyncio.sleep(0.02)
        if len(channel.sent) == 2:
            break
    assert [text for _, text in channel.sent] == [
        "How satisfied were you with our service?\n(1 = very dissatisfied, 5 = very satisfied)",
        "later message",
    ]
    delivered = await app.store.invitations.get(invitation.id)
    assert delivered is not None and delivered.sent_at is not None


async def test_trigger_api(app_factory: AppFactory, db_path: Path) -> None:
    clock = FakeClock(local(2026, 11, 23, 10, 0))
    app, _channel = await _start(app_factory, db_path, clock)
    url = f"http://127.0.0.1:{app.http.port}/api/v1/touchpoints"
    body = {"touchpoint": "delivered", "contact": {"telegram": 123456789}, "properties": {"order_id": "A-17"},
            "occurred_at": "2026-11-23T10:00:00+02:00"}  # fmt: skip
    auth = {"Authorization": "Bearer test-api-token"}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=body) as response:
            assert response.status == 401
        async with http.post(url, json=body, headers={"Authorization": "Bearer wrong"}) as response:
            assert response.status == 401
        async with http.post(
            url, json=body, headers={**auth, "Idempotency-Key": "order-A-17"}
        ) as response:
            assert response.status == 202
            created = await response.json()
        assert created["state"] == "scheduled" and created["contact"] == "telegram:123456789"
        assert datetime.fromisoformat(created["due_at"]) == local(2026, 11, 23, 10, 30)
        async with http.post(
            url, json=body, headers={**auth, "Idempotency-Key": "order-A-17"}
        ) as response:
            again = await response.json()
        assert again["invitation_id"] == created["invitation_id"] and again["duplicate"] is True
        async with http.post(url, data=b"{not json", headers=auth) as response:
            assert response.status == 400 and (await response.json())["field"] == "body"
        for broken, field in [
            ({**body, "contact": {"fax": 1}}, "contact"),
            ({**body, "touchpoint": "nope"}, "touchpoint"),
            ({**body, "occurred_at": "yesterday"}, "occurred_at"),
            ({**body, "properties": {"x": {"y": 1}}}, "properties.x"),
            ({**body, "extra": 1}, "extra"),
            ({"touchpoint": "event", "contact": {"slack": "U1"}}, "properties.event_name"),
        ]:
            async with http.post(url, json=broken, headers=auth) as response:
                error = await response.json()
                assert (response.status, error["field"]) == (422, field), error
        batch = [{"touchpoint": "csat", "contact": {"telegram": 500 + n}} for n in range(3)]
        async with http.post(url, json=batch, headers=auth) as response:
            assert response.status == 202 and len((await response.json())["results"]) == 3


async def _until(predicate: object, timeout: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
