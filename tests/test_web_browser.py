"""The web survey in a real, headless Chromium (Debian's; Playwright never downloads a browser here).

Set PALAUTE_UPDATE_SCREENSHOT=1 to also write the README's docs/web-survey.png.
"""

# ruff: noqa: F811  (the chromium fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.app import PalauteApp
from bot.cli import main
from bot.http.web_survey import links
from bot.triggers import ContactSpec, TriggerRequest
from tests.chromium import BROWSER, PHONE, chromium  # noqa: F401  (fixture)
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "web-survey.png"

pytestmark = BROWSER

WHY = "What is the main reason for your score?"
FIX = "What should we fix first?"


@pytest_asyncio.fixture
async def phone(chromium: Any) -> AsyncIterator[Any]:
    """A phone-sized page with touch, English, JavaScript on."""
    context = await chromium.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-US"
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)
    yield page
    await context.close()


@pytest.fixture
def config_file(tmp_path: Path, db_path: Path) -> Iterator[Path]:
    """The same database for `palaute report` as for the running app."""
    path = tmp_path / "palaute.toml"
    path.write_text(f'[storage]\npath = "{db_path}"\n', encoding="utf-8")
    yield path


def address(app: PalauteApp, url: str) -> str:
    """Links name localhost; the test server listens on 127.0.0.1 (same port)."""
    return url.replace("://localhost:", "://127.0.0.1:")


def survey_url(app: PalauteApp, touchpoint: str = "nps", **properties: str) -> str:
    return address(app, links(app).open_survey_url(touchpoint, properties or None))


async def tap(page: Any, label: str) -> None:
    await page.get_by_role("button", name=label, exact=True).tap()


async def current_question(page: Any) -> str:
    return str(await page.locator("#question").inner_text())


async def answers(page: Any) -> list[str]:
    """The customer's bubbles as seen (without the "Your answer:" said to screen readers)."""
    return list(
        await page.evaluate(
            """() => Array.from(document.querySelectorAll(".bubble.me"), (bubble) => {
                const seen = bubble.cloneNode(true);
                seen.querySelectorAll(".visually-hidden").forEach((hidden) => hidden.remove());
                return seen.textContent.trim();
            })"""
        )
    )


def score_rows(report: Any) -> list[dict[str, Any]]:
    """Every score row of `palaute report --format json`, however the document nests them."""
    found: list[dict[str, Any]] = []
    if isinstance(report, dict):
        if "survey" in report and "n" in report:
            found.append(report)
        for value in report.values():
            found += score_rows(value)
    elif isinstance(report, list):
        for item in report:
            found += score_rows(item)
    return found


async def test_answer_by_tapping_get_the_follow_up_type_and_see_thanks(
    app_factory: AppFactory, phone: Any, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await app_factory()
    await phone.goto(survey_url(app))
    assert await current_question(phone) == (
        "How likely are you to recommend us to a friend or colleague?"
    )
    await phone.evaluate("window.notReloaded = true")

    await tap(phone, "4")
    await phone.locator("#question", has_text=WHY).wait_for()
    assert await phone.evaluate("window.notReloaded") is True, "answered in place, no reload"
    assert await phone.evaluate("document.activeElement.id") == "answer-text"

    await phone.get_by_role("textbox").fill("The parcel was late and nobody answered the phone")
    await tap(phone, "Send")
    await phone.locator("#question", has_text=FIX).wait_for()
    await phone.get_by_role("textbox").fill("Answer the phone")
    await tap(phone, "Send")

    thanks = phone.locator(".bubble.thanks")
    await thanks.wait_for()
    assert await thanks.inner_text() == (
        "Thank you for being honest. Someone from our team will look into this."
    )
    assert await answers(phone) == [
        "4", "The parcel was late and nobody answered the phone", "Answer the phone",
    ]  # fmt: skip

    stored = await app.store.database.fetch_all(
        "SELECT question_id, value_num, value_text FROM answers ORDER BY id"
    )
    assert [tuple(row) for row in stored] == [
        ("nps", 4.0, None),
        ("why", None, "The parcel was late and nobody answered the phone"),
        ("fix", None, "Answer the phone"),
    ]
    capsys.readouterr()
    code = await asyncio.to_thread(
        main, ["report", "--config", str(config_file), "--format", "json"]
    )
    output = capsys.readouterr().out
    assert code == 0
    nps_rows = [r for r in score_rows(json.loads(output)) if r["survey"] == "nps"]
    assert nps_rows and all(r["n"] == 1 for r in nps_rows)
    assert all(r["nps"] == -100 for r in nps_rows)


async def test_reopening_the_link_midway_continues_where_it_stopped(
    app_factory: AppFactory, chromium: Any
) -> None:
    app = await app_factory()
    url = survey_url(app, "event", event_name="Kirppis")
    context = await chromium.new_context(viewport=PHONE, has_touch=True, locale="fi-FI")
    page = await context.new_page()
    await page.goto(url)
    assert "Kirppis" in await page.locator(".bubble").first.inner_text()
    await tap(page, "4")
    await page.locator("#question", has_text="Itse tapahtumapäivä").wait_for()
    await page.close()

    again = await context.new_page()
    await again.goto(url)
    assert await current_question(again) == "Itse tapahtumapäivä: millainen Kirppis oli?"
    assert await answers(again) == ["4"]
    await tap(again, "5")
    await again.locator("#question", has_text="Jälkeenpäin").wait_for()
    await context.close()

    stranger = await chromium.new_context(viewport=PHONE, locale="fi-FI")
    page = await stranger.new_page()
    await page.goto(url)
    assert await answers(page) == [], "another browser starts its own response"
    await stranger.close()
    rows = await app.store.database.fetch_all(
        "SELECT question_id, value_num FROM answers ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [("before", 4.0), ("during", 5.0)]


async def test_an_expired_link_shows_a_friendly_page(
    app_factory: AppFactory, db_path: Path, phone: Any
) -> None:
    clock = FakeClock(datetime.now(UTC))
    config = make_config('[touchpoints.visit]\nsurvey = "csat"\nexpire_after = "1d"\n', db_path)
    app = await app_factory(config, clock=clock)
    result = await app.triggers.trigger(TriggerRequest("visit", ContactSpec("web", "a@b.fi")))
    clock.advance(2 * 86400)
    response = await phone.goto(address(app, links(app).invitation_url(result.invitation)))
    assert response is not None and response.status == 410
    assert await phone.get_by_role("heading", level=1).inner_text() == "This survey has closed"
    assert await phone.get_by_role("button").count() == 0


async def test_a_script_typed_as_an_answer_stays_text(app_factory: AppFactory, phone: Any) -> None:
    app = await app_factory()
    dialogs: list[str] = []
    phone.on("dialog", lambda dialog: dialogs.append(dialog.message))
    attack = '<script>window.pwned = 1; alert(1)</script><img src=x onerror="window.pwned = 2">'
    await phone.goto(survey_url(app))
    await tap(phone, "9")
    await phone.get_by_role("textbox").fill(attack)
    await tap(phone, "Send")
    await phone.locator(".bubble.thanks").wait_for()
    await phone.reload()
    assert (await answers(phone))[-1] == attack
    assert await phone.evaluate("typeof window.pwned") == "undefined"
    assert dialogs == []


async def test_it_works_without_javascript(app_factory: AppFactory, chromium: Any) -> None:
    app = await app_factory()
    context = await chromium.new_context(java_script_enabled=False, viewport=PHONE)
    page = await context.new_page()
    await page.goto(survey_url(app, "ces"))
    async with page.expect_navigation():
        await page.get_by_role("button", name="6", exact=True).click()
    assert await current_question(page) == WHY
    async with page.expect_navigation():
        await page.get_by_role("button", name="Skip", exact=True).click()
    assert await page.locator(".bubble.thanks").inner_text() == "Thank you for your feedback!"
    await context.close()


async def test_it_can_be_answered_with_the_keyboard_alone(
    app_factory: AppFactory, chromium: Any
) -> None:
    app = await app_factory()
    context = await chromium.new_context(viewport={"width": 1024, "height": 768})
    page = await context.new_page()
    await page.goto(survey_url(app, "csat"))
    await page.keyboard.press("Tab")
    for _ in range(3):
        await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "4"
    await page.keyboard.press("Enter")
    await page.locator("#question", has_text=WHY).wait_for()
    assert await page.evaluate("document.activeElement.id") == "answer-text"
    await page.keyboard.type("Quick and kind")
    await page.keyboard.press("Tab")  # Skip
    await page.keyboard.press("Tab")  # Send
    await page.keyboard.press("Enter")
    await page.locator(".bubble.thanks").wait_for()
    assert await answers(page) == ["4", "Quick and kind"]
    await context.close()


async def test_screenshots_on_a_phone_and_a_desktop(
    app_factory: AppFactory, chromium: Any, db_path: Path, tmp_path: Path
) -> None:
    """The README's pictures, with an organisation's name and colour: nothing is wider than the
    screen, and the previous answer can be changed."""
    app = await app_factory(
        make_config('[organisation]\nname = "Kirpputori Oy"\naccent = "#7c3aed"\n', db_path)
    )
    for name, viewport, mobile in [
        ("web-survey.png", PHONE, True),
        ("web-survey-desktop.png", {"width": 1280, "height": 800}, False),
    ]:
        context = await chromium.new_context(
            viewport=viewport, device_scale_factor=2 if mobile else 1, is_mobile=mobile,
            has_touch=mobile, locale="en-US",
        )  # fmt: skip
        page = await context.new_page()
        page.set_default_timeout(10_000)
        await page.goto(survey_url(app, "event", event_name="Kirppis Market"))
        four = page.get_by_role("button", name="4", exact=True)
        await (four.tap() if mobile else four.click())
        await page.locator("#question", has_text="The day itself").wait_for()
        await page.evaluate("document.activeElement.blur()")
        await page.wait_for_timeout(300)  # the new question's short fade-in
        widest = await page.evaluate("document.documentElement.scrollWidth")
        assert widest <= viewport["width"], f"{name}: the page is {widest}px wide"
        assert await page.locator("h1").inner_text() == "Feedback for Kirpputori Oy"
        assert await page.title() == "Feedback for Kirpputori Oy"
        await page.get_by_role("button", name="← Change my previous answer").wait_for()
        shot = tmp_path / name
        await page.screenshot(path=str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("PALAUTE_UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(shot, SCREENSHOT.with_name(name))
        await context.close()


async def test_back_asks_the_previous_question_again(app_factory: AppFactory, phone: Any) -> None:
    app = await app_factory()
    await phone.goto(survey_url(app))
    await tap(phone, "3")
    await phone.locator("#question", has_text=WHY).wait_for()
    await phone.get_by_role("button", name="← Change my previous answer").tap()
    await phone.locator("#question", has_text="How likely are you to recommend us").wait_for()
    assert await answers(phone) == []
    await tap(phone, "10")
    await phone.locator("#question", has_text=WHY).wait_for()
    assert await answers(phone) == ["10"]
