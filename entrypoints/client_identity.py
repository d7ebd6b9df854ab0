"""Who sent a request: the client that limits, ownership and logs are keyed on.

The authentication middleware puts a `Client` in the request's scope state; without
API keys every request comes from its address and may see everything, as before keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.types import Scope


@dataclass(frozen=True)
class Client:
    id: str
    """An API key's name, or `address:<ip>` when the service runs without keys."""
    admin: bool
    """Sees and manages every client's jobs and images."""

    def may_see(self, owner: str | None) -> bool:
        # Jobs nobody owns come from before keys were set: only an admin sees those.
        return self.admin or owner == self.id


def anonymous_client(scope: Scope) -> Client:
    """The client of a request on a service without keys: its address, seeing all."""
    address = scope.get("client")
    host = address[0] if address else "unknown"
    return Client(id=f"address:{host}", admin=True)


def client_of(connection: HTTPConnection) -> Client:
    """The client the middleware identified, or the anonymous one by address."""
    client = connection.scope.get("state", {}).get("client")
    return client if isinstance(client, Client) else anonymous_client(connection.scope)
