"""A progress bar for long CLI commands, on a terminal only."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MIN_ITEMS = 20
"""Below this a bar would flash by: nothing is drawn."""


@dataclass(frozen=True)
class Bar:
    advance: Callable[[int], None]
    drawn: bool
    """Whether a bar is on the screen (then per-item lines would only scroll it away)."""


@contextlib.contextmanager
def progress_bar(total: int, description: str) -> Iterator[Bar]:
    """A rich bar on standard error when it is a terminal and there is enough to show."""
    if not sys.stderr.isatty() or total < MIN_ITEMS:
        yield Bar(lambda _n: None, drawn=False)
        return
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield Bar(lambda n: progress.advance(task, n), drawn=True)
