"""Idempotency-Key on the trigger API: a retry gets the first answer, another request does not."""

from __future__ import annotations

from typing import Any

import aiohttp
from yarl import URL

from bot.channels.web.guard import COOKIE
from bot.channels.web.responses import OpenLink
from tests.conftest import AppFactory
from tests.test_web_survey import base_url, open_link
from tests.web_pages import Browser, web_channel

AUTH = {"Authorization": "Bearer test-api-token"}


async def _post(app: Any, body: object, key: str) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{app.http.port}/api/v1/touchpoints"
    headers = {**AUTH, "Idempotency-Key": key}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


def _web(contact: str) -> dict[str, object]:
    return {"touchpoint": "nps", "contact": {"web": contact}}


async def test_a_key_reused_for_another_person_is_refused(app_factory: AppFactory) -> None:
    app = await app_factory()
    status, alice = await _post(app, _web("alice@example.com"), "order-1")
    assert status == 202
    status, again = await _post(app, _web("alice@example.com"), "order-1")
    assert (status, again["survey_url"]) == (200, alice["survey_url"])
    assert again["duplicate"] is True
    status, bob = await _post(app, _web("bob@example.com"), "order-1")
    assert status == 422, bob
    assert bob["field"] == "Idempotency-Key"
    assert "was used for a different request" in bob["error"]
    assert "survey_url" not in bob


async def test_the_same_body_in_another_key_order_is_the_same_request(
    app_factory: AppFactory,
) -> None:
    app = await app_factory()
    first = {"touchpoint": "nps", "contact": {"web": "a@b.c"}, "properties": {"x": "1", "y": 2}}
    reordered = {"properties": {"y": 2, "x": "1"}, "contact": {"web": "a@b.c"}, "touchpoint": "nps"}
    status, created = await _post(app, first, "k")
    assert status == 202
    status, again = await _post(app, reordered, "k")
    assert (status, again["invitation_id"]) == (200, created["invitation_id"])


async def test_batch_items_and_single_requests_do_not_share_keys(app_factory: AppFactory) -> None:
    app = await app_factory()
    status, single = await _post(app, _web("carol@example.com"), "k#0")
    assert status == 202
    status, batch = await _post(app, [_web("dave@example.com")], "k")
    assert status == 202, batch
    (item,) = batch["results"]
    assert item["duplicate"] is False
    assert item["survey_url"] != single["survey_url"]
    assert item["contact"] == "web:dave@example.com"
    status, retried = await _post(app, [_web("dave@example.com")], "k")
    assert retried["results"][0]["invitation_id"] == item["invitation_id"]
    status, other = await _post(app, [_web("erin@example.com")], "k")
    assert status == 422 and other["field"] == "[0].Idempotency-Key", other


async def test_api_keys_cannot_reach_palaute_internal_keys(app_factory: AppFactory) -> None:
    app = await app_factory()
    link = open_link(app)
    async with Browser(base_url(app)) as browser:
        await browser.open(link)
        page = await browser.answer("9")
        assert page.status == 200
        cookie = browser.session.cookie_jar.filter_cookies(URL(browser._url(link)))[COOKIE].value
    # An open link keys each browser's response by touchpoint, link and browser id; an API client
    # that sends that key gets an invitation of its own, not the browser's.
    pages = web_channel(app).pages
    opened = await pages.responses.resolve(link.rsplit("/", 1)[1], None)
    assert isinstance(opened, OpenLink)
    browser_key = opened.key(cookie.split(".")[0])
    assert await app.store.invitations.find_by_idempotency_key(browser_key) is not None
    status, created = await _post(app, _web("frank@example.com"), browser_key)
    assert (status, created["contact"]) == (202, "web:frank@example.com"), created
