"""User-facing texts of the engine and the channels, one module per language."""

from __future__ import annotations

from collections.abc import Mapping

from conversations.localization import normalize_language
from conversations.texts import en, fi

CATALOGS: Mapping[str, Mapping[str, str]] = {"en": en.TEXTS, "fi": fi.TEXTS}


def text(key: str, language: str | None, **params: object) -> str:
    """A fixed user-facing text in the given language (English when the language is unknown)."""
    catalog = CATALOGS.get(normalize_language(language) or "en", en.TEXTS)
    template = catalog.get(key) or en.TEXTS[key]
    return template.format(**params) if params else template


def channel_text(key: str, channel: str, language: str | None, **params: object) -> str:
    """`key` as worded for one channel (`stopped_slack` names Slack's commands), else as is."""
    worded = f"{key}_{channel}"
    return text(worded if worded in en.TEXTS else key, language, **params)
