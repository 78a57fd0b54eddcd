"""What customers see: the organisation's name, logo and colour, titles meant for them, and
never an internal id or a metric's name."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.config import ConfigError, parse_config
from bot.tokens import TokenKind
from tests.conftest import AppFactory, make_config
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.telegram_helpers import channel_of, telegram_config, wait_for_text
from tests.test_web_survey import base_url, open_link
from tests.web_pages import Browser

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="4" height="4"/></svg>'
)


def _brand(tmp_path: Path) -> str:
    (tmp_path / "logo.svg").write_text(LOGO, encoding="utf-8")
    return f"""
[organisation]
name = "Kirpputori Oy"
logo = "{tmp_path / "logo.svg"}"
accent = "#aa3300"

[audiences.kirppis_visitors]
name = {{ fi = "Kirppis", en = "the flea market" }}

[surveys.visit]
title = "Store visit NPS (Kamppi)"
customer_title = {{ en = "How was your visit?", fi = "Miten käyntisi meni?" }}
[[surveys.visit.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
"""


async def test_the_survey_page_shows_the_organisation_not_the_metric(
    app_factory: AppFactory, db_path: Path, tmp_path: Path
) -> None:
    app = await app_factory(make_config(_brand(tmp_path), db_path))
    async with Browser(base_url(app), language="en") as browser:
        page = await browser.open(open_link(app, "nps"))
        assert "<title>Feedback for Kirpputori Oy</title>" in page.html
        assert "Net Promoter" not in page.html
        assert '<p class="organisation">' not in page.html  # the title already names it
        assert '<img class="logo" src="/brand/logo" alt="Kirpputori Oy">' in page.html
        page = await browser.open(open_link(app, "visit"))
        assert "<title>How was your visit?</title>" in page.html
        assert '<p class="organisation">Kirpputori Oy</p>' in page.html
        assert "Store visit NPS" not in page.html
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url(app)}/brand/theme.css") as response:
            assert ":root { --accent: #aa3300; }" in await response.text()
        async with http.get(f"{base_url(app)}/brand/logo") as response:
            assert response.headers["Content-Type"] == "image/svg+xml"
            assert "sandbox" in response.headers["Content-Security-Policy"]
            assert await response.text() == LOGO


async def test_without_an_organisation_the_title_is_plain(app_factory: AppFactory) -> None:
    app = await app_factory()
    async with Browser(base_url(app), language="fi") as browser:
        page = await browser.open(open_link(app, "nps"))
        assert "<title>Palautteesi</title>" in page.html
        assert "Suositteluhalukkuus" not in page.html


@pytest.mark.parametrize(
    ("language", "thanks"),
    [("en", "Thanks for checking in to the flea market!"), ("fi", "Kiitos, että tulit: Kirppis!")],
)
async def test_check_in_thanks_use_the_audience_display_name(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    db_path: Path,
    tmp_path: Path,
    language: str,
    thanks: str,
) -> None:
    fake = fake_telegram
    app = await app_factory(telegram_config(fake, db_path, _brand(tmp_path)))
    link = channel_of(app).start_link(app.signer.sign(TokenKind.JOIN, "kirppis_visitors"))
    assert link is not None
    visitor = fake.user(990, language_code=language)
    fake.push_text(visitor, f"/start {link.partition('?start=')[2]}")
    joined = await wait_for_text(fake, visitor, thanks)
    assert "kirppis_visitors" not in (joined.text or "")


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        (
            '[organisation]\naccent = "red"\n',
            'organisation.accent: must be a colour such as "#0a7d5a"',
        ),
        ('[organisation]\nlogo = "missing.png"\n', "organisation.logo: no image file at"),
        ('[organisation]\nlogo = "logo.gif"\n', "organisation.logo: must be a .png, .svg,"),
        ("[audiences.x]\nname = 3\n", 'audiences.x.name: must be a text or { fi = "…", en = "…" }'),
    ],
)
def test_branding_mistakes_name_their_key(table: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(table, environ={})
    assert any(problem in line for line in raised.value.lines), raised.value.lines
