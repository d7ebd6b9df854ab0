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
    """The client the middleware identified. Without one (a public route's anonymous caller
    on a service with keys) the address, seeing nothing but what nobody owns: a route made
    public by mistake must not hand out everything."""
    client = connection.scope.get("state", {}).get("client")
    if isinstance(client, Client):
        return client
    return Client(id=anonymous_client(connection.scope).id, admin=False)
