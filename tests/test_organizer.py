"""The organizer service on its own, as any channel's commands use it: a send to an audience of
Telegram customers, previewed, kept, confirmed once, sent once; and the scores."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import PalauteApp
from bot.team.organizer import (
    Confirmation,
    NoSuchAudience,
    NotASurveyOrWindow,
    Organizer,
    Recipients,
    SendRequest,
)
from tests.conftest import AppFactory, make_config
from tests.team_channel import TEAM_TOML, eventually, team_channels

CUSTOMERS = ("701", "702", "703")


def organizer_of(app: PalauteApp) -> Organizer:
    return Organizer(app.store, app.config, app.clock, app.triggers, app.invitations)


async def _audience(app: PalauteApp) -> None:
    now = app.clock.now()
    async with app.store.database.transaction() as connection:
        for address in CUSTOMERS:
            contact = await app.store.contacts.ensure(
                connection, channel="telegram", address=address, now=now
            )
            await app.store.audiences.add_member(
                connection, "regulars", contact, source="test", now=now
            )
    stopped = await app.store.contacts.find("telegram", CUSTOMERS[2])
    assert stopped is not None
    await app.store.contacts.set_opted_out(stopped.id, True, now=now, reason="/stop")


async def test_a_send_is_previewed_confirmed_once_and_sent_once(
    app_factory: AppFactory, db_path: Path
) -> None:
    channels, _slack, telegram = team_channels()
    app = await app_factory(make_config(TEAM_TOML, db_path), channels=channels, http=False)
    await _audience(app)
    organizer = organizer_of(app)
    request = SendRequest("nps", "regulars")
    organizer.validate(request, "telegram")
    recipients = Recipients("regulars", await organizer.audience("regulars"))

    preview = await organizer.preview(request, recipients)
    assert len(preview.asked) == 2 and sum(preview.held_back.values()) == 1
    assert preview.first_due is not None and organizer.starts_now(preview.first_due)
    assert await app.store.invitations.listing() == []  # a preview stores nothing

    token = await organizer.keep(request, channel="telegram", requested_by="organizer")
    confirmed = await organizer.confirm(token, click="press-1")
    assert confirmed == request
    assert await organizer.confirm(token, click="press-2") is Confirmation.ALREADY_SENT
    assert await organizer.confirm("no-such-token", click="x") is Confirmation.EXPIRED

    sent = await organizer.send(request, recipients, channel="telegram")
    again = await organizer.send(request, recipients, channel="telegram")
    assert len(sent.asked) == 2 and again.asked == []  # the same send again adds nobody
    assert len(await app.store.invitations.listing()) == 3  # two asked, one opted out
    await eventually(lambda: sorted(address for address, _ in telegram.prompts) == ["701", "702"])


async def test_an_unknown_audience_names_the_known_ones(
    app_factory: AppFactory, db_path: Path
) -> None:
    channels, _slack, _telegram = team_channels()
    app = await app_factory(make_config(TEAM_TOML, db_path), channels=channels, http=False)
    await _audience(app)
    with pytest.raises(NoSuchAudience) as missing:
        await organizer_of(app).audience("strangers")
    assert missing.value.known == ["regulars"]


async def test_scores_take_a_survey_and_a_window_in_any_order(
    app_factory: AppFactory, db_path: Path
) -> None:
    channels, _slack, _telegram = team_channels()
    app = await app_factory(make_config(TEAM_TOML, db_path), channels=channels, http=False)
    organizer = organizer_of(app)
    query = organizer.scores_query(["7d", "nps"])
    assert (query.survey_id, query.window) == ("nps", timedelta(days=7))
    assert organizer.scores_query([]).window == timedelta(days=max(app.config.team.windows))
    with pytest.raises(NotASurveyOrWindow) as problem:
        organizer.scores_query(["fortnight"])
    assert problem.value.word == "fortnight" and "nps" in problem.value.surveys
    assert await organizer.scores(query) == []
