"""Who a failed link lookup counts against, and the count every portal process shares. Pure Python."""
from __future__ import annotations

import abc
import functools
import socket

MAX_CLIENT_KEY = 100  # characters of an address that is not an IP address (kept as the key, cut here)
_IPV4_MAPPED = bytes(10) + b"\xff\xff"  # ::ffff:a.b.c.d


def client_key(address: str) -> str:
    """Whose guesses an address counts as: an IPv4 address is itself; an IPv6 address is its /64, the
    smallest block a subscriber or a host is given (an IPv4-mapped one is its IPv4 address); anything
    else is itself (its first 100 characters)."""
    if ":" not in address:  # IPv4 or not an address: as it is, without parsing (every page asks)
        return address[:MAX_CLIENT_KEY]
    return _ipv6_key(address)


@functools.lru_cache(maxsize=4096)  # the clients of the moment, asked again on each page
def _ipv6_key(address: str) -> str:
    try:  # inet_pton: a microsecond where ipaddress takes twenty
        packed = socket.inet_pton(socket.AF_INET6, address.split("%", 1)[0])  # a zone (fe80::1%eth0) is no part
    except (OSError, ValueError):
        return address[:MAX_CLIENT_KEY]
    if packed[:12] == _IPV4_MAPPED:
        return socket.inet_ntop(socket.AF_INET, packed[12:])
    return socket.inet_ntop(socket.AF_INET6, packed[:8] + bytes(8)) + "/64"


class SharedFailures(abc.ABC):
    """The failed lookups of every process of the portal (all workers, all replicas), counted together."""

    @abc.abstractmethod
    def record(self, client: str, window: float, limit: int) -> float | None:
        """Records one failed lookup of ``client`` and returns how many seconds it must wait before it may
        try again: 0.0 while fewer than ``limit`` of its failures fall within the last ``window`` seconds.
        None when the failure could not be recorded (the caller goes by its own count)."""
