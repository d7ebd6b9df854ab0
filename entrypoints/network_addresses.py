"""One rule for addresses: which are loopback, and how an address is written to compare it.

The CLI's start-up refusal, the wiring's "is this service shared" and the Host check all
ask these questions; answering them in three ways once let `HOST=127.0.0.2` count as
loopback to one and as a network address to another.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache


@lru_cache(maxsize=64)
def normal_address(value: str) -> str:
    """An IP address in its one written form (an IPv4 one reached over a dual-stack socket,
    `::ffff:192.168.1.5`, as `192.168.1.5`); anything else lower-cased as given."""
    try:
        address = ipaddress.ip_address(value.strip("[]").split("%")[0])
    except ValueError:
        return value.lower()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.compressed


@lru_cache(maxsize=64)
def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address; a host name may resolve to anything, so it is not."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(normal_address(host)).is_loopback
    except ValueError:
        return False
