"""`palaute check` refuses a survey that a configured channel cannot carry, naming key and line.

Telegram's limits come from python-telegram-bot: telegram.constants.MessageLimit.MAX_TEXT_LENGTH
(4096 characters a message) and InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER (100 buttons).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram.constants import InlineKeyboardMarkupLimit, MessageLimit

from bot.cli import main
from bot.config import ConfigError, parse_config

TELEGRAM = '[telegram]\ntoken = "${TOKEN}"\n'
ENVIRON = {"TOKEN": "123:abc"}
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
MAX_BUTTONS = InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER


def _problems(toml: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(toml, environ=ENVIRON)
    return caught.value.lines


def _choices(count: int) -> str:
    return "[" + ", ".join(f'"Myymälä {n}"' for n in range(count)) + "]"


def _big(count: int, *, optional: bool = False) -> str:
    return (
        '[surveys.stores]\ntitle = "Stores"\n'
        "[[surveys.stores.questions]]\n"
        'id = "store"\ntype = "choice"\ntext = "Which store?"\n'
        f"optional = {'true' if optional else 'false'}\n"
        f"choices = {_choices(count)}\n"
    )


def test_a_question_with_more_buttons_than_telegram_shows_is_refused() -> None:
    [problem] = _problems(TELEGRAM + _big(120))
    assert problem.startswith("<config>:10: surveys.stores.questions[0].choices: ")
    assert "120 buttons" in problem and f"at most {MAX_BUTTONS}" in problem

    # Skip is a button too: 100 choices and Skip do not fit, 99 and Skip do.
    [problem] = _problems(TELEGRAM + _big(MAX_BUTTONS, optional=True))
    assert "101 buttons" in problem and "Skip" in problem
    parse_config(TELEGRAM + _big(MAX_BUTTONS - 1, optional=True), environ=ENVIRON)

    # Without Telegram the survey is web-only, where a long list is fine.
    parse_config(_big(120), environ=ENVIRON)


def _texts(question: str = "Q?", intro: str = "Hi", thanks: str = "Thanks") -> str:
    return (
        '[surveys.long]\ntitle = "Long"\n'
        f'intro = "{intro}"\n'
        "[[surveys.long.questions]]\n"
        f'id = "why"\ntype = "text"\nmax_length = 4000\ntext = "{question}"\n'
        "[[surveys.long.thanks]]\n"
        f'text = "{thanks}"\n'
    )


def test_texts_longer_than_a_telegram_message_are_refused_with_their_line() -> None:
    problems = _problems(TELEGRAM + _texts("k" * 5000, "h" * 4100, "t" * (MAX_TEXT + 1)))
    assert [p.split(": ")[0:2] for p in problems] == [
        ["<config>:5", "surveys.long.intro"],
        ["<config>:10", "surveys.long.questions[0].text"],
        ["<config>:12", "surveys.long.thanks[0].text"],
    ]
    assert "4100 characters" in problems[0] and f"{MAX_TEXT}" in problems[0]
    assert "5000 characters" in problems[1]
    parse_config(TELEGRAM + _texts("k" * 4000, "h" * MAX_TEXT, "t" * MAX_TEXT), environ=ENVIRON)


def test_a_question_must_leave_room_for_the_answer_echoed_under_it() -> None:
    # 4090 characters fit in a message, but not with "Your answer: …" under them.
    [problem] = _problems(TELEGRAM + _texts("k" * 4090))
    assert problem.startswith("<config>:10: surveys.long.questions[0].text: ")
    assert "answer" in problem


def test_a_fixed_property_too_long_for_the_texts_is_refused() -> None:
    toml = TELEGRAM + (
        '[surveys.event]\ntitle = "Event"\n'
        "[[surveys.event.questions]]\n"
        'id = "csat"\ntype = "csat"\ntext = "How was {event_name}?"\n'
        "[touchpoints.gala]\n"
        'survey = "event"\n'
        f'properties = {{ event_name = "{"g" * 4100}" }}\n'
    )
    [problem] = _problems(toml)
    assert problem.startswith("<config>:11: touchpoints.gala.properties.event_name: ")


def test_palaute_check_prints_each_problem_on_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN", "123:abc")
    config = tmp_path / "palaute.toml"
    config.write_text(TELEGRAM + _big(120), encoding="utf-8")
    assert main(["check", "--config", str(config)]) != 0
    err = capsys.readouterr().err
    assert f"{config}:10: surveys.stores.questions[0].choices: " in err
