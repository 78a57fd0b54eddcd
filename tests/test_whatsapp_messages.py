"""Which form a question takes on WhatsApp, and that nothing of it is cut on the way."""

from __future__ import annotations

import pytest

from bot.channels.base import Button, MessageRejected
from bot.channels.whatsapp.messages import render


def _options(*labels: str) -> tuple[tuple[Button, ...], ...]:
    return (tuple(Button(label, f"o:1:0:{n}") for n, label in enumerate(labels)),)


def test_three_short_options_are_buttons_ten_a_list_more_are_typed() -> None:
    assert render("Yes?", _options("Yes", "No", "Skip"), "en").kind == "buttons"
    assert render("1–5?", _options("1", "2", "3", "4", "5", "Skip"), "fi").list_button == "Valitse"
    nps = render("0–10?", _options(*[str(n) for n in range(11)]), "en")
    assert nps.kind == "text" and nps.text == "0–10?\n\nType a number from 0 to 10."
    with_skip = render("0–10?", _options(*[str(n) for n in range(11)], "Ohita"), "fi")
    assert with_skip.text.endswith("Kirjoita numero 0–10.\nTai kirjoita ”Ohita”.")


def test_a_long_label_moves_to_a_list_row_with_its_whole_text() -> None:
    rendered = render("Why?", _options("Delivery took far too long", "Price"), "en")
    assert rendered.kind == "list"
    _, title, description = rendered.rows[0]
    assert title == "Delivery took far too l…" and len(title) == 24
    assert description == "Delivery took far too long"


def test_a_question_longer_than_an_interactive_body_is_sent_whole_as_text() -> None:
    question = "Q" * 1500
    rendered = render(question, _options("Yes", "No"), "en")
    assert rendered.kind == "text" and rendered.text.startswith(question)
    assert "1. Yes\n2. No" in rendered.text


def test_a_text_longer_than_whatsapp_takes_is_refused_not_cut() -> None:
    with pytest.raises(MessageRejected) as raised:
        render("x" * 4097, (), "en")
    assert "4097 characters" in raised.value.reason
