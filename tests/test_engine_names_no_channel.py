"""conversations/ is the survey engine alone: no module, text key or line of it names a channel.

A channel's own wording lives in its package (bot/channels/<name>/texts.py) and falls back to
the engine's texts, so a new channel never edits conversations/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.channels import registry
from conversations import texts as engine_texts

ENGINE = Path(__file__).resolve().parent.parent / "conversations"
CHANNELS = sorted({"telegram", "slack", "whatsapp", "web", *registry.names()})
NAMED = re.compile(rf"(?<![a-z])({'|'.join(CHANNELS)})(?![a-z])", re.IGNORECASE)


def test_no_module_of_the_engine_is_named_after_a_channel() -> None:
    modules = [str(path.relative_to(ENGINE)) for path in ENGINE.rglob("*.py")]
    assert modules and [module for module in modules if NAMED.search(module)] == []


def test_no_text_key_of_the_engine_names_a_channel() -> None:
    keys = {key for catalog in engine_texts.CATALOGS.values() for key in catalog}
    assert "skip" in keys
    assert sorted(key for key in keys if NAMED.search(key.replace("_", " "))) == []


def test_no_line_of_the_engine_names_a_channel() -> None:
    lines = [
        f"{path.relative_to(ENGINE)}:{number}: {line.strip()}"
        for path in sorted(ENGINE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NAMED.search(line)
    ]
    assert lines == []


@pytest.mark.parametrize("written", ["slack_choose", "stopped_whatsapp", "web_send", "Telegram"])
def test_the_check_sees_a_channel_named_in_any_of_these_forms(written: str) -> None:
    assert NAMED.search(written.replace("_", " "))
