"""Texts that only palaute's team sees (summaries, alerts, the reply relay's notes, the
dashboard), one module per language, beside the survey engine's own in conversations.texts.

`text(key, language, **params)` finds a key here or, failing that, among the engine's texts
(what customers see: "Yes", "Skip", the web survey's pages), so the team's views share those.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.texts import en, fi
from conversations import texts as engine_texts

CATALOGS: Mapping[str, Mapping[str, str]] = {"en": en.TEXTS, "fi": fi.TEXTS}


def text(key: str, language: str | None, **params: object) -> str:
    """A fixed text in the given language (English when the language is unknown)."""
    if key not in en.TEXTS:
        return engine_texts.text(key, language, **params)
    return engine_texts.from_catalogs(CATALOGS, key, language, **params)
