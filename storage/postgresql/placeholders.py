"""`?` placeholders (SQLite's, which the repositories write) as PostgreSQL's `$n`.

Only placeholders are rewritten: a `?` inside a string literal, a quoted name or a comment is
text and stays. `?NNN` keeps its number; a bare `?` takes the next one after the highest so
far, as SQLite numbers them.
"""

from __future__ import annotations

from functools import lru_cache


class PlaceholderError(ValueError):
    """The SQL is not complete (a quote or comment left open)."""


@lru_cache(maxsize=1024)
def to_numbered(sql: str) -> str:
    out: list[str] = []
    highest = 0
    index = 0
    length = len(sql)
    while index < length:
        char = sql[index]
        if char in "'\"":
            end = _closing_quote(sql, index)
            out.append(sql[index:end])
            index = end
        elif sql.startswith("--", index):
            end = sql.find("\n", index)
            end = length if end < 0 else end
            out.append(sql[index:end])
            index = end
        elif sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            if end < 0:
                raise PlaceholderError(f"a comment is not closed in: {sql}")
            out.append(sql[index : end + 2])
            index = end + 2
        elif char == "?":
            digits_end = index + 1
            while digits_end < length and sql[digits_end].isdigit():
                digits_end += 1
            numbered = digits_end > index + 1
            number = int(sql[index + 1 : digits_end]) if numbered else highest + 1
            highest = max(highest, number)
            out.append(f"${number}")
            index = digits_end
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _closing_quote(sql: str, start: int) -> int:
    """The index after the quote that closes the one at `start` (a doubled quote is text)."""
    quote = sql[start]
    index = start + 1
    while True:
        found = sql.find(quote, index)
        if found < 0:
            raise PlaceholderError(f"a {quote} quote is not closed in: {sql}")
        if sql.startswith(quote * 2, found):
            index = found + 2
            continue
        return found + 1
