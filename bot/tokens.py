"""Signed, unguessable tokens for links: Telegram deep links, web survey links, ref linking.

A token is `<kind>-<value>-<signature>`: at most 64 characters of A–Z a–z 0–9 _ -, which is
what Telegram's /start payloads allow. The signature is HMAC-SHA256 over kind and value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum

SIGNATURE_LENGTH = 16
MAX_TOKEN_LENGTH = 64
_VALUE = re.compile(r"^[A-Za-z0-9_]{1,40}$")


class TokenKind(StrEnum):
    JOIN = "j"
    """Join an audience (an event's check-in QR code)."""
    OPEN_SURVEY = "s"
    """An open survey for a touchpoint: everyone who opens it gets their own response."""
    INVITATION = "i"
    """One personal invitation."""
    LINK_REF = "r"
    """Link an external customer reference to the chat that opens it."""


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    value: str


class InvalidToken(ValueError):
    pass


class TokenSigner:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"palaute-token:" + secret.encode()).digest()

    def _signature(self, kind: TokenKind, value: str) -> str:
        digest = hmac.new(self._key, f"{kind.value}:{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_LENGTH]

    def sign(self, kind: TokenKind, value: str) -> str:
        if not _VALUE.match(value):
            raise ValueError(f"token value {value!r} must be 1–40 letters, digits or _")
        return f"{kind.value}-{value}-{self._signature(kind, value)}"

    def mac(self, purpose: str, data: str) -> str:
        """A signature of any text for one purpose (cookies, link parameters), URL- and cookie-safe."""
        message = f"mac:{purpose}:{data}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def check_mac(self, purpose: str, data: str, signature: str) -> bool:
        return same_secret(signature, self.mac(purpose, data))

    def verify(self, token: str, *, kind: TokenKind | None = None) -> Token:
        if len(token) > MAX_TOKEN_LENGTH or len(token) < SIGNATURE_LENGTH + 4:
            raise InvalidToken("token has the wrong length")
        head, signature = token[: -SIGNATURE_LENGTH - 1], token[-SIGNATURE_LENGTH:]
        if token[-SIGNATURE_LENGTH - 1] != "-" or "-" not in head:
            raise InvalidToken("token is malformed")
        kind_text, value = head.split("-", 1)
        try:
            found = TokenKind(kind_text)
        except ValueError:
            raise InvalidToken("token kind is unknown") from None
        if not _VALUE.match(value):
            raise InvalidToken("token value is malformed")
        if not same_secret(signature, self._signature(found, value)):
            raise InvalidToken("token signature does not match")
        if kind is not None and found is not kind:
            raise InvalidToken(f"expected a {kind.name.lower()} token")
        return Token(found, value)


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of a secret someone sent with the real one.

    What comes from outside (headers, form fields, URLs, /start payloads) may hold any
    character, even a lone surrogate from undecodable bytes, which `str.encode()` refuses and
    `hmac.compare_digest` on str refuses too (non-ASCII): either made a wrong secret a 500.
    """
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def encode_id(number: int) -> str:
    """A compact base-36 form of a row id for tokens and button payloads."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if number < 0:
        raise ValueError("ids are not negative")
    out = ""
    while True:
        number, remainder = divmod(number, 36)
        out = digits[remainder] + out
        if number == 0:
            return out


def decode_id(text: str) -> int:
    return int(text, 36)
