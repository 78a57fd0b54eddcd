"""Every text in Finnish and English alike: the engine's (what customers see in a survey) and
the team's (bot.texts: summaries, alerts, the dashboard)."""

from __future__ import annotations

import string
from collections.abc import Mapping

import pytest

from bot import texts as team_texts
from conversations import texts as engine_texts

OWN_FIELDS = {"date"}
"""Written differently per language from the same parameters: "2026-05-05", "5.5.2026"."""
CATALOGS = {"conversations.texts": engine_texts.CATALOGS, "bot.texts": team_texts.CATALOGS}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("where", list(CATALOGS))
def test_every_key_exists_in_both_languages_with_the_same_placeholders(where: str) -> None:
    catalogs: Mapping[str, Mapping[str, str]] = CATALOGS[where]
    english, finnish = catalogs["en"], catalogs["fi"]
    assert sorted(set(english) ^ set(finnish)) == []
    differing = [
        key
        for key in english
        if key not in OWN_FIELDS and placeholders(english[key]) != placeholders(finnish[key])
    ]
    assert differing == []


def test_a_key_lives_in_one_catalog_only() -> None:
    assert sorted(set(team_texts.en.TEXTS) & set(engine_texts.en.TEXTS)) == []


def test_team_texts_are_worded_in_the_language_asked_and_engine_texts_are_found_too() -> None:
    assert team_texts.text("button_claim", "en") == "I'll follow up"
    assert team_texts.text("button_claim", "fi") != "I'll follow up"
    assert team_texts.text("yes", "fi") == engine_texts.text("yes", "fi")
    assert team_texts.text("button_claim", "sv") == "I'll follow up"  # unknown: English
    with pytest.raises(KeyError):
        engine_texts.text("button_claim", "en")  # the engine no longer holds the team's texts
