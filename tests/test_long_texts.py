"""Telegram's 4096 characters a message (telegram.constants.MessageLimit.MAX_TEXT_LENGTH), end to
end: relays split in order, the answer echo shortened, too long properties refused at the trigger.

Real python-telegram-bot against FakeTelegram, which refuses a text longer than 4096 characters
after entity parsing, as Telegram does.
"""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from telegram.constants import MessageLimit

from bot.cli import main
from bot.delivery.triggers import ContactSpec, TriggerRequest
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeMessage, FakeTelegram, FakeUser, fake_telegram  # noqa: F401
from tests.telegram_helpers import MovableClock, telegram_config, wait_for_messages, wait_for_text
from tests.test_alerts_telegram import GROUP, TEAM, _in_group, _shown, _wait_in_group

LIMIT = MessageLimit.MAX_TEXT_LENGTH


def _long_text(length: int, seed: str) -> str:
    """Paragraphs of sentences, as a person writes a long message, exactly `length` long."""
    sentence = f"{seed} kertoo, että paketti & lasku tulivat <vasta> kolmantena päivänä. "
    paragraph = sentence * 7 + "\n\n"
    return (paragraph * (length // len(paragraph) + 1))[:length]


def _words(texts: list[str]) -> list[str]:
    return " ".join(texts).split()


async def test_long_replies_between_team_and_customer_arrive_whole_and_in_order(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path, TEAM), clock=MovableClock())
    maija = fake.user(501, first_name="Maija")
    anna = FakeUser(701, first_name="Anna", last_name="Virtanen")
    await app.triggers.trigger(TriggerRequest("delivery", ContactSpec("telegram", str(maija.id))))
    await app.invitations.tick()
    question = await wait_for_text(fake, maija, "How likely are you to recommend our delivery")
    fake.push_callback(maija, question, question.callback_data_for("3"))
    await wait_for_text(fake, maija, "What is the main reason for your score?")
    fake.push_text(maija, "Late")
    await wait_for_text(fake, maija, "Thank you for your feedback!")
    alert = await _wait_in_group(fake, "Detractor #1")
    before = len(fake.sent_messages(maija.id))

    reply = _long_text(LIMIT, "Anna")  # as long as one Telegram message can be
    fake.push_text(anna, reply, GROUP, reply_to=alert)
    await wait_for_text(fake, maija, "You can answer here.")
    relayed = [m.text or "" for m in fake.sent_messages(maija.id)[before:]]
    assert len(relayed) >= 2 and all(len(t) <= LIMIT for t in relayed)
    assert relayed[0].startswith("A message from our team — Your feedback:")
    assert relayed[-1].endswith("— Anna. You can answer here.")
    expected = (
        f"A message from our team — Your feedback:\n\n{reply}\n\n— Anna. You can answer here."
    )
    assert _words(relayed) == expected.split()  # every word, in order

    in_group = len(_in_group(fake))
    answer = _long_text(LIMIT, "Maija")
    fake.push_text(maija, answer)
    await fake.wait_for(
        lambda: (
            "".join(_shown(m) for m in _in_group(fake)[in_group:]).count("Maija kertoo")
            == answer.count("Maija kertoo")
        ),
        message="the whole answer in the group",
        timeout=15,
    )
    posted = _in_group(fake)[in_group:]
    assert len(posted) >= 2 and all(len(_shown(m)) <= LIMIT for m in posted)
    assert all(m.reply_to is alert for m in posted)  # all in the alert's thread
    assert _words([_shown(m) for m in posted]) == f"Maija answered: {answer}".split()
    replies = await app.store.followups.replies(1)
    assert [r.text for r in replies] == [reply, answer]  # stored whole


LONG_ANSWER = """
[surveys.story]
title = "Story"
[[surveys.story.questions]]
id = "story"
type = "text"
max_length = 4000
text = "{question}"
[[surveys.story.questions]]
id = "pick"
type = "choice"
text = "Mikä sopii?"
choices = ["{label}", "Short"]
"""


async def test_the_answer_quoted_under_a_question_is_shortened_to_fit(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    question_text = "Kerro koko tarina: " + "mitä tapahtui? " * 10
    label = "Pitkä vaihtoehto " * 10
    toml = LONG_ANSWER.format(question=question_text.strip(), label=label.strip())
    app = await app_factory(telegram_config(fake, db_path, toml), clock=MovableClock())
    liisa = fake.user(511)
    await app.triggers.trigger(TriggerRequest("story", ContactSpec("telegram", str(liisa.id))))
    await app.invitations.tick()
    [question] = await wait_for_messages(fake, liisa, 1)
    story = ("Pitkä tarina alkaa. " * 300)[:4000]
    fake.push_text(liisa, story)
    await fake.wait_for(lambda: bool(question.edit_date), message="the answer echoed")
    echo = question.text or ""
    assert len(echo) <= LIMIT and echo.startswith(question_text.strip())
    assert "Your answer: Pitkä tarina alkaa." in echo and echo.endswith("…")
    [invitation] = await app.store.invitations.listing()
    answers, _ = await app.store.answers.for_invitation(invitation.id)
    assert answers["story"] == story.strip()  # stored whole

    pick: FakeMessage = await wait_for_text(fake, liisa, "Mikä sopii?")
    fake.push_callback(liisa, pick, pick.callback_data_for(label.strip()))
    await fake.wait_for(lambda: bool(pick.edit_date), message="the choice echoed")
    assert (pick.text or "").endswith(f"Your answer: {label.strip()}")  # short: not cut


async def test_a_property_too_long_for_telegram_is_refused_at_the_trigger(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path), clock=MovableClock())
    url = f"http://127.0.0.1:{app.http.port}/api/v1/touchpoints"
    auth = {"Authorization": "Bearer test-api-token"}
    body = {"touchpoint": "event", "contact": {"telegram": 521}}
    async with aiohttp.ClientSession() as http:
        too_long = {**body, "properties": {"event_name": "Gaala " * 700}}
        async with http.post(url, json=too_long, headers=auth) as response:
            error = await response.json()
            assert (response.status, error["field"]) == (422, "properties.event_name"), error
        assert "4200 characters" in error["error"] and "4096" in error["error"]
        fits = {**body, "properties": {"event_name": "Syysgaala 2026"}}
        async with http.post(url, json=fits, headers=auth) as response:
            assert response.status == 202
        # A web link has no message limit.
        web = {**too_long, "contact": {"web": "w1"}}
        async with http.post(url, json=web, headers=auth) as response:
            assert response.status in (202, 422)
            if response.status == 422:
                assert (await response.json())["field"] != "properties.event_name"
    assert len(await app.store.invitations.listing()) >= 1


def test_palaute_trigger_says_in_one_line_which_property_is_too_long(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "palaute.toml"
    config.write_text(
        f'[storage]\npath = "{db_path}"\n[telegram]\ntoken = "123:abc"\n', encoding="utf-8"
    )
    code = main(
        ["trigger", "event", "--contact", "telegram:5", "-p", f"event_name={'x' * 4100}",
         "--config", str(config)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0
    [line] = err.strip().splitlines()
    assert line.startswith("palaute trigger: error: properties.event_name: is 4100 characters")
