"""Fuzzing the trigger API (`POST /api/v1/touchpoints`): every body gets a clear 4xx or is
accepted, never a 500, and whatever is accepted can be sent without tripping the dispatcher."""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.palaute_process import integrity
from tests.telegram_helpers import telegram_config

API_TOKEN = "test-api-token"
ALLOWED = {200, 202, 400, 401, 413, 422}

LONE_SURROGATES = st.sampled_from(["\ud800", "x\udfff", "\udc80y"])
"""Valid in JSON ("\\ud800"), not storable as UTF-8: refused by the field's name."""
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | LONE_SURROGATES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
CONTACT_VALUE = st.one_of(
    st.integers(min_value=-(10**25), max_value=10**25),
    st.text(max_size=30),
    st.sampled_from(["42", "-1001234567890", "--5", "²", "١٢٣", " 7", "U0123ABC", "a@b.c", ""]),
    JSON,
)
TOUCHPOINT = st.fixed_dictionaries(
    {
        "touchpoint": st.sampled_from(["nps", "csat", "ces", "event", "visit", "nope", ""]) | JSON,
        "contact": st.dictionaries(
            st.sampled_from(["telegram", "slack", "web", "ref", "email"]) | st.text(max_size=5),
            CONTACT_VALUE,
            min_size=0,
            max_size=2,
        )
        | JSON,
    },
    optional={
        "properties": st.dictionaries(st.text(max_size=10), JSON, max_size=3)
        | st.dictionaries(
            st.sampled_from(["event_name", "order_id"]), st.text(max_size=50), max_size=2
        )
        | JSON,
        "occurred_at": st.sampled_from(
            [
                "2026-11-22T10:00:00+02:00",
                "2026-11-22T10:00:00",
                "yesterday",
                "9999-12-31T23:59:59+14:00",
                "9999-12-31T23:59:59-14:00",
                "0001-01-01T00:00:00+14:00",
                "",
            ]
        )
        | st.datetimes(timezones=st.just(UTC) | st.none()).map(datetime.isoformat)
        | JSON,
        "language": st.sampled_from(["fi", "en", "xx", ""]) | JSON,
        "surprise": JSON,
    },
)
BODY = st.one_of(TOUCHPOINT, st.lists(TOUCHPOINT, max_size=4), JSON)
LATIN1 = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=300)


def post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/touchpoints", data=body, method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


def check(status: int, answer: Any) -> None:
    assert status in ALLOWED, (status, answer)
    if isinstance(answer, str):  # refused by the HTTP server itself (a malformed header, 413)
        assert status in (400, 413) and answer.strip(), (status, answer)
    elif status >= 400:
        assert isinstance(answer, dict) and isinstance(answer.get("error"), str), answer
        assert answer["error"].strip()


def fuzz(port: int) -> dict[int, int]:
    seen: dict[int, int] = {}
    auth = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=BODY, key=st.none() | LATIN1)
    @example(body={"touchpoint": "nps", "contact": {"telegram": "--5"}}, key=None)
    @example(body={"touchpoint": "nps", "contact": {"telegram": "²"}}, key=None)
    @example(body={"touchpoint": "nps", "contact": {"telegram": 10**25}}, key=None)
    @example(body=[{"touchpoint": "nps", "contact": {"telegram": 7}}] * 3, key="batch")
    def structured(body: Any, key: str | None) -> None:
        headers = dict(auth)
        if key is not None:
            headers["Idempotency-Key"] = key
        status, answer = post(port, json.dumps(body).encode(), headers)
        check(status, answer)
        seen[status] = seen.get(status, 0) + 1

    @settings(max_examples=100, deadline=None)
    @given(
        raw=st.binary(max_size=300)
        | st.integers(1, 50_000).map(lambda depth: b"[" * depth + b"]" * depth),
        token=st.none() | LATIN1,
    )
    @example(raw=b"\xff\xfe{", token=API_TOKEN)
    @example(raw=b"[" * 100_000 + b"]" * 100_000, token=API_TOKEN)
    @example(raw=b'{"a":' * 3000 + b"1" + b"}" * 3000, token=API_TOKEN)
    @example(raw=b'{"touchpoint": "nps", "contact": {"telegram": 1}}', token="wrong")
    def raw_bytes(raw: bytes, token: str | None) -> None:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        status, answer = post(port, raw, headers)
        check(status, answer)
        if token != API_TOKEN:
            # A header the HTTP parser refuses never reaches palaute: aiohttp's own 400.
            assert status == 401 or (status == 400 and isinstance(answer, str)), (status, answer)

    structured()
    raw_bytes()
    return seen


@pytest.mark.slow
async def test_any_trigger_body_gets_a_clear_answer_and_nothing_breaks(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await app_factory(
        telegram_config(fake, db_path, '[touchpoints.visit]\nsurvey = "csat"\n')
    )
    # The client runs in a thread, the server here, on this event loop.
    seen = await asyncio.to_thread(fuzz, app.http.port)
    assert seen.get(202, 0) > 0 and seen.get(422, 0) > 0, seen

    too_big = b"[" + b'{"touchpoint": "nps", "contact": {"telegram": 1}},' * 90_000 + b"{}]"
    status, _ = await asyncio.to_thread(
        post, app.http.port, too_big, {"Authorization": f"Bearer {API_TOKEN}"}
    )
    assert status == 413

    # Whatever was accepted is delivered or fails for a stated reason, never a crash.
    await app.invitations.tick()
    deadline = asyncio.get_running_loop().time() + 30
    while (await app.store.outbox.counts()).get("pending") or (await app.store.outbox.counts()).get(
        "sending"
    ):
        assert asyncio.get_running_loop().time() < deadline, await app.store.outbox.counts()
        await asyncio.sleep(0.05)
    for _id, _channel, _address, _kind, error in await app.store.outbox.failures(limit=1000):
        assert error and "unexpected error" not in error, error
    status, answer = await asyncio.to_thread(
        post,
        app.http.port,
        json.dumps({"touchpoint": "visit", "contact": {"telegram": 4242}}).encode(),
        {"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert status == 202, answer
    assert integrity(db_path) == "ok"
