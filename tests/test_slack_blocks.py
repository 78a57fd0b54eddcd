"""Block Kit rendering of palaute's messages, checked against Slack's limits."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from bot.channels.base import Button, OutgoingPrompt
from bot.channels.slack.blocks import (
    SELECT_ACTION_ID,
    button_blocks,
    menu_capacity_problem,
    prompt_blocks,
    text_blocks,
    wants_words,
)
from bot.channels.slack.channel import typed_text
from bot.channels.slack.team import team_blocks
from bot.team.document import Line, Section, TeamDocument
from tests.fakes.slack_api import validate_blocks


def as_dicts(blocks: list[Any]) -> list[dict[str, Any]]:
    return [b.to_dict() if isinstance(b, Block) else b for b in blocks]


def row(*labels: str) -> tuple[Button, ...]:
    return tuple(Button(label, f"a:1:0:{label}") for label in labels)


def test_an_nps_question_is_two_rows_of_buttons_and_a_skip() -> None:
    prompt = OutgoingPrompt(
        "How likely…?", (row(*map(str, range(6))), row(*map(str, range(6, 11))), row("Skip"))
    )
    blocks = as_dicts(prompt_blocks(prompt, placeholder="Choose…", hint=None))
    assert validate_blocks(blocks) == []
    assert [b["type"] for b in blocks] == ["section", "actions", "actions", "actions"]
    assert blocks[0]["text"] == {"type": "plain_text", "text": "How likely…?", "emoji": True}
    values = [e["value"] for b in blocks[1:] for e in b["elements"]]
    assert values == [f"a:1:0:{v}" for v in [*map(str, range(11)), "Skip"]]
    action_ids = [e["action_id"] for b in blocks[1:] for e in b["elements"]]
    assert len(set(action_ids)) == 12
    assert not wants_words(prompt)


def test_a_long_list_of_choices_is_a_menu() -> None:
    labels = [f"Choice {i}" for i in range(8)]
    [menu_block] = as_dicts(button_blocks([row(label) for label in labels], placeholder="Pick"))
    [menu] = menu_block["elements"]
    assert menu["type"] == "static_select"
    assert menu["action_id"] == SELECT_ACTION_ID
    assert [o["text"]["text"] for o in menu["options"]] == labels
    assert validate_blocks([menu_block]) == []


def test_more_choices_than_a_menu_holds_are_grouped_and_none_is_lost() -> None:
    # A static_select holds 100 options, or 100 option groups of 100 (slack_sdk's
    # StaticSelectElement.options_max_length, OptionGroup.options_max_length).
    labels = [f"Dish {i}" for i in range(1, 121)] + ["Skip"]
    [menu_block] = as_dicts(button_blocks([row(label) for label in labels], placeholder="Pick"))
    [menu] = menu_block["elements"]
    assert "options" not in menu
    groups = menu["option_groups"]
    assert [g["label"]["text"] for g in groups] == ["1–100", "101–121"]
    shown = [o["text"]["text"] for g in groups for o in g["options"]]
    assert shown == labels  # "Skip" included
    assert validate_blocks([menu_block]) == []


def test_what_palaute_check_asks_about_a_menu() -> None:
    assert menu_capacity_problem(120) is None
    assert menu_capacity_problem(9_999) is None
    problem = menu_capacity_problem(10_000)
    assert problem is not None and "more than a Slack menu holds (9999 and a Skip)" in problem


def test_a_question_too_long_for_a_message_keeps_its_buttons() -> None:
    prompt = OutgoingPrompt("x" * 200_000, (row(*map(str, range(6))), row("Skip")))
    blocks = as_dicts(prompt_blocks(prompt, placeholder="Choose…", hint=None))
    assert validate_blocks(blocks) == []
    assert [e["text"]["text"] for b in blocks[-2:] for e in b["elements"]] == [
        *map(str, range(6)),
        "Skip",
    ]


def test_a_row_longer_than_block_kit_allows_is_split_and_labels_shortened() -> None:
    blocks = as_dicts(
        button_blocks([row(*(f"{i}" + "x" * 100 for i in range(30)))], placeholder="")
    )
    assert [len(b["elements"]) for b in blocks] == [25, 5]
    assert all(len(e["text"]["text"]) <= 75 for b in blocks for e in b["elements"])
    assert validate_blocks(blocks) == []


def test_a_text_question_gets_a_hint_to_reply() -> None:
    prompt = OutgoingPrompt("Why?", (row("Skip"),))
    assert wants_words(prompt)
    blocks = as_dicts(prompt_blocks(prompt, placeholder="", hint="Reply in a message."))
    assert [b["type"] for b in blocks] == ["section", "context", "actions"]
    assert blocks[1]["elements"][0]["text"] == "Reply in a message."


def test_long_texts_are_split_into_sections_between_lines() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(100))
    blocks = as_dicts(text_blocks(text))
    assert len(blocks) == 4
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
    assert all(b["text"]["text"].startswith("line ") for b in blocks)
    assert validate_blocks(blocks) == []


def test_team_documents_get_a_header_sections_and_their_buttons() -> None:
    document = TeamDocument(
        "Detractor", (Section(None, (Line("Ben", label="Customer"),)),), buttons=(row("Claim"),)
    )
    blocks = as_dicts(team_blocks(document))
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Detractor"}}
    assert blocks[1]["text"] == {"type": "mrkdwn", "text": "• *Customer:* Ben"}
    assert blocks[2]["elements"][0]["value"] == "a:1:0:Claim"
    assert validate_blocks(blocks) == []


def test_a_team_document_with_too_many_blocks_keeps_its_buttons() -> None:
    sections = tuple(Section(f"part {i}", (Line("y" * 2000),)) for i in range(60))
    blocks = as_dicts(team_blocks(TeamDocument("x", sections, buttons=(row("Claim"),))))
    assert len(blocks) == 50 and validate_blocks(blocks) == []
    assert blocks[-1]["elements"][0]["text"]["text"] == "Claim"


def test_typed_text_reads_slack_markup_back() -> None:
    assert typed_text("Fish &amp; chips &lt;3") == "Fish & chips <3"
    assert typed_text("see <https://example.com|our site> or <https://x.io>") == (
        "see our site or https://x.io"
    )
    assert typed_text("mail <mailto:a@b.fi|a@b.fi>") == "mail a@b.fi"
