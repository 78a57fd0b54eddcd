"""Visitors who answered an open link at the exit join the event's audience, but a browser is
nobody palaute can write to: a later survey of the audience counts them as unreachable."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.http.web_survey import links
from bot.triggers import ContactSpec, TriggerRequest
from bot.web_responses import BROWSER_ONLY
from storage.records import InvitationState
from tests.clock import FakeClock
from tests.conftest import AppFactory
from tests.test_web_survey import base_url, open_link
from tests.web_pages import Browser


async def test_an_exit_link_answerer_is_not_counted_as_reachable(app_factory: AppFactory) -> None:
    clock = FakeClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    app = await app_factory(None, clock=clock)
    exit_link = urlsplit(
        links(app).open_survey_url("event", {"event_name": "Kirppis"}, audience="kirppis")
    )
    async with Browser(base_url(app), language="en") as browser:
        page = await browser.open(f"{exit_link.path}?{exit_link.query}")
        assert page.question == "Before the event: how well did booking and information work?"
        await browser.answer("5")
        [member] = await app.store.audiences.members("kirppis")
        assert member.channel == "web"

        # The organizer surveys the audience a day later.
        clock.advance(24 * 3600)
        result = await app.triggers.trigger(
            TriggerRequest("nps", ContactSpec(member.channel, member.address))
        )
        assert result.invitation.state is InvitationState.UNREACHABLE
        assert result.invitation.reason == f"the contact cannot be reached: {BROWSER_ONLY}"
        await app.invitations.tick()
        rows = await app.store.database.fetch_all(
            "SELECT state, sent_at FROM invitations WHERE survey_id = 'nps'"
        )
        assert [(row["state"], row["sent_at"]) for row in rows] == [("unreachable", None)]

        # The same visitor can still answer an open link they open themselves.
        page = await browser.open(open_link(app, "csat"))
        assert page.question == "How satisfied were you with our service?"
