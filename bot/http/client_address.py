"""Who the client is: the peer address, or behind a trusted reverse proxy, its X-Forwarded-For.

X-Forwarded-For is a list each proxy appends its peer to; only the entries added by proxies we
trust are facts, anything to their left may be made up by the client. So the list is read from
the right, skipping trusted proxies, and the first address that is not one is the client.
A header from a peer that is not a trusted proxy is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp import web

Network = IPv4Network | IPv6Network
UNKNOWN = "?"


class ClientAddresses:
    def __init__(self, trusted_proxies: Iterable[Network] = ()) -> None:
        self.trusted = tuple(trusted_proxies)

    def _trusted(self, address: IPv4Address | IPv6Address) -> bool:
        return any(address in network for network in self.trusted)

    def of(self, request: web.Request) -> str:
        peer = _parse(request.remote)
        if peer is None:
            return request.remote or UNKNOWN
        if not self.trusted or not self._trusted(peer):
            return str(peer)
        hops = [
            hop.strip()
            for header in request.headers.getall("X-Forwarded-For", [])
            for hop in header.split(",")
        ]
        client = peer
        for hop in reversed(hops):
            address = _parse(hop)
            if address is None:
                break  # a malformed entry: the last proxy that added a good one is the client
            client = address
            if not self._trusted(address):
                break
        return str(client)


def _parse(text: str | None) -> IPv4Address | IPv6Address | None:
    if not text:
        return None
    try:
        address = ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
