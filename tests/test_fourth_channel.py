"""A fourth channel from tests/ alone (tests/parrot/), added by the recipe in
docs/architecture.md ("How to add a channel"), runs a survey end to end against a fake
platform on loopback: its config section, the trigger API with its addresses, prompts out,
answers in through the shared durable inbox (a redelivered event stored once), stored, scored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.app import PalauteApp
from bot.channels import registry
from bot.config import ConfigError, load_config, parse_config
from bot.team.scores import live_as_of, rolling_scores
from tests.any_time import at_any_time
from tests.conftest import AppFactory, make_config
from tests.fakes.parrot_api import FakeParrot, ParrotMessage
from tests.parrot import SPEC

NPS_EN = "How likely are you to recommend us to a friend or colleague?"
USER = "p-42"


@pytest.fixture
def parrot_registered() -> Iterator[None]:
    # Step 5 of the recipe: one line adds the channel (here at run time, from tests/).
    registry.register(SPEC)
    yield
    registry.unregister(SPEC.name)


@pytest_asyncio.fixture
async def fake_parrot() -> AsyncIterator[FakeParrot]:
    fake = FakeParrot()
    await fake.start()
    yield fake
    await fake.stop()


def parrot_toml(fake: FakeParrot) -> str:
    return f'[parrot]\napi_url = "{fake.base_url}"\ntoken = "${{PARROT_TOKEN}}"\n'


async def eventually(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        await asyncio.sleep(0.02)
    return found


async def post_touchpoint(app: PalauteApp, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{app.http.port}/api/v1/touchpoints"
    headers = {"Authorization": "Bearer test-api-token"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


def newest(fake: FakeParrot, text: str) -> Callable[[], ParrotMessage | None]:
    return lambda: next((m for m in reversed(fake.sent_to(USER)) if text in m.text), None)


@pytest.mark.usefixtures("parrot_registered")
def test_a_bad_key_in_its_section_is_one_line_with_file_and_line(
    tmp_path: Path, fake_parrot: FakeParrot
) -> None:
    path = tmp_path / "palaute.toml"
    path.write_text(
        at_any_time(
            f'[parrot]\ntoken = "${{PARROT_TOKEN}}"\napi_url = "ftp://{USER}"\ncolour = 1\n'
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, {"PARROT_TOKEN": fake_parrot.token})
    written = path.read_text(encoding="utf-8").splitlines()
    api_url_line = written.index(f'api_url = "ftp://{USER}"') + 1
    colour_line = written.index("colour = 1") + 1
    assert caught.value.lines == [
        f"{path}:{colour_line}: parrot.colour: unknown key (expected one of: api_url, token)",
        f"{path}:{api_url_line}: parrot.api_url: must be an http:// or https:// address",
    ]
    assert parse_config("", environ={}).channels == ["web"]  # no [parrot] section: not run


@pytest.mark.usefixtures("parrot_registered")
async def test_a_survey_runs_through_a_fourth_channel_from_tests_alone(
    app_factory: AppFactory, db_path: Path, fake_parrot: FakeParrot
) -> None:
    config = make_config(parrot_toml(fake_parrot), db_path, {"PARROT_TOKEN": fake_parrot.token})
    assert config.channels == ["web", "parrot"]
    assert config.secrets() == ["test-api-token", fake_parrot.token]  # scrubbed from logs
    app = await app_factory(config)

    status, refused = await post_touchpoint(
        app, {"touchpoint": "nps", "contact": {"parrot": "bob"}}
    )
    assert status == 422
    assert refused["field"] == "contact.parrot"
    assert 'a Parrot user is p-<digits>, not "bob"' in refused["error"]

    status, created = await post_touchpoint(app, {"touchpoint": "nps", "contact": {"parrot": USER}})
    assert status == 202, created
    assert created["contact"] == f"parrot:{USER}"

    question = await eventually(newest(fake_parrot, NPS_EN), "the NPS question")
    assert question.labels == [str(n) for n in range(11)]
    tapped = await fake_parrot.tap(question, "9")
    await fake_parrot.tap(question, "9", event_id=tapped)  # Parrot delivers it again

    why = await eventually(newest(fake_parrot, "main reason"), "the follow-up question")
    assert question.edited and "9" in question.text
    typed = await fake_parrot.type(USER, "Friendly staff")
    thanks = await eventually(newest(fake_parrot, "Thank you"), "the thanks")

    assert await app.store.inbox.unprocessed("parrot") == []
    rows = await app.store.database.fetch_all(
        "SELECT external_id FROM inbox WHERE channel = ?", ("parrot",)
    )
    assert sorted(row["external_id"] for row in rows) == sorted([tapped, typed])  # stored once
    assert [m.id for m in fake_parrot.sent_to(USER)] == [question.id, why.id, thanks.id]
    contact = await app.store.contacts.find("parrot", USER)
    assert contact is not None
    [row] = await rolling_scores(
        app.store,
        app.config.surveys,
        now=live_as_of(app.clock.now(), app.config.team.timezone),
        window=timedelta(days=7),
        by="channel",
        timezone=app.config.team.timezone,
    )
    assert (row.group, row.n, row.nps, row.comment_rate) == ("parrot", 1, 100.0, 1.0)
