"""QUEUE_URL as logs and messages may show it: without its password."""

from __future__ import annotations


def redacted(url: str) -> str:
    """``redis://user:secret@host:6379/0`` as ``redis://user:***@host:6379/0``."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.partition(":")[0]
    return f"{scheme}://{user + ':***' if user else '***'}@{host}"
