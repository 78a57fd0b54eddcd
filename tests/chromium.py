"""Debian's headless Chromium for the browser tests, through Playwright (which never downloads a
browser here). A test module uses it with `pytestmark = BROWSER` and the `chromium` fixture."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

CHROMIUM = Path(os.environ.get("PALAUTE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
"""Without the networking flags Chromium tries Google's hosts, which this network refuses."""
PHONE = {"width": 390, "height": 844}

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the browser tests need the playwright package ('.[dev]')"
)
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium) "
        "to run the browser tests",
    ),
]


@pytest_asyncio.fixture
async def chromium() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()
