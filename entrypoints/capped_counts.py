"""How many of something each client holds at once, up to a limit per client.

One count serves the event streams (MAX_STREAMS_PER_CLIENT, per client id) and the
connections (MAX_CONNECTIONS_PER_CLIENT, per address). Used only from the event loop's
thread, so it needs no lock.
"""

from __future__ import annotations


class CappedCounts:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}

    def take(self, key: str) -> bool:
        """Counts one more for ``key``; False, uncounted, when it holds its limit already."""
        held = self.open.get(key, 0)
        if held >= self.limit:
            return False
        self.open[key] = held + 1
        return True

    def give_back(self, key: str) -> None:
        left = self.open.get(key, 1) - 1
        if left > 0:
            self.open[key] = left
        else:
            self.open.pop(key, None)
