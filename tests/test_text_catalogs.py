"""Every text in Finnish and English alike: the engine's (what customers see in a survey), the
team's (bot.texts: summaries, alerts, the dashboard) and each channel's own wording."""

from __future__ import annotations

import string
from collections.abc import Mapping

import pytest

from bot import texts as team_texts
from bot.channels import registry
from conversations import texts as engine_texts

OWN_FIELDS = {"date"}
"""Written differently per language from the same parameters: "2026-05-05", "5.5.2026"."""
CATALOGS = {
    "conversations.texts": engine_texts.CATALOGS,
    "bot.texts": team_texts.CATALOGS,
    **{
        f"bot.channels.{spec.name}.texts": spec.texts.catalogs
        for spec in registry.specs()
        if spec.texts is not None
    },
}


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


def test_a_channel_words_its_own_keys_and_finds_the_engines_others() -> None:
    slack = registry.spec("slack")
    assert slack.texts is not None
    assert "/palaute start" in registry.channel_text("stopped", "slack", "fi")
    assert registry.channel_text("stopped", "telegram", "fi") == engine_texts.text("stopped", "fi")
    assert slack.texts.text("skip", "fi") == engine_texts.text("skip", "fi")
    assert slack.texts.text("choose", "fi") != slack.texts.text("choose", "en")


def test_a_channel_that_rewords_an_engine_text_keeps_its_placeholders() -> None:
    reworded = [
        f"{spec.name}: {key}"
        for spec in registry.specs()
        if spec.texts is not None
        for key, template in spec.texts.catalogs["en"].items()
        if key in engine_texts.en.TEXTS
        and placeholders(template) != placeholders(engine_texts.en.TEXTS[key])
    ]
    assert reworded == []
