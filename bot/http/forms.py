"""Reading a posted HTML form without letting a malformed one become a 500."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy

log = logging.getLogger(__name__)

FormData = MultiDictProxy[str | bytes | bytearray | web.FileField]


class UnreadableForm(ValueError):
    """The body is not a form palaute can read; `text_key` and `params` say why, to the user."""

    def __init__(self, text_key: str, detail: str, **params: object) -> None:
        super().__init__(detail)
        self.text_key = text_key
        self.params = params


async def read_form(request: web.Request) -> FormData:
    try:
        return await request.post()
    except UnicodeDecodeError as error:
        raise UnreadableForm("form_not_utf8", f"the form is not UTF-8 ({error.reason})") from None
    except LookupError:
        charset = (request.charset or "")[:40]
        raise UnreadableForm(
            "form_charset", f"the form's charset {charset!r} is unknown", charset=charset
        ) from None
    except (ValueError, HttpProcessingError) as error:  # a multipart body without its boundary
        raise UnreadableForm("form_expired", f"the body is not a form ({error})") from None
