"""Cloud API errors as palaute's delivery outcomes (retry later, drop this message, chat gone).

The codes are Meta's ("Cloud API Error Codes"); pywa raises one exception class per code.
"""

from __future__ import annotations

import httpx
from pywa.errors import WhatsAppError

from bot.channels.base import (
    DeliveryError,
    permanent_failure,
    rejected_message,
    temporary_failure,
)

THROUGHPUT = 130429
"""Cloud API message throughput has been reached (pywa RateLimitHit)."""
PAIR_RATE = 131056
"""Too many messages to the same user in a short time (pywa TooManyMessages)."""
OUTSIDE_WINDOW = 131047
"""More than 24 hours since the customer last wrote: only a template may be sent."""

PAIR_RATE_WAIT = 6.0
"""Meta: one message every 6 seconds to the same user once a burst is spent."""
THROUGHPUT_WAIT = 1.0

TEMPORARY = {
    4, 80007, THROUGHPUT, PAIR_RATE, 131048, 133016,  # throttling
    1, 2, 131000, 131016, 135000,  # unknown error, service unavailable: Meta will be back
    131057,  # the business account is in maintenance mode
}  # fmt: skip
PERMANENT = {
    131026,  # undeliverable: no WhatsApp account, old app, terms not accepted
    131050,  # the user stopped marketing messages from this business
    131021,  # recipient cannot be the sender
    131030,  # not in the test number's allowed list
}
BUSINESS_SIDE = {0, 3, 10, 190, 368, 131031, 130497, 131042, 131045, 131037}
"""The business's token, permissions or account: nothing wrong with the customer; retried, so
that messages go out once the organizer fixed it (the reason says what)."""


MAX_RETRY_AFTER = 3600.0


def retry_after(response: httpx.Response | None) -> float | None:
    """Seconds from a `Retry-After` header (the Cloud API's error codes rarely come with one, but
    the Graph API's gateways send it with a 429 or 503), else None."""
    if response is None:
        return None
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not 0 < seconds < float("inf"):
        return None
    return min(seconds, MAX_RETRY_AFTER)


def is_permanent_code(code: int | None) -> bool:
    return code in PERMANENT


def delivery_error(error: Exception) -> DeliveryError:
    """What the dispatcher should do after a failed send."""
    if isinstance(error, httpx.HTTPError):
        return temporary_failure(f"WhatsApp: cannot reach the Cloud API: {error}")
    if not isinstance(error, WhatsAppError):
        return temporary_failure(f"WhatsApp: {type(error).__name__}: {error}")
    reason = f"WhatsApp error {error.code}: {error.message}"
    if error.details:
        reason += f" ({error.details})"
    asked = retry_after(error.raw_response)
    if error.code == THROUGHPUT:
        return temporary_failure(reason, asked or THROUGHPUT_WAIT)
    if error.code == PAIR_RATE:
        return temporary_failure(reason, asked or PAIR_RATE_WAIT)
    if asked is not None:  # the Graph API's own throttling (HTTP 429 / 503 with Retry-After)
        return temporary_failure(reason, asked)
    if error.code in TEMPORARY or error.code in BUSINESS_SIDE or (200 <= error.code < 300):
        return temporary_failure(reason)
    if error.code in PERMANENT:
        return permanent_failure(reason)
    # Template and parameter errors (131008, 131009, 132000…): this message is wrong, the chat
    # is fine.
    return rejected_message(reason)
