"""Cut a text too long for one message into several, each within a limit, in reading order.

Cuts fall at the last paragraph break that fits, else a line break, else a sentence end, else a
space; only a text with none of these is cut mid-word. A cut never falls inside an HTML entity
("&amp;") or tag ("<b>"), so a piece of escaped text still reads right. Lengths are measured as
the platform counts them: `text_length` for plain text (what palaute relays is sent without a
parse mode, so Telegram counts every character as written). Whitespace at a cut is dropped,
nothing else is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.channels.capacity import text_length

_BOUNDARIES = (
    re.compile(r"\n\s*\n"),  # paragraphs
    re.compile(r"\n"),  # lines
    re.compile(r"(?<=[.!?…])\s+"),  # sentences
    re.compile(r"\s+"),  # words
)
_MARKUP = re.compile(r"&#?\w{1,32};|</?[A-Za-z][^<>]{0,200}>")
"""An HTML entity or tag (a stray "<" in plain text is neither)."""


def split_message(
    text: str, limit: int, *, measure: Callable[[str], int] = text_length
) -> list[str]:
    """`text` as pieces of at most `limit` by `measure`; one piece when it fits already."""
    pieces: list[str] = []
    rest = text.strip()
    while measure(rest) > limit:
        cut, resume = _cut(rest, limit, measure)
        pieces.append(rest[:cut].rstrip())
        rest = rest[resume:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _cut(text: str, limit: int, measure: Callable[[str], int]) -> tuple[int, int]:
    """(end of the first piece, start of the rest) for a text longer than `limit`."""
    fitting = _longest_fitting_prefix(text, limit, measure)
    inside = [(m.start(), m.end()) for m in _MARKUP.finditer(text, 0, fitting + 64)]
    for boundary in _BOUNDARIES:
        best: tuple[int, int] | None = None
        for match in boundary.finditer(text, 0, fitting + 1):
            if match.start() == 0 or match.start() > fitting:
                continue
            if not any(start < match.start() < end for start, end in inside):
                best = (match.start(), match.end())
        if best is not None:
            return best
    cut = fitting
    for start, end in inside:
        if start < cut < end:
            cut = start
    return (cut, cut) if cut > 0 else (fitting, fitting)


def _longest_fitting_prefix(text: str, limit: int, measure: Callable[[str], int]) -> int:
    """The largest n with measure(text[:n]) <= limit (measure grows with n)."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low
