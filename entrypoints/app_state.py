"""What a route handler reaches through its request: the server's wired object graph."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from entrypoints.bootstrap import Services


def services(connection: HTTPConnection) -> Services:
    built: Services = connection.app.state.services
    return built
