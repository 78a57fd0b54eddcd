"""WhatsApp addresses: phone numbers in E.164 ("+358401234567"), however they were written."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-./()\u00a0]")
MAX_DIGITS = 15
"""E.164: at most 15 digits, the country code included."""
MIN_DIGITS = 8


class NotAPhoneNumber(ValueError):
    pass


def normalize_phone(written: str) -> str:
    """`+358 40 123 4567`, `00358-40-1234567` or `358401234567` → `+358401234567`.

    A number without its country code (`040 123 4567`) is refused: WhatsApp needs the
    international form, and guessing the country would message a stranger.
    """
    compact = _SEPARATORS.sub("", written.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    digits = compact.removeprefix("+")
    if not digits.isdigit() or not digits.isascii():
        raise NotAPhoneNumber(f'"{written}" is not a phone number (e.g. +358401234567)')
    if digits.startswith("0"):
        raise NotAPhoneNumber(f'"{written}" has no country code: write it as +358… (E.164), not 0…')
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise NotAPhoneNumber(
            f'"{written}" has {len(digits)} digits; a phone number in international form has'
            f" {MIN_DIGITS}–{MAX_DIGITS}"
        )
    return f"+{digits}"


def wa_id(address: str) -> str:
    """The Cloud API's form of an address: the digits without the plus."""
    return address.removeprefix("+")


def address_of(wa_id_value: str) -> str:
    return normalize_phone(f"+{wa_id_value}")
