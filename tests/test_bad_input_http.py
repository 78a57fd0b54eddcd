"""Bad input over HTTP gets a 4xx (or a 503 to retry) that names the problem, never a 500.

Survey form posts with bytes that are not UTF-8, an unknown charset or an absurd question
number; API bodies nested a hundred thousand deep, with lone surrogates or a year 9999 time;
the Telegram webhook with deep nesting; a full disk while a customer answers on the web.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import PalauteApp
from bot.channels.telegram.channel import SECRET_HEADER, WEBHOOK_PATH
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_helpers import telegram_config
from tests.test_faults_storage import _disk_full, _limit_palaute_writes
from tests.test_web_survey import WHY_EN, base_url, open_link
from tests.web_pages import Browser, read_page

AUTH = {"Authorization": "Bearer test-api-token", "Content-Type": "application/json"}
FORM = "application/x-www-form-urlencoded"
DEEP = b"[" * 100_000 + b"]" * 100_000


def _on_this_loop() -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """Hypothesis runs in a thread; its requests run here, on the server's event loop."""
    loop = asyncio.get_running_loop()

    def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(30)

    return run


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def _form_post(browser: Browser, url: str, body: bytes, content_type: str) -> tuple[int, Any]:
    async with browser.session.post(
        browser._url(url), data=body, headers={"Content-Type": content_type}
    ) as response:
        return response.status, read_page(response.status, await response.text())


async def test_unreadable_survey_forms_get_a_page_that_says_so(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = await app_factory()
    link = open_link(app)
    async with Browser(base_url(app)) as browser:
        page = await browser.open(link)
        csrf = page.hidden["csrf"]
        path, _, query = link.partition("?")
        back = f"{path}/back?{query}" if query else f"{path}/back"
        for target in (link, back):  # an answer, and "change my previous answer"
            fields = f"csrf={csrf}&q=0&choice=".encode()
            status, refused = await _form_post(browser, target, fields + b"\xff\xfe9", FORM)
            assert status == 400 and "UTF-8" in refused.html, refused.html
            status, refused = await _form_post(
                browser, target, fields + b"9", f"{FORM}; charset=x-no-such-charset"
            )
            assert status == 400 and "x-no-such-charset" in refused.html, refused.html
            status, refused = await _form_post(
                browser, target, fields + b"9", "multipart/form-data; boundary=nothing-here"
            )
            assert status == 400 and refused.heading == "Please try again", refused.html
            many_digits = f"csrf={csrf}&q={'9' * 5000}&choice=9".encode()
            status, refused = await _form_post(browser, target, many_digits, FORM)
            assert status == 400 and refused.heading == "Please try again", refused.html
        # The browser can still answer.
        assert (await browser.answer("9")).question == WHY_EN
    _no_errors_logged(caplog)


@pytest.mark.parametrize(
    "fault",
    # A full disk refuses only writes that need a new page, and a web answer (under 1,000
    # characters) fits in the pages a fresh database has; read-only refuses every write, through
    # the same StorageError a full disk raises.
    ["PRAGMA query_only = ON"],
    ids=["cannot-write"],
)
async def test_a_database_that_cannot_be_written_during_a_web_answer_asks_to_try_again(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    app = await app_factory()
    link = open_link(app)
    long_answer = ("Jonot olivat pitkät ja ämpärit loppuivat. " * 30)[:990]
    async with Browser(base_url(app)) as browser:
        await browser.open(link)
        page = await browser.answer("3")
        assert page.question == WHY_EN
        _limit_palaute_writes(app, fault)
        refused = await browser.answer(long_answer, typed=True)
        assert refused.status == 503, refused.html
        assert "try again" in refused.html.lower()
        _limit_palaute_writes(app, "PRAGMA query_only = OFF")
        page = await browser.open(link)
        assert page.question == WHY_EN  # nothing was half stored
        page = await browser.answer(long_answer, typed=True)
        assert page.status == 200 and page.question != WHY_EN
    _no_errors_logged(caplog)


async def test_a_full_disk_during_web_answers_asks_to_try_again_and_loses_nothing(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = await app_factory()
    link = open_link(app)
    comment = ("Jonot olivat pitkät ja ämpärit loppuivat. " * 30)[:990]
    _disk_full(app)  # no new database pages: answers fit until the last page is full
    accepted: list[str] = []
    refused = None
    for n in range(40):
        async with Browser(base_url(app)) as browser:
            await browser.open(link)
            page = await browser.answer("3")
            if page.status == 200:
                page = await browser.answer(f"{n} {comment}", typed=True)
            if page.status == 503:
                refused = page
                break
            assert page.status == 200, page.html
            accepted.append(f"{n} {comment}")
    assert refused is not None, "the database never filled up"
    assert "try again" in refused.html.lower(), refused.html
    stored = await app.store.database.fetch_all(
        "SELECT value_text FROM answers WHERE question_id = 'why'"
    )
    assert sorted(row[0] for row in stored) == sorted(accepted)
    _no_errors_logged(caplog)


async def _api(app: PalauteApp, body: bytes) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{app.http.port}/api/v1/touchpoints", data=body, headers=AUTH
        ) as response,
    ):
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("body", "status", "field", "says"),
    [
        (DEEP, 400, "body", "nested"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400, "body", "nested"),
        (b"[" * 200 + b"]" * 200, 400, "body", "nested"),
        (b'{"touchpoint":"nps","contact":{"web":"\\ud800"}}', 422, "contact.web", "surrogate"),
        (b'{"touchpoint":"nps","contact":{"ref":"x\\udfff"}}', 422, "contact.ref", "surrogate"),
        (
            b'{"touchpoint":"nps","contact":{"web":"a@b.c"},"properties":{"o":"\\udc80"}}',
            422,
            "properties.o",
            "surrogate",
        ),
        (
            b'[{"touchpoint":"nps","contact":{"web":"a@b.c","\\ud800":1}}]',
            422,
            "[0].contact.\\ud800",
            "surrogate",
        ),
        (
            b'{"touchpoint":"nps","contact":{"web":"a"},"occurred_at":"9999-12-31T23:59:59-14:00"}',
            422,
            "occurred_at",
            "a year",
        ),
        (
            b'{"touchpoint":"nps","contact":{"web":"a"},"occurred_at":"9999-12-31T23:59:59+00:00"}',
            422,
            "occurred_at",
            "a year",
        ),
        (
            b'{"touchpoint":"nps","contact":{"web":"a"},"occurred_at":"0001-01-01T00:00:00+14:00"}',
            422,
            "occurred_at",
            "1970",
        ),
    ],
    ids=[
        "deep-list",
        "deep-object",
        "200-deep",
        "surrogate-web",
        "surrogate-ref",
        "surrogate-property",
        "surrogate-key-in-batch",
        "year-9999-minus-14",
        "year-9999-utc",
        "year-1",
    ],
)
async def test_api_bodies_that_cannot_be_stored_are_refused_by_name(
    app_factory: AppFactory,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    status: int,
    field: str,
    says: str,
) -> None:
    app = await app_factory()
    got, answer = await _api(app, body)
    assert (got, answer.get("field")) == (status, field), answer
    assert says in answer["error"], answer
    _no_errors_logged(caplog)


async def test_the_telegram_webhook_refuses_deep_nesting(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "webhook-secret-1"
    config = telegram_config(
        fake_telegram,
        db_path,
        "",
        mode="webhook",
        server='port = 0\napi_token = "test-api-token"\npublic_url = "https://palaute.example"',
        telegram=f'webhook_secret = "{secret}"',
    )
    app = await app_factory(config)
    for body in (DEEP, b'{"update_id": 1, "message": ' + b"[" * 5000 + b"]" * 5000 + b"}"):
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://127.0.0.1:{app.http.port}{WEBHOOK_PATH}",
                data=body,
                headers={SECRET_HEADER: secret, "Content-Type": "application/json"},
            ) as response,
        ):
            assert response.status == 400
            assert "nested" in await response.text()
    _no_errors_logged(caplog)


# ---------------------------------------------------------------------------- fuzzing

FIELD_NAME = st.sampled_from(["csrf", "q", "choice", "text", "other"]) | st.text(max_size=8)
FIELD_VALUE = st.text(max_size=40) | st.sampled_from(["0", "99", "9" * 5000, "-1", "²", ""])
CHARSET = st.sampled_from(["", "; charset=utf-8", "; charset=latin-1", "; charset=x-nope"])


@st.composite
def form_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["urlencoded", "raw", "multipart"]))
    if kind == "urlencoded":
        pairs = draw(st.lists(st.tuples(FIELD_NAME, FIELD_VALUE), max_size=5))
        encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
        body = "&".join(f"{k}={v}" for k, v in pairs).encode(encoding, errors="replace")
        return body, FORM + draw(CHARSET)
    if kind == "raw":
        return draw(st.binary(max_size=200)), FORM + draw(CHARSET)
    boundary = draw(st.sampled_from(["b0undary", "x"]))
    parts = draw(st.lists(st.tuples(FIELD_NAME, st.binary(max_size=30)), max_size=3))
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode(
            errors="replace"
        )
        + v
        + b"\r\n"
        for k, v in parts
    ) + draw(st.sampled_from([f"--{boundary}--\r\n".encode(), b"", b"--"]))
    return body, f"multipart/form-data; boundary={boundary}" + draw(CHARSET)


@pytest.mark.slow
async def test_any_survey_form_body_gets_a_page_never_a_500(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = await app_factory()
    link = open_link(app)
    async with Browser(base_url(app)) as browser:
        page = await browser.open(link)
        csrf = page.hidden["csrf"]
        statuses: dict[int, int] = {}

        @settings(
            max_examples=200,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        )
        @given(form=form_bodies(), with_csrf=st.booleans())
        @example(form=(b"q=0&choice=\xff", FORM), with_csrf=True)
        @example(form=(b"q=" + b"9" * 5000 + b"&choice=1", FORM), with_csrf=True)
        def one(form: tuple[bytes, str], with_csrf: bool) -> None:
            body, content_type = form
            if with_csrf:
                body = f"csrf={csrf}&".encode() + body
            status, shown = browser_post(body, content_type)
            assert status in (200, 400, 403, 410, 422, 429), (status, shown.html[:300])
            assert shown.heading or shown.question or shown.thanks, shown.html[:300]
            statuses[status] = statuses.get(status, 0) + 1

        def browser_post(body: bytes, content_type: str) -> tuple[int, Any]:
            return loop_run(_form_post(browser, link, body, content_type))

        loop_run = _on_this_loop()
        await asyncio.to_thread(one)
        assert statuses.get(400, 0) > 0, statuses
    _no_errors_logged(caplog)


OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@pytest.mark.slow
async def test_any_occurred_at_is_accepted_or_refused_by_name(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = await app_factory()
    now = datetime.now(UTC)
    seen: set[int] = set()

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(moment=st.datetimes(timezones=OFFSETS), depth=st.integers(0, 900))
    @example(
        moment=datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=14))), depth=0
    )
    @example(moment=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), depth=0)
    @example(moment=now, depth=999)
    def one(moment: datetime, depth: int) -> None:
        nested: Any = "x"
        for _ in range(depth):
            nested = [nested]
        body = {
            "touchpoint": "nps",
            "contact": {"web": "fuzz@example.com"},
            "occurred_at": moment.isoformat(),
            "properties": {"nested": nested} if depth else {},
        }
        status, answer = loop_run(_api(app, json.dumps(body).encode()))
        seen.add(status)
        assert status in (200, 202, 400, 422), (status, answer)
        if status >= 400:
            assert answer["field"] in ("occurred_at", "body", "properties.nested"), answer
        elif status == 202:
            assert datetime(1970, 1, 1, tzinfo=UTC) <= moment <= now + timedelta(days=367), answer

    loop_run = _on_this_loop()
    await asyncio.to_thread(one)
    assert 422 in seen, seen
    _no_errors_logged(caplog)
