"""JSON error responses that name the field at fault."""

from __future__ import annotations

from aiohttp import web


def json_error(status: int, message: str, *, field: str | None = None) -> web.Response:
    body: dict[str, object] = {"error": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)
