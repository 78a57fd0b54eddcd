"""Connections the HTTP server accepts: a deadline for the request head and caps on how many.

A client that opens connections and never finishes its request head holds a file descriptor
each. aiohttp closes a connection that waits for a complete request head longer than its
`keepalive_timeout` (the timer starts when the connection is made, and again after each
response), so palaute sets that to a few seconds. On top of that `GuardedServer` caps the
connections of one client address, and when the process nears its file descriptor limit it
closes the connection that has waited longest for its request head, so that a new client (the
health check, a customer) is still served.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

REQUEST_HEAD_SECONDS = 5.0
"""How long a connection may take to send a complete request head (and stay idle after one)."""
MAX_CONNECTIONS_PER_ADDRESS = 100
"""Open connections of one client address; a browser opens about six."""
RESERVED_DESCRIPTORS = 128
"""File descriptors left to the database, outgoing HTTP (Telegram, Slack, webhooks) and logs."""
WARN_EVERY_SECONDS = 60.0


def descriptor_budget() -> int:
    """How many connections the process can hold with RESERVED_DESCRIPTORS to spare."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return max(64, soft - RESERVED_DESCRIPTORS)


@dataclass(frozen=True)
class ConnectionLimits:
    per_address: int = MAX_CONNECTIONS_PER_ADDRESS
    total: int = field(default_factory=descriptor_budget)
    exempt: tuple[IPv4Network | IPv6Network, ...] = ()
    """Addresses without a cap of their own: the trusted reverse proxies everyone comes through."""

    def capped(self, address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return True
        return not any(parsed in network for network in self.exempt)


class GuardedServer(web.Server):
    """aiohttp's connection manager, with the caps of `ConnectionLimits`."""

    def __init__(
        self,
        handler: Any,
        *,
        limits: ConnectionLimits,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self.limits = limits
        self.clock = clock
        self._address: dict[RequestHandler, str] = {}
        self._per_address: Counter[str] = Counter()
        self._awaiting_head: dict[RequestHandler, None] = {}
        """Connections that have not sent a request head yet, oldest first."""
        self._refused = 0
        self._warned_at = -WARN_EVERY_SECONDS
        make_request = self.request_factory

        def request_factory(
            message: RawRequestMessage,
            payload: StreamReader,
            protocol: RequestHandler,
            writer: AbstractStreamWriter,
            task: asyncio.Task[None],
        ) -> web.BaseRequest:
            self._awaiting_head.pop(protocol, None)  # called once a request head is complete
            return make_request(message, payload, protocol, writer, task)

        self.request_factory = request_factory

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "?"
        self._address[handler] = address
        self._per_address[address] += 1
        self._awaiting_head[handler] = None
        if self._per_address[address] > self.limits.per_address and self.limits.capped(address):
            self._close(handler, f"{address} has {self.limits.per_address} connections open")
        elif len(self._address) > self.limits.total:
            waiting = next((h for h in self._awaiting_head if h is not handler), None)
            self._close(
                waiting or handler,
                f"{self.limits.total} connections are open (the file descriptor limit is near)",
            )

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self._awaiting_head.pop(handler, None)
        address = self._address.pop(handler, None)
        if address is not None:
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]

    def _close(self, handler: RequestHandler, reason: str) -> None:
        self._awaiting_head.pop(handler, None)
        handler.force_close()
        self._refused += 1
        now = self.clock()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            log.warning("closed %d connection(s) without an answer: %s", self._refused, reason)
            self._warned_at = now
            self._refused = 0


class GuardedAppRunner(web.AppRunner):
    """An AppRunner whose server is a `GuardedServer` with `keepalive_timeout` as head timeout."""

    def __init__(
        self, app: web.Application, *, limits: ConnectionLimits, **handler_options: Any
    ) -> None:
        options: dict[str, Any] = {"access_log": None, "keepalive_timeout": REQUEST_HEAD_SECONDS}
        options.update(handler_options)
        super().__init__(app, **options)
        self._limits = limits
        self._handler_options = options

    async def _make_server(self) -> web.Server:
        # The application's own server (after its startup), rebuilt with the caps.
        built = await super()._make_server()
        return GuardedServer(
            built.request_handler,
            request_factory=built.request_factory,
            handler_cancellation=built.handler_cancellation,
            loop=asyncio.get_running_loop(),
            limits=self._limits,
            **self._handler_options,
        )


def limits_for(trusted_proxies: Iterable[IPv4Network | IPv6Network]) -> ConnectionLimits:
    return ConnectionLimits(exempt=tuple(trusted_proxies))
