"""palaute's HTTP server: one aiohttp application for the API, web surveys, dashboard and webhooks."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.http.connections import (
    MAX_CONNECTIONS_PER_ADDRESS,
    REQUEST_HEAD_SECONDS,
    ConnectionLimits,
    GuardedAppRunner,
)

__all__ = ["MAX_CONNECTIONS_PER_ADDRESS", "REQUEST_HEAD_SECONDS", "HttpServer", "health"]

log = logging.getLogger(__name__)


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


class HttpServer:
    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.limits = limits or ConnectionLimits()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = GuardedAppRunner(self.app, limits=self.limits)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = addresses[0][1]
        log.info("HTTP server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
