"""Dashboard sessions and the brake on guessing: what outlives a restart, what cannot be raced,
and who the client is behind a reverse proxy."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest

from bot.app import PalauteApp
from bot.config import ConfigError, parse_config
from bot.http.dashboard_auth import MAX_FAILURES
from tests.conftest import AppFactory, make_config
from tests.test_dashboard import PASSWORD, _base, _sign_in, _toml
from tests.test_web_survey import open_link
from tests.web_pages import Browser


async def _csrf(client: aiohttp.ClientSession, base: str) -> str:
    page = await client.get(f"{base}/dashboard")
    assert page.status == 200
    found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert found is not None
    return found.group(1)


def _session_cookie(response: aiohttp.ClientResponse) -> str:
    header = next(
        c for c in response.headers.getall("Set-Cookie") if c.startswith("palaute_dashboard=")
    )
    return header.split(";")[0].split("=", 1)[1]


async def _dashboard_status(base: str, cookie: str) -> int:
    async with (
        aiohttp.ClientSession() as other,
        other.get(
            f"{base}/dashboard",
            headers={"Cookie": f"palaute_dashboard={cookie}"},
            allow_redirects=False,
        ) as response,
    ):
        return response.status


async def test_a_signed_out_cookie_stays_dead_after_a_restart(database_location: str) -> None:
    config = make_config(_toml(), database_location)
    app = PalauteApp(config, channels={})
    await app.start()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        signed_in = await _sign_in(client, _base(app))
        signed_out_cookie = _session_cookie(signed_in)
        csrf = await _csrf(client, _base(app))
        await client.post(
            f"{_base(app)}/dashboard/logout", data={"csrf": csrf}, allow_redirects=False
        )
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        kept_cookie = _session_cookie(await _sign_in(client, _base(app)))
    assert await _dashboard_status(_base(app), signed_out_cookie) == 303
    await app.stop()

    again = PalauteApp(config, channels={})
    await again.start()
    try:
        assert await _dashboard_status(_base(again), signed_out_cookie) == 303
        assert await _dashboard_status(_base(again), kept_cookie) == 200  # still signed in
    finally:
        await again.stop()


async def test_signing_out_needs_the_csrf_token(app_factory: AppFactory, db_path: Path) -> None:
    app = await app_factory(make_config(_toml(), db_path), channels={})
    base = _base(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        await _sign_in(client, base)
        csrf = await _csrf(client, base)
        for form in ({}, {"csrf": "forged"}):
            # What another site's page could post: no token, or a wrong one.
            refused = await client.post(
                f"{base}/dashboard/logout", data=form, allow_redirects=False
            )
            assert refused.status == 400
            assert "Sign-out" in await refused.text()
            assert (await client.get(f"{base}/dashboard", allow_redirects=False)).status == 200
        signed_out = await client.post(
            f"{base}/dashboard/logout", data={"csrf": csrf}, allow_redirects=False
        )
        assert signed_out.status == 303
        assert (await client.get(f"{base}/dashboard", allow_redirects=False)).status == 303


async def _login_form(base: str) -> tuple[str, str]:
    """The sign-in form's token and the login cookie it is bound to."""
    async with aiohttp.ClientSession() as client, client.get(f"{base}/dashboard/login") as page:
        html = await page.text()
        nonce = page.cookies["palaute_dashboard_login"].value
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1), nonce


async def _slow_login(
    port: int, token: str, nonce: str, password: str, go: asyncio.Event, headers: str = ""
) -> int:
    """A login that sends its headers at once and its body when `go` is set."""
    body = f"token={token}&password={password}".encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "POST /dashboard/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Cookie: palaute_dashboard_login={nonce}\r\n{headers}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    await go.wait()
    writer.write(body)
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 30)
    writer.close()
    return int(status_line.split()[1])


async def test_logins_that_send_their_bodies_late_cannot_race_the_limit(
    app_factory: AppFactory, db_path: Path
) -> None:
    app = await app_factory(make_config(_toml(), db_path), channels={})
    token, nonce = await _login_form(_base(app))
    go = asyncio.Event()
    logins = [
        asyncio.create_task(_slow_login(app.http.port, token, nonce, "guess", go))
        for _ in range(40)
    ]
    await asyncio.sleep(0.5)  # every handler is waiting for its body
    go.set()
    statuses = await asyncio.gather(*logins)
    assert statuses.count(401) == MAX_FAILURES, statuses
    assert statuses.count(429) == 40 - MAX_FAILURES, statuses


async def test_a_locked_sign_in_says_when_to_try_again(
    app_factory: AppFactory, db_path: Path
) -> None:
    app = await app_factory(make_config(_toml(), db_path), channels={})
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        for _ in range(MAX_FAILURES):
            assert (await _sign_in(client, _base(app), "guess")).status == 401
        locked = await _sign_in(client, _base(app), PASSWORD)
        assert locked.status == 429
        assert locked.headers["Retry-After"] == str(15 * 60)
        assert "try again in 15 minutes" in await locked.text()


TRUSTED = 'trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]\n'


async def _guess_from(client: aiohttp.ClientSession, base: str, forwarded: str) -> int:
    token, nonce = await _login_form(base)
    async with client.post(
        f"{base}/dashboard/login",
        data={"token": token, "password": "guess"},
        headers={"X-Forwarded-For": forwarded, "Cookie": f"palaute_dashboard_login={nonce}"},
        allow_redirects=False,
    ) as response:
        return response.status


async def test_behind_a_trusted_proxy_each_client_has_its_own_limit(
    app_factory: AppFactory, db_path: Path
) -> None:
    app = await app_factory(make_config(_toml(TRUSTED), db_path), channels={})
    base = _base(app)
    async with aiohttp.ClientSession() as client:
        for _ in range(MAX_FAILURES):
            assert await _guess_from(client, base, "203.0.113.5") == 401
        assert await _guess_from(client, base, "203.0.113.5") == 429
        # Another customer of the same proxy is not locked out.
        assert await _guess_from(client, base, "203.0.113.6") == 401
        # A client cannot pick its own address: the right-most untrusted one counts.
        assert await _guess_from(client, base, "198.51.100.1, 203.0.113.5") == 429
        assert await _guess_from(client, base, "203.0.113.5, 10.1.2.3") == 429


async def test_forwarded_for_is_ignored_from_a_peer_that_is_not_a_trusted_proxy(
    app_factory: AppFactory, db_path: Path
) -> None:
    app = await app_factory(
        make_config(_toml('trusted_proxies = ["10.0.0.0/8"]\n'), db_path), channels={}
    )
    base = _base(app)
    async with aiohttp.ClientSession() as client:
        for n in range(MAX_FAILURES):
            assert await _guess_from(client, base, f"203.0.113.{n}") == 401
        assert await _guess_from(client, base, "203.0.113.99") == 429


async def test_the_web_survey_limit_counts_the_client_behind_the_proxy(
    app_factory: AppFactory, db_path: Path
) -> None:
    app = await app_factory(make_config(f"[server]\nport = 0\n{TRUSTED}", db_path))
    base = _base(app)
    link = open_link(app)

    async def start_response(forwarded: str) -> int:
        async with Browser(base, headers={"X-Forwarded-For": forwarded}) as browser:
            await browser.open(link)
            return (await browser.answer("9")).status

    statuses = [await start_response("203.0.113.7") for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429, statuses
    assert await start_response("203.0.113.8") == 200


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('["127.0.0.1", "not-an-address"]', 'server.trusted_proxies[1]: "not-an-address" is not'),
        ('"127.0.0.1"', "server.trusted_proxies: must be a list"),
        ("[10]", "server.trusted_proxies[0]: must be"),
    ],
)
def test_trusted_proxies_are_validated_with_their_line(value: str, message: str) -> None:
    text = f'[storage]\npath = "x.db"\n\n[server]\ntrusted_proxies = {value}\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source=Path("palaute.toml"), environ={})
    assert any(line.startswith(f"palaute.toml:5: {message}") for line in caught.value.lines), (
        caught.value.lines
    )
