"""User-facing texts of the survey engine, one module per language.

What one channel words its own way (how its commands are typed, its pages' buttons) lives in
that channel's package (bot/channels/<name>/texts.py), which falls back to these.
"""

from __future__ import annotations

from collections.abc import Mapping

from conversations.localization import normalize_language
from conversations.texts import en, fi

CATALOGS: Mapping[str, Mapping[str, str]] = {"en": en.TEXTS, "fi": fi.TEXTS}


def from_catalogs(
    catalogs: Mapping[str, Mapping[str, str]], key: str, language: str | None, **params: object
) -> str:
    """`key` of `catalogs` (language → key → template) in `language`, else in English."""
    english = catalogs["en"]
    catalog = catalogs.get(normalize_language(language) or "en", english)
    template = catalog.get(key) or english[key]
    return template.format(**params) if params else template


def text(key: str, language: str | None, **params: object) -> str:
    """A fixed user-facing text in the given language (English when the language is unknown)."""
    return from_catalogs(CATALOGS, key, language, **params)
