"""The dashboard: sign-in and sessions, what the page shows, the chart, and a real browser."""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from PIL import Image

from bot.app import PalauteApp
from bot.demo import fill_demo
from bot.http.dashboard_auth import MAX_FAILURES
from conversations.builtin import builtin_surveys
from storage.invitations import NewInvitation
from storage.records import InvitationState
from storage.store import Store
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
DOCS = Path(__file__).resolve().parent.parent / "docs"


def _toml(extra: str = "") -> str:
    return (
        f'[server]\nport = 0\ndashboard_password = "{PASSWORD}"\n{extra}'
        '[defaults]\nlanguage = "en"\nquiet_hours = "off"\nmin_days_between_surveys = 0\n'
        "[team]\nmin_n = 10\n"
    )


async def _filled(db_path: Path | str, *, days: int = 60, contacts: int = 250) -> None:
    store = await Store.open(db_path)
    await fill_demo(
        store, builtin_surveys(), now=NOW.timestamp(), days=days, contacts=contacts, seed=1
    )
    # A comment that tries to inject markup must come out as text.
    async with store.database.transaction() as connection:
        contact = await store.contacts.ensure(
            connection, channel="telegram", address="99", now=NOW.timestamp()
        )
        invitation_id = await store.invitations.insert(
            connection,
            NewInvitation("order_delivered", "nps", contact, "telegram", NOW.timestamp(), {"store": "Kamppi"},
                          InvitationState.SENT, None, NOW.timestamp(), None, None),
            now=NOW.timestamp(),
        )  # fmt: skip
        invitation = await store.invitations.get(invitation_id)
        assert invitation is not None
        survey = builtin_surveys()["nps"]
        for question, value in (
            (survey.questions[0], 2),
            (survey.questions[1], "<script>alert(1)</script> late"),
        ):
            await store.answers.insert(
                connection, invitation, "telegram", question, value, now=NOW.timestamp() - 60
            )
    await store.close()


@pytest_asyncio.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def _base(app: PalauteApp) -> str:
    return f"http://127.0.0.1:{app.http.port}"


async def _sign_in(
    client: aiohttp.ClientSession, base: str, password: str = PASSWORD
) -> aiohttp.ClientResponse:
    page = await (await client.get(f"{base}/dashboard/login")).text()
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match is not None
    return await client.post(
        f"{base}/dashboard/login",
        data={"token": match.group(1), "password": password},
        allow_redirects=False,
    )


async def test_the_dashboard_is_off_without_a_password(
    app_factory: AppFactory, database_location: str, client: aiohttp.ClientSession
) -> None:
    # On a loopback host it signs in by a printed link instead: tests/test_dashboard_link.py.
    app = await app_factory(
        make_config('[server]\nhost = "0.0.0.0"\nport = 0\n', database_location), channels={}
    )
    response = await client.get(f"{_base(app)}/dashboard")
    assert response.status == 404 and "set server.dashboard_password" in await response.text()


async def test_sign_in_sessions_and_sign_out(
    app_factory: AppFactory, database_location: str, client: aiohttp.ClientSession
) -> None:
    app = await app_factory(
        make_config(_toml(), database_location), channels={}, clock=FakeClock(NOW)
    )
    base = _base(app)
    response = await client.get(f"{base}/dashboard", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/dashboard/login"
    assert (
        await client.get(f"{base}/dashboard/chart.png?survey=nps", allow_redirects=False)
    ).status == 303
    # A form without its token (another site posting a password) is refused.
    forged = await client.post(
        f"{base}/dashboard/login", data={"password": PASSWORD}, allow_redirects=False
    )
    assert forged.status == 400
    wrong = await _sign_in(client, base, "guess")
    assert wrong.status == 401 and "Wrong password." in await wrong.text()
    signed_in = await _sign_in(client, base)
    assert signed_in.status == 303
    cookie = next(
        c for c in signed_in.headers.getall("Set-Cookie") if c.startswith("palaute_dashboard=")
    )
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test below
    page = await client.get(f"{base}/dashboard")
    assert page.status == 200
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = await page.text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    assert csrf is not None
    stolen = cookie.split(";")[0].split("=", 1)[1]
    await client.post(
        f"{base}/dashboard/logout", data={"csrf": csrf.group(1)}, allow_redirects=False
    )
    # The old cookie no longer works, even when replayed.
    async with aiohttp.ClientSession() as other:
        replay = await other.get(
            f"{base}/dashboard",
            headers={"Cookie": f"palaute_dashboard={stolen}"},
            allow_redirects=False,
        )
        assert replay.status == 303
        tampered = stolen[:-3] + ("AAA" if not stolen.endswith("AAA") else "BBB")
        forged_cookie = await other.get(
            f"{base}/dashboard",
            headers={"Cookie": f"palaute_dashboard={tampered}"},
            allow_redirects=False,
        )
        assert forged_cookie.status == 303


async def test_guessing_is_slowed_down(
    app_factory: AppFactory, database_location: str, client: aiohttp.ClientSession
) -> None:
    app = await app_factory(make_config(_toml(), database_location), channels={})
    for _ in range(MAX_FAILURES):
        assert (await _sign_in(client, _base(app), "guess")).status == 401
    blocked = await _sign_in(client, _base(app))
    assert blocked.status == 429 and "Too many wrong passwords" in await blocked.text()


async def test_cookies_are_secure_behind_https(
    app_factory: AppFactory, database_location: str, client: aiohttp.ClientSession
) -> None:
    app = await app_factory(
        make_config(_toml('public_url = "https://feedback.example.com"\n'), database_location),
        channels={},
    )
    base = _base(app)
    form = await client.get(f"{base}/dashboard/login")
    login_cookie = form.cookies["palaute_dashboard_login"]
    assert login_cookie["secure"] and login_cookie["samesite"] == "Strict"
    token = re.search(r'name="token" value="([^"]+)"', await form.text())
    assert token is not None
    # The client keeps Secure cookies away from plain http, as browsers do: send it by hand.
    async with aiohttp.ClientSession() as plain:
        response = await plain.post(
            f"{base}/dashboard/login",
            data={"token": token.group(1), "password": PASSWORD},
            headers={"Cookie": f"palaute_dashboard_login={login_cookie.value}"},
            allow_redirects=False,
        )
    assert response.status == 303
    session = response.cookies["palaute_dashboard"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Strict"


async def test_the_page_shows_scores_followups_comments_and_filters(
    app_factory: AppFactory, database_location: str, client: aiohttp.ClientSession
) -> None:
    await _filled(database_location)
    app = await app_factory(
        make_config(_toml(), database_location), channels={}, clock=FakeClock(NOW)
    )
    base = _base(app)
    await _sign_in(client, base)
    html = await (await client.get(f"{base}/dashboard?window=30")).text()
    for title in (
        "Net Promoter Score",
        "Customer satisfaction",
        "Customer effort",
        "Event feedback",
    ):
        assert title in html
    assert re.search(r'class="value">[+-]\d+<', html)  # the NPS
    assert "no clear change" in html or "▲" in html or "▼" in html
    assert "Open follow-ups" in html and ("is following up" in html or "Nobody has taken" in html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; late" in html and "<script>" not in html
    assert (
        html.count('class="chart"') == 4 and "/dashboard/chart.png?window=30&amp;survey=nps" in html
    )
    assert 'value="store=Kamppi"' in html and 'value="order_delivered"' in html
    everyone = int(re.search(r'id="survey-nps".*?n = (\d+)', html, re.S).group(1))  # type: ignore[union-attr]
    kamppi_html = await (
        await client.get(f"{base}/dashboard?window=30&property=store%3DKamppi")
    ).text()
    kamppi = int(re.search(r'id="survey-nps".*?n = (\d+)', kamppi_html, re.S).group(1))  # type: ignore[union-attr]
    assert 0 < kamppi < everyone
    assert 'value="store=Kamppi" selected' in kamppi_html
    few = await (await client.get(f"{base}/dashboard?window=7&touchpoint=support_call")).text()
    assert 'id="survey-ces"' in few and 'id="survey-nps"' not in few
    bad = await client.get(f"{base}/dashboard?window=abc&property=x')--%3D1")
    assert bad.status == 200  # nonsense filters fall back to defaults
    chart = await client.get(
        f"{base}/dashboard/chart.png?window=30&survey=nps&property=store%3DItis"
    )
    assert chart.status == 200 and chart.content_type == "image/png"
    image = Image.open(io.BytesIO(await chart.read()))
    assert image.format == "PNG" and image.width == 640 and 300 <= image.height <= 800
    assert (await client.get(f"{base}/dashboard/chart.png?survey=nope")).status == 404


@pytest.mark.browser
async def test_in_a_real_browser_with_a_screenshot(
    app_factory: AppFactory, database_location: str, tmp_path: Path
) -> None:
    """Set PALAUTE_UPDATE_SCREENSHOT=1 to also write docs/dashboard.png and dashboard-phone.png."""
    if not CHROMIUM.exists():
        pytest.skip(
            "no Chromium at /usr/bin/chromium (apt-get install chromium); not downloading one"
        )
    from playwright.async_api import async_playwright

    await _filled(database_location, days=90, contacts=500)
    app = await app_factory(
        make_config(_toml(), database_location), channels={}, clock=FakeClock(NOW)
    )
    base = _base(app)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(f"{base}/dashboard")
            assert page.url.endswith("/dashboard/login")
            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/dashboard")
            await page.wait_for_load_state("networkidle")
            loaded = await page.eval_on_selector_all(
                "img.chart", "images => images.map(i => i.complete && i.naturalWidth)"
            )
            assert len(loaded) == 4 and all(width == 640 for width in loaded), loaded
            await page.select_option("select[name=property]", "store=Kamppi")
            await page.click("form.filters button")
            await page.wait_for_load_state("networkidle")
            assert "property=store%3DKamppi" in page.url
            await page.select_option("select[name=property]", "")
            await page.click("form.filters button")
            await page.wait_for_load_state("networkidle")
            assert await page.title() == "Feedback dashboard · palaute"
            assert problems == []  # no CSP violations, no broken resources
            shot = tmp_path / "dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
            phone = await browser.new_page(
                viewport={"width": 390, "height": 844}, device_scale_factor=2
            )
            await phone.context.add_cookies(await page.context.cookies())
            await phone.goto(f"{base}/dashboard")
            await phone.wait_for_load_state("networkidle")
            phone_shot = tmp_path / "dashboard-phone.png"
            await phone.screenshot(path=str(phone_shot))
        finally:
            await browser.close()
    with Image.open(shot) as image:
        assert image.width == 1280 and image.height > 900
    if os.environ.get("PALAUTE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, DOCS / "dashboard.png")
        shutil.copyfile(phone_shot, DOCS / "dashboard-phone.png")


async def test_one_response_is_shown_only_to_the_signed_in(
    app_factory: AppFactory, database_location: str
) -> None:
    await _filled(database_location, days=5, contacts=40)
    app = await app_factory(
        make_config(_toml(), database_location), channels={}, clock=FakeClock(NOW)
    )
    [row] = await app.store.database.fetch_all("SELECT MIN(invitation_id) AS id FROM answers")
    url = f"http://127.0.0.1:{app.http.port}/dashboard/response/{row['id']}"
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, allow_redirects=False) as response,
    ):
        assert response.status == 303
        assert response.headers["Location"] == "/dashboard/login"
