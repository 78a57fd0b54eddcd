"""Without a password, `palaute run` prints a one-time sign-in link for the local dashboard."""

# ruff: noqa: F811  (the chromium fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.logs import SecretScrubber
from tests.chromium import chromium  # noqa: F401  (fixture)
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config
from tests.palaute_process import ROOT, palaute_command
from tests.test_dashboard import NOW

LINK = re.compile(
    r"Dashboard sign-in link \(one use, [^)]*\): (http://\S+/dashboard/signin\?token=(\S+))"
)


@pytest.fixture
def operator_log() -> Iterator[io.StringIO]:
    """What the operator's terminal shows: every log line, through palaute's secret scrubber."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SecretScrubber("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _links(log: str) -> list[tuple[str, str]]:
    return LINK.findall(log)


@pytest.mark.browser
async def test_the_printed_link_signs_in_once_and_a_new_one_can_be_asked_for(
    app_factory: AppFactory, db_path: Path, chromium: Any, operator_log: io.StringIO
) -> None:
    clock = FakeClock(NOW)
    app = await app_factory(make_config("", db_path), channels={}, clock=clock)
    base = f"http://localhost:{app.http.port}"
    [(link, token)] = _links(operator_log.getvalue())
    assert link.startswith(f"{base}/dashboard/signin?token=")

    browser = await chromium.new_context(viewport={"width": 1280, "height": 900})
    page = await browser.new_page()
    await page.goto(link)
    # Signed in, and the secret is no longer in the address bar (or the history's last entry).
    assert page.url == f"{base}/dashboard"
    assert await page.get_by_role("button", name="Sign out").is_visible()
    assert await page.get_by_role("heading", name="Open follow-ups").is_visible()

    # Single use: the same link in another browser signs nobody in.
    stranger = await (await chromium.new_context()).new_page()
    response = await stranger.goto(link)
    assert response is not None and response.status == 403
    assert await stranger.get_by_text(
        "This sign-in link was used already or has expired"
    ).is_visible()
    await stranger.goto(f"{base}/dashboard")
    assert stranger.url == f"{base}/dashboard/login"
    assert await stranger.get_by_text("open the sign-in link that palaute run printed").is_visible()
    assert await stranger.locator("#password").count() == 0  # there is no password to type

    # The operator asks for a new link from the sign-in page; it appears in the log only
    # (at most one a minute, the one printed at start included).
    clock.advance(60)
    await stranger.click("text=Print a new sign-in link")
    await stranger.get_by_text("A new sign-in link is in the log of palaute run").wait_for()
    links = _links(operator_log.getvalue())
    assert len(links) == 2 and links[1][1] != token
    assert links[1][1] not in await stranger.content()
    # A second press at once does not flood the log.
    await stranger.goto(f"{base}/dashboard/login")
    await stranger.click("text=Print a new sign-in link")
    await stranger.get_by_text("less than a minute ago").wait_for()
    assert len(_links(operator_log.getvalue())) == 2

    # A link expires: an hour later it is refused.
    clock.advance(3601)
    response = await stranger.goto(links[1][0])
    assert response is not None and response.status == 403
    await browser.close()

    log = operator_log.getvalue()
    for _link, secret in links:
        # Each token is in its one announcement line and nowhere else, whoever logs it.
        logging.getLogger("httpx").warning("GET %s", _link)
        log = operator_log.getvalue()
        assert log.count(secret) == 1, log
    assert "[secret]" in log


async def test_on_a_public_host_without_a_password_the_dashboard_stays_off(
    app_factory: AppFactory, db_path: Path, operator_log: io.StringIO
) -> None:
    app = await app_factory(
        make_config('[server]\nhost = "0.0.0.0"\nport = 0\n', db_path), channels={}
    )
    assert _links(operator_log.getvalue()) == []
    assert (
        "Dashboard off: server.host 0.0.0.0 is reachable from other machines and "
        "server.dashboard_password is not set" in operator_log.getvalue()
    )
    async with aiohttp.ClientSession() as client:
        response = await client.get(f"http://127.0.0.1:{app.http.port}/dashboard")
        assert response.status == 404 and "set server.dashboard_password" in await response.text()
        signin = await client.get(f"http://127.0.0.1:{app.http.port}/dashboard/signin?token=x")
        assert signin.status == 404


async def test_palaute_run_without_a_config_prints_a_link_that_opens_the_dashboard(
    tmp_path: Path,
) -> None:
    """The no-config start of the README: only the port differs (0, so tests never collide)."""
    config = tmp_path / "palaute.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "palaute.db"}"\n[server]\nport = 0\n')
    log_path = tmp_path / "palaute.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *palaute_command(), "run", "--config", str(config), cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
            stdout=log, stderr=log,
        )  # fmt: skip
    try:
        found: list[tuple[str, str]] = []
        for _ in range(200):
            found = _links(log_path.read_text())
            if found or process.returncode is not None:
                break
            await asyncio.sleep(0.1)
        assert found, log_path.read_text()
        [(link, token)] = found
        async with aiohttp.ClientSession() as client:
            response = await client.get(link)
            assert response.status == 200 and str(response.url).endswith("/dashboard")
            assert "Open follow-ups" in await response.text()
            again = await client.get(f"{link}", allow_redirects=False)
            assert again.status == 403
    finally:
        process.terminate()
        await process.wait()
    assert log_path.read_text().count(token) == 1
