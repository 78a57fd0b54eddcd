"""Stop means stop: what was queued for a customer before they sent /stop does not go out after
it; the opt-out is checked in the transaction that claims a message (and again right before a
message that waited for its turn is sent). Only the goodbye of the stop itself still goes."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

from bot.delivery.triggers import ContactSpec, TriggerRequest
from conversations.texts.en import TEXTS
from storage.records import InvitationState
from tests.conftest import AppFactory
from tests.database_rows import rows, until_rows
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.telegram_helpers import telegram_config, texts, wait_for_text

GOODBYE = TEXTS["stopped"]
CUSTOMERS = [980_000 + n for n in range(100)]
STOPPING = CUSTOMERS[-5:]
"""Invited last: their surveys wait in the outbox behind the others' when they send /stop."""


async def test_customers_who_send_stop_while_their_survey_is_queued_get_only_the_goodbye(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    fake = fake_telegram
    # A slow platform: every message takes a second to be confirmed.
    fake.failure_rate = 1.0
    fake.failure_methods = {"sendMessage"}
    fake.failure_kinds = ("slow",)
    fake.slow_response_seconds = 1.0
    users = {chat: fake.user(chat) for chat in CUSTOMERS}
    app = await app_factory(telegram_config(fake, database_location))
    for chat in CUSTOMERS:
        await app.triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", str(chat))))
    await app.invitations.tick()
    for chat in STOPPING:
        fake.push_text(users[chat], "/stop")

    await fake.wait_for(
        lambda: (
            all(GOODBYE in texts(fake, users[chat]) for chat in STOPPING)
            and all(fake.sent_messages(chat) for chat in CUSTOMERS[:-5])
        ),
        timeout=60,
        message=lambda: (
            f"goodbyes and surveys; the stopping got {[texts(fake, users[c]) for c in STOPPING]}"
        ),
    )
    for chat in STOPPING:
        assert texts(fake, users[chat]) == [GOODBYE], f"{chat} got more than the goodbye"
    dropped = await rows(
        app.store,
        "SELECT state, last_error FROM outbox WHERE kind = 'prompt' AND address IN"
        f" ({','.join('?' * len(STOPPING))})",
        tuple(str(chat) for chat in STOPPING),
    )
    assert len(dropped) == len(STOPPING)
    assert {state for state, _ in dropped} == {"failed"}
    assert all("opted out" in str(error) for _, error in dropped), dropped
    states = await app.store.invitations.counts_by_state()
    assert states.get(InvitationState.SUPPRESSED.value) == len(STOPPING), states


async def test_a_survey_waiting_for_its_turn_in_the_chat_is_checked_again_before_it_goes(
    app_factory: AppFactory, fake_telegram: FakeTelegram, database_location: str
) -> None:
    """Claimed before the /stop, the survey then waits for the chat's rate limit (Telegram: one
    message a second after a short burst); the /stop lands meanwhile."""
    fake = fake_telegram
    user = fake.user(990_001)
    app = await app_factory(telegram_config(fake, database_location))
    for _ in range(3):  # the chat's burst is used up by the replies to these
        fake.push_text(user, "/help")
    await fake.wait_for(lambda: len(texts(fake, user)) == 3, message="three help replies")
    await app.triggers.trigger(TriggerRequest("csat", ContactSpec("telegram", str(user.id))))
    await app.invitations.tick()
    await until_rows(
        app.store,
        "SELECT state FROM outbox WHERE kind = 'prompt'",
        lambda found: found == [("sending",)],
        what="the survey to be claimed",
    )
    fake.push_text(user, "/stop")
    await wait_for_text(fake, user, GOODBYE)
    assert texts(fake, user)[3:] == [GOODBYE]
    [(state, error)] = await rows(
        app.store, "SELECT state, last_error FROM outbox WHERE kind = 'prompt'"
    )
    assert state == "failed" and "opted out" in str(error)
