"""A socket guard: any attempt to resolve or connect off loopback fails and is recorded."""

from __future__ import annotations

import socket
from typing import Any

import pytest


def forbid_network(monkeypatch: pytest.MonkeyPatch, loopback: bool = False) -> list[object]:
    """Fail any attempt to resolve or connect (but to 127.0.0.1 when ``loopback``).

    Returns the refused attempts, for assertions.
    """
    attempts: list[object] = []
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def allowed(host: object) -> bool:
        return loopback and host in ("127.0.0.1", "localhost")

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        if not allowed(address[0] if isinstance(address, tuple) else address):
            attempts.append(address)
            raise OSError(f"network use is forbidden in this test: {address}")
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        guarded_connect(sock, address)  # raises when refused, else connects
        return 0

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not allowed(host):
            attempts.append(host)
            raise socket.gaierror(f"name resolution is forbidden in this test: {host}")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return attempts
