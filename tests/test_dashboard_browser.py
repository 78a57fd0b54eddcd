"""The dashboard in a real, headless Chromium: on a phone, its charts, comments and sign-in link."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.app import PalauteApp
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config
from tests.test_dashboard import CHROMIUM, CHROMIUM_ARGS, NOW, PASSWORD, _filled, _toml

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the browser tests need the playwright package ('.[dev]')"
)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium) "
        "to run the browser tests",
    ),
]

WIDER_THAN_THE_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const element of document.querySelectorAll('body *')) {
    const box = element.getBoundingClientRect();
    if (box.width && (box.right > width + 0.5 || box.left < -0.5)) {
      wide.push(`${element.tagName.toLowerCase()}.${element.className}: ${Math.round(box.left)}–${Math.round(box.right)}`);
    }
  }
  return {page: document.documentElement.scrollWidth, width, wide: wide.slice(0, 12)};
}"""


@pytest_asyncio.fixture
async def chromium() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


def _base(app: PalauteApp) -> str:
    return f"http://127.0.0.1:{app.http.port}"


async def _signed_in_page(chromium: Any, base: str, viewport: dict[str, int]) -> Any:
    page = await chromium.new_page(viewport=viewport)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems
    await page.goto(f"{base}/dashboard/login")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/dashboard")
    return page


async def _charts_loaded(page: Any) -> list[dict[str, float]]:
    """Scroll every chart into view (they load lazily) and measure it once loaded."""
    for image in await page.query_selector_all("img.chart"):
        await image.scroll_into_view_if_needed()
    await page.wait_for_function(
        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )
    return list(
        await page.eval_on_selector_all(
            "img.chart",
            """images => images.map(i => ({
                natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
                card: i.closest('.card').getBoundingClientRect().width}))""",
        )
    )


async def test_on_a_phone_nothing_is_wider_than_the_screen(
    app_factory: AppFactory, db_path: Path, chromium: Any
) -> None:
    await _filled(db_path)
    app = await app_factory(make_config(_toml(), db_path), channels={}, clock=FakeClock(NOW))
    page = await _signed_in_page(chromium, _base(app), PHONE)
    await page.wait_for_load_state("networkidle")
    measured = await page.evaluate(WIDER_THAN_THE_SCREEN)
    assert measured["page"] <= PHONE["width"] and measured["wide"] == [], measured
    charts = await _charts_loaded(page)
    assert len(charts) == 4
    for chart in charts:
        # A chart drawn for the phone: not the desktop one shrunk until its text is unreadable.
        assert chart["shown"] <= chart["card"] and chart["natural"] >= 2 * chart["shown"] * 0.9
        assert chart["natural"] < 900, chart
    assert page.problems == []
    # Still the whole page, not a cut version of it.
    for heading in ("Net Promoter Score", "Open follow-ups", "Recent comments"):
        assert await page.get_by_role("heading", name=heading).is_visible()
    if os.environ.get("PALAUTE_UPDATE_SCREENSHOT") == "1":
        docs = Path(__file__).resolve().parent.parent / "docs"
        await page.screenshot(path=str(docs / "dashboard-phone.png"), full_page=False)


async def test_on_a_desktop_the_charts_are_the_desktop_ones(
    app_factory: AppFactory, db_path: Path, chromium: Any
) -> None:
    await _filled(db_path)
    app = await app_factory(make_config(_toml(), db_path), channels={}, clock=FakeClock(NOW))
    page = await _signed_in_page(chromium, _base(app), DESKTOP)
    charts = await _charts_loaded(page)
    assert len(charts) == 4 and all(chart["natural"] == 640 for chart in charts), charts
    measured = await page.evaluate(WIDER_THAN_THE_SCREEN)
    assert measured["wide"] == [], measured
