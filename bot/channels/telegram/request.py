"""python-telegram-bot's HTTP transport on aiohttp instead of httpx.

PTB's default transport (httpx) costs about 3 ms of CPU per Bot API call on loopback and twice
that with the dozens of calls the dispatcher keeps in flight; on aiohttp, which palaute already
runs its HTTP server on, a call costs a fraction of that (see bench/README.md). Only the
transport changes: PTB still builds every request and reads every answer, so Telegram's errors
come back as PTB's exceptions, as before.
"""

from __future__ import annotations

import json

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData


def _resolved(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` with one aiohttp session; PTB's default timeouts (5 s, pool 1 s)."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        """PTB's parser, without its ERROR log and traceback for an answer that is not JSON
        (a base_url that points at some other web server): the caller gets a TelegramError
        and palaute says in one line what is wrong."""
        try:
            return json.loads(payload.decode("utf-8", "replace"))  # type: ignore[no-any-return]
        except ValueError:
            raise TelegramError(
                f"the Bot API server did not answer with JSON: {payload[:80]!r}"
            ) from None

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = (
            request_data.multipart_data if request_data and request_data.contains_files else None
        )
        data: aiohttp.FormData | dict[str, str] | None = None
        if files:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():  # type: ignore[union-attr]
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            data = form
        elif request_data is not None:
            data = request_data.json_parameters  # sent form-encoded, as PTB's httpx does
        read = _resolved(read_timeout, self._read_timeout)
        write = _resolved(
            write_timeout, self._media_write_timeout if files else self._write_timeout
        )
        connect = _resolved(connect_timeout, self._connect_timeout)
        pool = _resolved(pool_timeout, self._pool_timeout)
        parts = (read, write, connect, pool)
        timeout = aiohttp.ClientTimeout(
            # aiohttp has no write timeout of its own: the whole call is bounded by their sum.
            total=None if None in parts else sum(p for p in parts if p is not None),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
