"""Servers on loopback for the tests and benchmarks: an aiohttp app at a port the system picks,
and a free port for a server another process will start."""

from __future__ import annotations

import socket
from typing import Any

from aiohttp import web


async def serve(app: web.Application, **runner_options: Any) -> tuple[web.AppRunner, str]:
    """Start `app` on 127.0.0.1: its runner (for `cleanup()`) and its base URL."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def free_port() -> int:
    """A loopback port nobody listens on now, for a server started next."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
