"""Cutting a long message into pieces that fit: where the cuts fall, and that nothing is lost."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.capacity import text_length
from bot.delivery.message_split import split_message


def test_a_text_that_fits_is_one_piece() -> None:
    assert split_message("Hei!", 10) == ["Hei!"]


def test_cuts_prefer_paragraphs_then_sentences_then_words() -> None:
    text = "First part.\n\nSecond one. Third sentence here"
    assert split_message(text, 30) == ["First part.", "Second one.", "Third sentence here"]
    assert split_message("One. Two three four", 12) == ["One.", "Two three", "four"]
    assert split_message("abcdefghij", 4) == ["abcd", "efgh", "ij"]  # no space: cut mid-word


def test_a_cut_never_falls_inside_an_entity_or_a_tag() -> None:
    assert split_message("x" * 8 + "&amp;yyyy", 10) == ["x" * 8, "&amp;yyyy"]
    assert split_message("x" * 8 + "<b>yy", 10) == ["x" * 8, "<b>yy"]


def test_an_emoji_counts_twice_the_safe_side_of_how_telegram_counts() -> None:
    pieces = split_message("🎉" * 5, 4)  # two UTF-16 code units each
    assert pieces == ["🎉🎉", "🎉🎉", "🎉"]


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab cä.!\n&;<>🎉")), min_size=1, max_size=400),
    limit=st.integers(min_value=8, max_value=120),
)
def test_pieces_fit_and_keep_every_character_in_order(text: str, limit: int) -> None:
    pieces = split_message(text, limit)
    assert all(text_length(p) <= limit for p in pieces)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", text)
