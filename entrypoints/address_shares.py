"""How many connections each client address holds, for bounded_http's per-address cap.

MAX_CONNECTIONS is one count for the whole server, so one address could hold every place;
this is the count per address that keeps it to its share. One instance per server, used
only from the event loop's thread.
"""

from __future__ import annotations

from entrypoints.capped_counts import CappedCounts

# One line a minute per refused address is enough to see who it is.
REFUSAL_LOG_SECONDS = 60.0


class AddressShares(CappedCounts):
    """Connections per address, and when a refusal is worth a log line."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self._logged: dict[str, float] = {}

    def refusal_to_log(self, address: str, now: float) -> bool:
        """Whether a refusal of the address at `now` (seconds) gets a log line."""
        last = self._logged.get(address)
        if last is not None and now - last < REFUSAL_LOG_SECONDS:
            return False
        # Forget addresses not refused for a minute, so the record stays small.
        for other, logged in list(self._logged.items()):
            if now - logged >= REFUSAL_LOG_SECONDS:
                del self._logged[other]
        self._logged[address] = now
        return True
