"""A channel's own wording of customer-facing texts, over the survey engine's catalogue.

Each channel package that words something its own way (its commands, its buttons, its pages)
has a texts.py with one `ChannelTexts` in English and Finnish; its `ChannelSpec.texts` lets core
code (bot/answers/incoming.py: welcome, help, stop) ask for a channel's wording by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conversations import texts as engine_texts


@dataclass(frozen=True)
class ChannelTexts:
    catalogs: Mapping[str, Mapping[str, str]]
    """Language → key → template; "en" holds every key, the other languages the same keys."""

    def __contains__(self, key: str) -> bool:
        return key in self.catalogs["en"]

    def text(self, key: str, language: str | None, **params: object) -> str:
        """The channel's own wording of `key`, else the engine's (conversations/texts/)."""
        if key not in self:
            return engine_texts.text(key, language, **params)
        return engine_texts.from_catalogs(self.catalogs, key, language, **params)
