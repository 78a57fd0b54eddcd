"""Clients that open connections and never finish their request head, against `palaute run`.

The process runs with 512 file descriptors, fewer than there are slow clients (the issue saw
3,000 against 1,024). The slow clients come from
addresses all over 127.0.0.0/8 (Linux routes the whole block to loopback), so that the limit
per address is not what saves the server; the health check comes from 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.http.server import MAX_CONNECTIONS_PER_ADDRESS, REQUEST_HEAD_SECONDS
from tests.loopback import free_port
from tests.palaute_process import ROOT, wait_for_http

FD_LIMIT = 512
SLOW_CLIENTS = 1000
HALF_A_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
LAUNCH = (
    "import resource, sys\n"
    "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
    f"resource.setrlimit(resource.RLIMIT_NOFILE, ({FD_LIMIT}, hard))\n"
    "from bot.cli import main\n"
    "sys.exit(main())\n"
)


@pytest.fixture
async def palaute_port(tmp_path: Path) -> AsyncIterator[int]:
    port = free_port()
    config = tmp_path / "palaute.toml"
    config.write_text(
        f'[storage]\npath = "{tmp_path / "palaute.db"}"\n\n'
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n\n'
        '[team]\ndaily_summary = "off"\nweekly_digest = false\n',
        encoding="utf-8",
    )
    with (tmp_path / "palaute.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LAUNCH, "run", "--config", str(config),
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        await wait_for_http(port)
        yield port
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _slow_client(port: int, source: str) -> socket.socket:
    """A connection that sends half a request head, then nothing."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sock.bind((source, 0))
        await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), 10)
        await loop.sock_sendall(sock, HALF_A_HEAD)
    except BaseException:
        sock.close()
        raise
    return sock


async def _open_slow_clients(port: int, sources: list[str]) -> list[socket.socket]:
    opened: list[socket.socket] = []
    for start in range(0, len(sources), 100):  # the listen backlog is 128
        opened += await asyncio.gather(
            *(_slow_client(port, s) for s in sources[start : start + 100])
        )
    return opened


async def _closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """True when the server closes the connection within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    try:
        data = await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout)
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 4")


def _close_all(socks: list[socket.socket]) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.close()


def _sources(count: int) -> list[str]:
    return [f"127.{1 + n // 250}.{n % 250 // 50}.{1 + n % 50}" for n in range(count)]


async def _health(port: int) -> int:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as http,
        http.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status


@pytest.mark.slow
async def test_healthz_answers_while_a_thousand_slow_clients_hold_connections(
    palaute_port: int,
) -> None:
    socks = await _open_slow_clients(palaute_port, _sources(SLOW_CLIENTS))
    try:
        # A generous timeout on the request, not a benchmark: before, it never came.
        assert await _health(palaute_port) == 200
    finally:
        _close_all(socks)


@pytest.mark.slow
async def test_a_connection_without_its_request_head_is_closed(palaute_port: int) -> None:
    socks = await _open_slow_clients(palaute_port, _sources(20))
    try:
        closed = await asyncio.gather(
            *(_closed_by_server(s, REQUEST_HEAD_SECONDS + 10) for s in socks)
        )
        assert all(closed), closed.count(False)
    finally:
        _close_all(socks)
    assert await _health(palaute_port) == 200


@pytest.mark.slow
async def test_connections_per_address_are_capped(palaute_port: int) -> None:
    extra = 20
    socks = await _open_slow_clients(
        palaute_port, ["127.9.9.9"] * (MAX_CONNECTIONS_PER_ADDRESS + extra)
    )
    try:
        # The newest ones beyond the cap are closed at once, long before the head timeout.
        closed = await asyncio.gather(*(_closed_by_server(s, 2.0) for s in socks))
        assert closed.count(True) == extra, closed.count(True)
        assert await _health(palaute_port) == 200  # another address is served
    finally:
        _close_all(socks)
