"""Web survey pages over real HTTP: what a customer sees, what is stored, what is refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp

from bot.app import PalauteApp
from bot.channels.web.guard import IpRateLimiter
from bot.delivery.triggers import ContactSpec, TriggerRequest
from storage.records import InvitationState
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config
from tests.web_pages import Browser, links, web_channel

NPS_EN = "How likely are you to recommend us to a friend or colleague?"
NPS_FI = "Kuinka todennäköisesti suosittelisit meitä ystävälle tai kollegalle?"
WHY_EN = "What is the main reason for your score?"
FIX_EN = "What should we fix first?"

TOUCHPOINTS = """
[touchpoints.checkout]
survey = "nps"
expire_after = "1h"
"""


def base_url(app: PalauteApp) -> str:
    return f"http://127.0.0.1:{app.http.port}"


def open_link(app: PalauteApp, touchpoint: str = "nps", **properties: str) -> str:
    """The open link's path and query (the host part is the test server's)."""
    parts = urlsplit(links(app).open_survey_url(touchpoint, properties or None))
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def rows(app: PalauteApp, sql: str, *params: object) -> list[dict[str, object]]:
    return [dict(row) for row in await app.store.database.fetch_all(sql, params)]


async def test_open_link_runs_the_whole_nps_conversation_without_javascript(
    app_factory: AppFactory,
) -> None:
    app = await app_factory()
    async with Browser(base_url(app)) as browser:
        page = await browser.open(open_link(app))
        assert page.status == 200
        assert page.question == NPS_EN
        assert page.choices == [str(n) for n in range(11)]
        assert await rows(app, "SELECT id FROM invitations") == [], "a view stores nothing"

        page = await browser.answer("3")
        assert page.status == 200  # after the redirect
        assert page.question == WHY_EN
        assert page.answers == ["3"]

        page = await browser.answer("Delivery took two weeks", typed=True)
        assert page.question == FIX_EN, "a detractor is asked what to fix"

        page = await browser.answer("skip")
        assert page.question is None
        assert (
            page.thanks == "Thank you for being honest. Someone from our team will look into this."
        )
        assert page.answers == ["3", "Delivery took two weeks", "Skipped"]

    answers = await rows(
        app,
        "SELECT question_id, value_num, value_text, skipped, channel FROM answers ORDER BY id",
    )
    assert answers == [
        {"question_id": "nps", "value_num": 3.0, "value_text": None, "skipped": 0, "channel": "web"},
        {"question_id": "why", "value_num": None, "value_text": "Delivery took two weeks",
         "skipped": 0, "channel": "web"},
        {"question_id": "fix", "value_num": None, "value_text": None, "skipped": 1, "channel": "web"},
    ]  # fmt: skip
    (invitation,) = await app.store.invitations.listing()
    assert invitation.state is InvitationState.COMPLETED
    assert invitation.channel == "web" and invitation.sent_at is not None


async def test_a_refresh_continues_and_another_browser_gets_its_own_response(
    app_factory: AppFactory,
) -> None:
    app = await app_factory()
    link = open_link(app)
    async with Browser(base_url(app)) as first, Browser(base_url(app)) as second:
        await first.open(link)
        await first.answer("9")
        again = await first.open(link)
        assert again.question == WHY_EN and again.answers == ["9"]

        fresh = await second.open(link)
        assert fresh.question == NPS_EN and fresh.answers == []
        await second.answer("10")
        await second.open(link)
        await first.open(link)
    invitations = await rows(app, "SELECT contact_id, state FROM invitations ORDER BY id")
    assert [i["state"] for i in invitations] == ["answering", "answering"]
    assert invitations[0]["contact_id"] != invitations[1]["contact_id"]


async def test_javascript_posts_get_the_next_question_as_a_fragment(
    app_factory: AppFactory,
) -> None:
    app = await app_factory()
    async with Browser(base_url(app)) as browser:
        await browser.open(open_link(app))
        page = await browser.answer("10", fragment=True)
        assert page.status == 200
        assert "<html" not in page.html and "<form" in page.html
        assert page.question == WHY_EN
        page = await browser.answer("Friendly staff", typed=True, fragment=True)
        assert page.thanks == "Thank you for your feedback!"


async def test_an_invalid_answer_is_asked_again_in_the_page_language(
    app_factory: AppFactory,
) -> None:
    app = await app_factory()
    async with Browser(base_url(app), language="fi-FI,fi;q=0.9,en;q=0.5") as browser:
        page = await browser.open(open_link(app))
        assert page.lang == "fi" and page.question == NPS_FI
        page = await browser.answer("11")
        assert page.status == 422
        assert page.error == "Vastaa numerolla 0–10."
        assert page.question == NPS_FI
        page = await browser.answer("8")
        assert page.question == "Mikä on tärkein syy antamaasi arvosanaan?"
    (invitation,) = await app.store.invitations.listing()
    assert invitation.language == "fi"


async def test_language_falls_back_to_the_survey_default(app_factory: AppFactory) -> None:
    app = await app_factory()
    async with Browser(base_url(app), language="de-DE,sv;q=0.8") as browser:
        page = await browser.open(open_link(app))
        assert page.lang == "en" and page.question == NPS_EN


async def test_answers_render_inert(app_factory: AppFactory) -> None:
    app = await app_factory()
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    async with Browser(base_url(app)) as browser:
        await browser.open(open_link(app))
        await browser.answer("6")
        page = await browser.answer(attack, typed=True)
        assert attack in page.answers, "shown back as text"
        assert "<script>alert" not in page.html and "<img src=x" not in page.html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.html
    stored = await rows(app, "SELECT value_text FROM answers WHERE question_id = 'why'")
    assert stored == [{"value_text": attack}]


async def test_link_properties_are_escaped_too(app_factory: AppFactory) -> None:
    app = await app_factory()
    async with Browser(base_url(app)) as browser:
        page = await browser.open(open_link(app, "event", event_name="<b>Kirppis</b>"))
        assert page.bubbles[0][1] == (
            "Thank you for being part of <b>Kirppis</b>! Three quick questions."
        )
        assert "&lt;b&gt;Kirppis&lt;/b&gt;" in page.html


async def test_posts_without_the_csrf_token_are_refused(app_factory: AppFactory) -> None:
    app = await app_factory()
    link = open_link(app)
    async with Browser(base_url(app)) as browser, Browser(base_url(app)) as other:
        await browser.open(link)
        await other.open(link)
        assert browser.page and other.page
        missing = await browser.post({"q": "0", "choice": "9"}, url=link)
        assert missing.status == 403 and missing.heading == "Please try again"
        await browser.open(link)
        foreign = await browser.post(
            {"q": "0", "choice": "9", "csrf": other.page.hidden["csrf"]}, url=link
        )
        assert foreign.status == 403
    async with (
        aiohttp.ClientSession() as cookieless,
        cookieless.post(f"{base_url(app)}{link}", data={"q": "0", "choice": "9"}) as response,
    ):
        assert response.status == 403
    assert await rows(app, "SELECT id FROM answers") == []


async def test_unknown_and_forged_links_get_a_friendly_404(app_factory: AppFactory) -> None:
    app = await app_factory()
    good = open_link(app, "event", event_name="Kirppis")
    path, query = good.split("?")
    forged_signature = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    signature = query.split(".")[1]
    other_payload = base64.urlsafe_b64encode(b'{"p":{"event_name":"X"}}').decode().rstrip("=")
    other_touchpoint = open_link(app, "csat") + "?" + query
    async with Browser(base_url(app)) as browser:
        for url in (
            "/s/not-a-real-token",
            "/s/" + "x" * 300,
            forged_signature,
            f"{path}?p={other_payload}.{signature}",
            path + "?p=e30.AAAA",
            path,  # the event survey needs its event_name
            other_touchpoint,  # parameters signed for another touchpoint
            open_link(app).replace("-nps-", "-nope-"),
        ):
            page = await browser.open(url)
            assert page.status == 404, url
            assert page.heading == "Survey not found"
        assert (await browser.open(good)).status == 200


async def test_an_expired_personal_link_says_so_with_410(
    app_factory: AppFactory, database_location: str
) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    app = await app_factory(make_config(TOUCHPOINTS, database_location), clock=clock)
    result = await app.triggers.trigger(
        TriggerRequest("checkout", ContactSpec("web", "anna@example.com"))
    )
    link = f"/s/{result.invitation.token}"
    async with Browser(base_url(app)) as browser:
        page = await browser.open(link)
        assert page.question == NPS_EN
        await browser.answer("7")
        clock.advance(2 * 3600)
        page = await browser.open(link)
        assert page.status == 410
        assert page.heading == "This survey has closed"
        assert "already closed" in page.html
    async with Browser(base_url(app), language="fi") as browser:
        page = await browser.open(link)
        assert page.status == 410 and page.heading == "Kysely on päättynyt"
    invitation = await app.store.invitations.get(result.invitation.id)
    assert invitation is not None and invitation.state is not InvitationState.COMPLETED


async def test_an_answer_after_expiry_is_not_stored(
    app_factory: AppFactory, database_location: str
) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    app = await app_factory(make_config(TOUCHPOINTS, database_location), clock=clock)
    result = await app.triggers.trigger(
        TriggerRequest("checkout", ContactSpec("web", "+358401234567"))
    )
    async with Browser(base_url(app)) as browser:
        await browser.open(f"/s/{result.invitation.token}")
        clock.advance(2 * 3600)
        page = await browser.answer("9")
        assert page.status == 410
    assert await rows(app, "SELECT id FROM answers") == []


async def test_the_trigger_api_returns_the_personal_link(app_factory: AppFactory) -> None:
    app = await app_factory()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base_url(app)}/api/v1/touchpoints",
            json={"touchpoint": "csat", "contact": {"web": "anna@example.com"}, "language": "fi"},
            headers={"Authorization": "Bearer test-api-token"},
        ) as response,
    ):
        assert response.status == 202
        body = await response.json()
    url = body["survey_url"]
    assert url.startswith(base_url(app).replace("127.0.0.1", "localhost") + "/s/")
    async with Browser(base_url(app), language="en") as browser:
        page = await browser.open(url)
        assert page.lang == "fi", "the contact's language wins over the browser's"
        assert page.question == "Kuinka tyytyväinen olit palveluumme?"
        assert page.choices == ["1", "2", "3", "4", "5"]
        page = await browser.answer("5")
        assert page.question == "Mikä on tärkein syy antamaasi arvosanaan?"


async def test_quiet_hours_do_not_delay_a_survey_the_customer_opened(
    app_factory: AppFactory, database_location: str
) -> None:
    config = make_config(
        '[defaults]\nquiet_hours = ["00:00", "23:59"]\ntimezone = "Europe/Helsinki"\n',
        database_location,
    )
    app = await app_factory(config, clock=FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC)))
    personal = await app.triggers.trigger(TriggerRequest("ces", ContactSpec("web", "ville@x.fi")))
    assert personal.invitation.state is InvitationState.SCHEDULED
    assert personal.invitation.due_at > app.clock.now()
    async with Browser(base_url(app)) as browser:
        await browser.open(open_link(app, "csat"))
        page = await browser.answer("4")
        assert page.question == "What is the main reason for your score?"
        await browser.open(f"/s/{personal.invitation.token}")
        page = await browser.answer("6")
        assert page.answers == ["6"]
    states = await rows(app, "SELECT survey_id, state, due_at FROM invitations ORDER BY id")
    assert [(r["survey_id"], r["state"]) for r in states] == [
        ("ces", "answering"),
        ("csat", "answering"),
    ]
    assert all(r["due_at"] == app.clock.now() for r in states)


async def test_open_links_are_rate_limited_per_address(app_factory: AppFactory) -> None:
    app = await app_factory()
    web_channel(app).pages.responses.limiter = IpRateLimiter(per_minute=1, burst=2)
    link = open_link(app)
    async with (
        Browser(base_url(app)) as a,
        Browser(base_url(app)) as b,
        Browser(base_url(app)) as c,
    ):
        for browser in (a, b):
            await browser.open(link)
            assert (await browser.answer("8")).question == WHY_EN
        await c.open(link)
        limited = await c.answer("8")
        assert limited.status == 429 and limited.heading == "One moment, please"
        page = await a.answer("Good", typed=True)
        assert page.thanks, "those already answering are not limited"
    assert len(await rows(app, "SELECT id FROM invitations")) == 2


async def test_event_link_carries_properties_and_audience(app_factory: AppFactory) -> None:
    app = await app_factory()
    url = links(app).open_survey_url("event", {"event_name": "Kirppis"}, "market_2026_11")
    async with Browser(base_url(app), language="fi") as browser:
        page = await browser.open(url)
        assert page.bubbles[0][1] == "Kiitos, että olit mukana: Kirppis! Kolme nopeaa kysymystä."
        assert page.choices == ["1", "2", "3", "4", "5"]
        await browser.answer("4")
        page = await browser.answer("5")
        assert page.question == "Jälkeenpäin: millainen fiilis tapahtumasta jäi?"
    (member,) = await app.store.audiences.members("market_2026_11")
    assert member.channel == "web"
    properties = await rows(app, "SELECT properties FROM touchpoints")
    assert properties == [{"properties": '{"event_name": "Kirppis"}'}]


async def test_a_finished_survey_shows_its_thanks_again(app_factory: AppFactory) -> None:
    app = await app_factory()
    result = await app.triggers.trigger(TriggerRequest("ces", ContactSpec("web", "x@y.fi")))
    async with Browser(base_url(app)) as browser:
        await browser.open(f"/s/{result.invitation.token}")
        await browser.answer("7")
        await browser.answer("skip")
        page = await browser.open(f"/s/{result.invitation.token}")
        assert page.status == 200
        assert page.thanks == "Thank you for your feedback!"
        assert page.action is None, "nothing left to answer"


async def test_an_opted_out_customer_link_is_not_open(app_factory: AppFactory) -> None:
    app = await app_factory()
    first = await app.triggers.trigger(TriggerRequest("nps", ContactSpec("web", "no@x.fi")))
    assert first.invitation.contact_id is not None
    await app.store.contacts.set_opted_out(
        first.invitation.contact_id, True, now=app.clock.now(), reason="asked by e-mail"
    )
    second = await app.triggers.trigger(TriggerRequest("csat", ContactSpec("web", "no@x.fi")))
    assert second.invitation.state is InvitationState.SUPPRESSED
    async with Browser(base_url(app)) as browser:
        page = await browser.open(f"/s/{second.invitation.token}")
        assert page.status == 410 and "not open for you" in page.html


async def test_pages_use_only_local_assets_and_strict_headers(app_factory: AppFactory) -> None:
    app = await app_factory()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base_url(app)}{open_link(app)}") as response:
            html = await response.text()
            headers = response.headers
            cookie = response.headers["Set-Cookie"]
        for asset in ("/static/survey.css", "/static/survey.js", "/static/favicon.svg"):
            async with session.get(f"{base_url(app)}{asset}") as static:
                assert static.status == 200, asset
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "http://" not in html and "https://" not in html


async def test_start_announces_the_demo_link(app_factory: AppFactory) -> None:
    app = await app_factory()
    lines = web_channel(app).announce()
    assert lines[0].startswith(
        f"Survey demo (open in a browser): http://localhost:{app.http.port}/s/s-nps-"
    )
    async with Browser(base_url(app)) as browser:
        page = await browser.open(lines[0].split(" ")[-1])
        assert page.question == NPS_EN


async def test_malformed_posts_are_refused_politely(app_factory: AppFactory) -> None:
    app = await app_factory()
    async with Browser(base_url(app)) as browser:
        page = await browser.open(open_link(app))
        csrf = page.hidden["csrf"]
        for fields in ({"csrf": csrf, "choice": "9"}, {"csrf": csrf, "q": "²", "choice": "9"}):
            refused = await browser.post(fields, url=open_link(app))
            assert refused.status == 400 and refused.heading == "Please try again"
        page = await browser.open(open_link(app))
        wrong_question = await browser.post({"csrf": csrf, "q": "99", "choice": "9"})
        assert wrong_question.status == 200 and wrong_question.question == NPS_EN
        assert (await browser.answer("9")).question == WHY_EN


async def test_an_open_links_response_rate_is_out_of_the_browsers_that_saw_it(
    app_factory: AppFactory,
) -> None:
    from datetime import timedelta

    from bot.team.scores import rolling_trends

    clock = FakeClock(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    app = await app_factory(clock=clock)
    link = open_link(app)
    async with (
        Browser(base_url(app)) as first,
        Browser(base_url(app)) as second,
        Browser(base_url(app)) as third,
    ):
        for browser in (first, second, third):
            await browser.open(link)
        await second.open(link)  # a refresh is the same browser
        await first.answer("9")
    # A chat app's link preview is not a person who was asked.
    async with aiohttp.ClientSession() as preview:
        agent = {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}
        async with preview.get(base_url(app) + link, headers=agent) as response:
            assert response.status == 200

    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    [row] = await rolling_trends(
        app.store, app.config.surveys, now=clock.now(), window=timedelta(days=7), min_n=1
    )
    # 3 browsers opened it and 1 answered: 1 of 3, where it used to say 1 of 1.
    assert (row.current.invitations_sent, row.current.response_rate) == (3, 1 / 3)
    (invitation,) = await app.store.invitations.listing()
    assert invitation.sent_at == datetime(2026, 11, 24, 10, 0, tzinfo=UTC).timestamp()
