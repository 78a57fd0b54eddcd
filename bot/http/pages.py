"""HTML pages: one Jinja2 environment (autoescaped) and the headers every page is sent with."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.texts import text

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# Everything is served by palaute itself: no third-party scripts, styles, fonts or frames.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self';"
    " img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none';"
    " base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    template: str, language: str, *, texts: Callable[..., str] = text, **context: Any
) -> str:
    """The template with `t(key)`: `texts` in `language` (a channel's pages pass their own)."""
    return (
        environment()
        .get_template(template)
        .render(language=language, t=partial(texts, language=language), **context)
    )


def html_response(
    body: str, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    if headers:
        response.headers.update(headers)
    return response
