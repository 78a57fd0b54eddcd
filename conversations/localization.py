"""Localized texts: a mapping of language code to text, resolved with a fallback chain."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence

LocalizedText = Mapping[str, str]

SUPPORTED_LANGUAGES = ("fi", "en")


def normalize_language(code: str | None) -> str | None:
    """Reduce a platform's language tag ('fi-FI', 'en_US', 'EN') to its base code ('fi', 'en')."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].strip().lower()
    return base or None


def fallback_chain(language: str | None, default_language: str) -> list[str]:
    chain: list[str] = []
    for candidate in (normalize_language(language), default_language, "en"):
        if candidate and candidate not in chain:
            chain.append(candidate)
    return chain


def resolve(text: LocalizedText, language: str | None, default_language: str) -> str:
    """Pick the text for `language`, falling back to the survey default, English, then any."""
    for candidate in fallback_chain(language, default_language):
        if candidate in text:
            return text[candidate]
    return next(iter(text.values()), "")


def pick_language(
    candidates: Sequence[str | None], available: Sequence[str], default_language: str
) -> str:
    """The first candidate (e.g. contact setting, platform locale) that the survey speaks."""
    for candidate in candidates:
        normalized = normalize_language(candidate)
        if normalized is not None and normalized in available:
            return normalized
    return default_language


def template_fields(template: str) -> set[str]:
    """Names of the `{property}` placeholders in a text; raises ValueError on a malformed one."""
    fields: set[str] = set()
    for _literal, field, _spec, _conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier():
            raise ValueError(f"placeholder {{{field}}} is not a plain property name")
        fields.add(field)
    return fields


def localized_fields(text: LocalizedText) -> set[str]:
    fields: set[str] = set()
    for value in text.values():
        fields |= template_fields(value)
    return fields


def render(template: str, properties: Mapping[str, object]) -> str:
    """Fill `{property}` placeholders; unknown placeholders were rejected at load or trigger time."""
    return template.format_map({key: str(value) for key, value in properties.items()})
