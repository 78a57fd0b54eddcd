"""Cloud API errors as palaute's delivery outcomes: retry (and when), drop the message, or the
contact cannot be reached. Built the way pywa builds them from a Graph API answer."""

from __future__ import annotations

import httpx
import pytest
from pywa.errors import WhatsAppError

from bot.channels.base import MessageRejected
from bot.channels.whatsapp.errors import delivery_error


def _error(code: int, *, status: int = 400, headers: dict[str, str] | None = None) -> WhatsAppError:
    body = {"message": f"({code}) an error", "type": "OAuthException", "code": code,
            "error_data": {"details": "details"}, "fbtrace_id": "A"}  # fmt: skip
    response = httpx.Response(status, headers=headers, json={"error": body})
    return WhatsAppError.from_dict(body, response=response)


@pytest.mark.parametrize(
    ("code", "retry_after"),
    [(130429, 1.0), (131056, 6.0), (131000, None), (131016, None), (190, None)],
)
def test_temporary_errors_are_retried(code: int, retry_after: float | None) -> None:
    failure = delivery_error(_error(code))
    assert not failure.permanent
    assert failure.retry_after == retry_after
    assert f"WhatsApp error {code}" in failure.reason


@pytest.mark.parametrize("code", [131026, 131050, 131030, 131021])
def test_permanent_errors_make_the_contact_unreachable(code: int) -> None:
    failure = delivery_error(_error(code))
    assert failure.permanent and not isinstance(failure, MessageRejected)


@pytest.mark.parametrize("code", [131009, 131008, 132000, 132001, 132012, 100])
def test_a_bad_message_is_dropped_and_the_chat_stays_fine(code: int) -> None:
    assert isinstance(delivery_error(_error(code)), MessageRejected)


def test_retry_after_from_the_graph_api_is_honoured() -> None:
    assert (
        delivery_error(_error(130429, status=429, headers={"Retry-After": "17"})).retry_after == 17
    )
    assert delivery_error(_error(4, status=429, headers={"Retry-After": "3"})).retry_after == 3
    # Nonsense in the header is ignored, a huge wait is capped at an hour.
    assert delivery_error(_error(131056, headers={"Retry-After": "soon"})).retry_after == 6.0
    assert delivery_error(_error(4, headers={"Retry-After": "inf"})).retry_after is None
    assert delivery_error(_error(4, headers={"Retry-After": "99999999"})).retry_after == 3600


def test_the_network_is_temporary() -> None:
    failure = delivery_error(httpx.ConnectError("refused"))
    assert not failure.permanent and "cannot reach the Cloud API" in failure.reason
